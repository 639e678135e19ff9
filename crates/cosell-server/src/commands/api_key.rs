//! `cosell api-key create`: the first operator key comes from here, printed once.

use clap::{ArgGroup, Subcommand};
use cosell_api::auth::keys;
use cosell_core::{PartnerId, Role};
use cosell_store::api_keys::NewApiKey;

use crate::settings::StorageSettings;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key and print its secret (shown this once).
    #[command(group = ArgGroup::new("owner").args(["operator", "partner"]).required(true))]
    Create {
        /// An operator key (manages partners, sees every tenant).
        #[arg(long)]
        operator: bool,
        /// A key for this partner id.
        #[arg(long)]
        partner: Option<uuid::Uuid>,
        /// What the key is for (not empty, at most 100 characters, as the API takes it).
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

pub async fn run(storage: &StorageSettings, command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create {
            operator,
            partner,
            name,
        } => {
            let role = if operator {
                Role::Operator
            } else {
                Role::Partner
            };
            let name = keys::parse_name(&name)?;
            let generated = keys::generate().map_err(|e| anyhow::anyhow!(e.detail))?;
            let store = super::open_store(storage).await?;
            let new = NewApiKey {
                partner_id: partner.map(PartnerId),
                role,
                name,
                prefix: generated.prefix,
                secret_hash: generated.hash,
            };
            let key =
                super::closing(&store, async { Ok(store.create_api_key(new).await?) }).await?;
            eprintln!(
                "API key {} created; store the secret now, it is not shown again:",
                key.prefix
            );
            println!("{}", generated.secret);
            Ok(())
        }
    }
}
