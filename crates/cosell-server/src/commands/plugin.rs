//! `cosell plugin …`: operator commands against the server's database and data directory.
//!
//! They share `cosell_api::plugins` with `/v1/plugins`, so both check the same things.
//! Each command runs in its own process: a running server sees a change made here at its
//! next start (use the API to change a running server).

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use cosell_api::plugins::{self as ops, PluginStatus};
use cosell_plugin_abi::Capability;
use cosell_plugin_host::PluginRegistry;
use cosell_store::Store;
use cosell_store::plugins::PluginRegistration;

use crate::settings::{PluginSettings, StorageSettings};

/// `cosell plugin [limits] <command>`.
#[derive(Debug, Args)]
pub struct PluginArgs {
    #[command(flatten)]
    limits: PluginSettings,

    #[command(subcommand)]
    command: PluginCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List installed plugins, each loaded here to show whether it still loads.
    List,
    /// Install a shared library: pinned, copied into the data directory, loaded, initialised.
    Install {
        /// The library (`.so`) to install.
        path: PathBuf,
        /// The SHA-256 the file must have (64 hex digits).
        #[arg(long)]
        sha256: String,
        /// Capabilities to grant; the plugin may declare no others.
        #[arg(long, value_enum, value_delimiter = ',', required = true)]
        grant: Vec<CapabilityArg>,
        /// The plugin's configuration as JSON (default `{}`).
        #[arg(long)]
        config: Option<String>,
    },
    /// Let a plugin's calls through (also lifts a quarantine).
    Enable {
        /// The plugin's id: its library's SHA-256 (64 hex digits), as `plugin list` shows.
        id: String,
    },
    /// Stop all calls to a plugin.
    Disable {
        /// The plugin's id: its library's SHA-256 (64 hex digits), as `plugin list` shows.
        id: String,
    },
    /// Replace a plugin's configuration; kept only if the plugin's `init` accepts it.
    Configure {
        /// The plugin's id: its library's SHA-256 (64 hex digits), as `plugin list` shows.
        id: String,
        /// The new configuration as JSON.
        #[arg(long)]
        config: String,
    },
    /// Forget a plugin and delete its stored library.
    Remove {
        /// The plugin's id: its library's SHA-256 (64 hex digits), as `plugin list` shows.
        id: String,
    },
}

/// A capability on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CapabilityArg {
    Catalog,
    Attribution,
    Commission,
}

impl From<CapabilityArg> for Capability {
    fn from(c: CapabilityArg) -> Self {
        match c {
            CapabilityArg::Catalog => Capability::Catalog,
            CapabilityArg::Attribution => Capability::Attribution,
            CapabilityArg::Commission => Capability::Commission,
        }
    }
}

fn parse_config(text: Option<&str>) -> anyhow::Result<serde_json::Value> {
    match text {
        None => Ok(serde_json::json!({})),
        Some(text) => serde_json::from_str(text).context("--config is not valid JSON"),
    }
}

fn registration_json(registration: &PluginRegistration) -> serde_json::Value {
    serde_json::json!({
        "id": registration.id,
        "name": registration.name,
        "version": registration.version,
        "granted": registration.granted,
        "enabled": registration.enabled,
        "config": registration.config,
    })
}

fn print_registration(registration: &PluginRegistration) {
    println!("{}", registration_json(registration));
}

fn print_status(status: &PluginStatus) {
    let mut json = registration_json(&status.registration);
    json["loads"] = status.load_error.is_none().into();
    json["load_error"] = status.load_error.clone().into();
    println!("{json}");
}

pub async fn run(storage: &StorageSettings, args: PluginArgs) -> anyhow::Result<()> {
    let store = super::open_existing_store(storage).await?;
    let registry = PluginRegistry::new(args.limits.host_config(&storage.data_dir));
    super::closing(&store, operate(&store, &registry, args.command)).await
}

async fn operate(
    store: &Store,
    registry: &PluginRegistry,
    command: PluginCommand,
) -> anyhow::Result<()> {
    match command {
        PluginCommand::List => {
            // Loading each one here is what tells the operator it would load in the server.
            ops::load_all(store, registry).await?;
            for status in ops::list(store, registry).await? {
                print_status(&status);
            }
        }
        PluginCommand::Install {
            path,
            sha256,
            grant,
            config,
        } => {
            let granted: BTreeSet<Capability> = grant.into_iter().map(Capability::from).collect();
            let config = parse_config(config.as_deref())?;
            let registration =
                ops::install(store, registry, &path, &sha256, granted, config).await?;
            print_registration(&registration);
        }
        PluginCommand::Enable { id } => {
            let id = ops::plugin_id(&id)?;
            print_registration(&ops::set_enabled(store, registry, &id, true).await?);
        }
        PluginCommand::Disable { id } => {
            let id = ops::plugin_id(&id)?;
            print_registration(&ops::set_enabled(store, registry, &id, false).await?);
        }
        PluginCommand::Configure { id, config } => {
            let id = ops::plugin_id(&id)?;
            let config = parse_config(Some(&config))?;
            print_registration(&ops::configure(store, registry, &id, config).await?);
        }
        PluginCommand::Remove { id } => {
            let id = ops::plugin_id(&id)?;
            ops::remove(store, registry, &id).await?;
            println!("{}", serde_json::json!({ "removed": id.as_str() }));
        }
    }
    Ok(())
}
