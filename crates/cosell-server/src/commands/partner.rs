//! `cosell partner …`: operator commands against the server's own database.

use clap::Subcommand;
use cosell_core::catalog::partner::NewPartner;

use crate::settings::StorageSettings;

#[derive(Debug, Subcommand)]
pub enum PartnerCommand {
    /// Create a partner and print it as one JSON line, `{"id":…,"slug":…,"name":…}`
    /// (the id alone: `cosell partner create … | jq -r .id`).
    Create {
        /// Display name (not empty, at most 200 characters).
        #[arg(long)]
        name: String,
        /// Unique handle: a-z, 0-9 and inner dashes.
        #[arg(long)]
        slug: String,
        /// Contact e-mail address for the partner.
        #[arg(long)]
        email: String,
    },
}

pub async fn run(storage: &StorageSettings, command: PartnerCommand) -> anyhow::Result<()> {
    match command {
        PartnerCommand::Create { name, slug, email } => {
            let new = NewPartner::parse(&name, &slug, &email)?;
            let store = super::open_store(storage).await?;
            let partner =
                super::closing(&store, async { Ok(store.create_partner(new).await?) }).await?;
            println!(
                "{}",
                serde_json::json!({ "id": partner.id, "slug": partner.slug, "name": partner.name })
            );
            Ok(())
        }
    }
}
