//! Affiliate feed: a Cosell catalog-contributor plugin.
//!
//! Reads the CSV or JSON product feed named in its configuration, validates
//! every row, and contributes the products with their complementary and
//! accessory relations. Bad rows are reported with their line numbers and
//! skipped whole. See `README.md` for the feed format.

mod feed;
mod rows;

pub use feed::Format;

use cosell_plugin_sdk::abi::{CatalogContribution, CatalogRequest};
use cosell_plugin_sdk::log::{Level, log};
use cosell_plugin_sdk::{CatalogContributor, Plugin, PluginError, export_plugin};
use serde::Deserialize;
use std::path::PathBuf;

/// The plugin's configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// The feed file, readable by the server.
    pub path: PathBuf,
    /// `csv` or `json`; by default taken from the file extension.
    #[serde(default)]
    pub format: Option<Format>,
}

/// A configured feed.
#[derive(Debug)]
pub struct AffiliateFeed {
    path: PathBuf,
    format: Format,
}

impl Plugin for AffiliateFeed {
    type Config = FeedConfig;

    fn init(config: FeedConfig) -> Result<Self, PluginError> {
        let extension = config
            .path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let format = match (config.format, extension.as_deref()) {
            (Some(format), _) => format,
            (None, Some("csv")) => Format::Csv,
            (None, Some("json")) => Format::Json,
            (None, _) => {
                return Err(PluginError::bad_config(
                    "set `format`: the file extension is neither .csv nor .json",
                ));
            }
        };
        if !config.path.is_file() {
            return Err(PluginError::bad_config(format!(
                "feed {} is not a readable file",
                config.path.display()
            )));
        }
        Ok(Self {
            path: config.path,
            format,
        })
    }
}

impl CatalogContributor for AffiliateFeed {
    /// Re-reads the feed on every call, so the catalog follows the file.
    fn contribute(&self, _request: &CatalogRequest) -> Result<CatalogContribution, PluginError> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| {
            PluginError::internal(format!("cannot read {}: {e}", self.path.display())).retryable()
        })?;
        let rows = match self.format {
            Format::Csv => feed::parse_csv(&text),
            Format::Json => feed::parse_json(&text),
        }
        .map_err(PluginError::bad_input)?;
        let contribution = rows::contribution(rows);
        if !contribution.rejected.is_empty() {
            let message = format!(
                "{} of the feed's rows were rejected",
                contribution.rejected.len()
            );
            log(Level::Warn, &message);
        }
        Ok(contribution)
    }
}

export_plugin!(AffiliateFeed, vendor = "Cosell", capabilities = [catalog]);

#[cfg(test)]
mod tests;
