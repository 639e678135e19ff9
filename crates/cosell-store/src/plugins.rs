//! Plugin registrations: what the server loads into its plugin registry at start-up.
//!
//! The store knows nothing of the plugin host: capabilities are their snake_case names
//! and the id is the library's SHA-256 as lower-case hex.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, EntityTrait, QueryOrder};

use crate::entities::plugin;
use crate::single_row::AtMostOneRow;
use crate::{Store, StoreError};

/// An installed plugin, as persisted.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginRegistration {
    /// The library's SHA-256 (lower-case hex), also the plugin's id.
    pub id: String,
    /// The manifest's name.
    pub name: String,
    /// The manifest's version.
    pub version: String,
    /// Capability names the operator granted, sorted.
    pub granted: Vec<String>,
    /// The configuration `init` accepted.
    pub config: serde_json::Value,
    /// Whether calls are let through.
    pub enabled: bool,
    pub installed_at: DateTime<Utc>,
}

fn to_domain(m: plugin::Model) -> PluginRegistration {
    PluginRegistration {
        id: m.id,
        name: m.name,
        version: m.version,
        granted: m
            .granted
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        config: m.config,
        enabled: m.enabled,
        installed_at: m.installed_at,
    }
}

fn not_found() -> StoreError {
    StoreError::NotFound("plugin")
}

impl Store {
    /// Persists a plugin the registry has just loaded.
    pub async fn create_plugin(
        &self,
        new: PluginRegistration,
    ) -> Result<PluginRegistration, StoreError> {
        let row = plugin::ActiveModel {
            id: Set(new.id.clone()),
            name: Set(new.name),
            version: Set(new.version),
            granted: Set(new.granted.join(",")),
            config: Set(new.config),
            enabled: Set(new.enabled),
            installed_at: Set(new.installed_at),
        };
        let model = plugin::Entity::insert(row)
            .exec_with_returning(self.db())
            .await
            .map_err(StoreError::on_unique(
                "plugin_installed",
                format!("plugin {} is already installed", new.id),
            ))?;
        Ok(to_domain(model))
    }

    /// Every registration, oldest first: the start-up load order.
    pub async fn list_plugins(&self) -> Result<Vec<PluginRegistration>, StoreError> {
        let rows = plugin::Entity::find()
            .order_by_asc(plugin::COLUMN.installed_at)
            .order_by_asc(plugin::COLUMN.id)
            .all(self.db())
            .await?;
        Ok(rows.into_iter().map(to_domain).collect())
    }

    pub async fn get_plugin(&self, id: &str) -> Result<PluginRegistration, StoreError> {
        plugin::Entity::find_by_id(id.to_owned())
            .at_most_one_row(self.db())
            .await?
            .map(to_domain)
            .ok_or_else(not_found)
    }

    /// Records whether the plugin takes calls, so a restart keeps the operator's choice.
    pub async fn set_plugin_enabled(
        &self,
        id: &str,
        enabled: bool,
    ) -> Result<PluginRegistration, StoreError> {
        self.update_plugin(plugin::ActiveModel {
            id: Set(id.to_owned()),
            enabled: Set(enabled),
            ..Default::default()
        })
        .await
    }

    /// Records a configuration the plugin's `init` accepted.
    pub async fn set_plugin_config(
        &self,
        id: &str,
        config: serde_json::Value,
    ) -> Result<PluginRegistration, StoreError> {
        self.update_plugin(plugin::ActiveModel {
            id: Set(id.to_owned()),
            config: Set(config),
            ..Default::default()
        })
        .await
    }

    async fn update_plugin(
        &self,
        row: plugin::ActiveModel,
    ) -> Result<PluginRegistration, StoreError> {
        match plugin::Entity::update(row).exec(self.db()).await {
            Ok(model) => Ok(to_domain(model)),
            Err(sea_orm::DbErr::RecordNotUpdated) => Err(not_found()),
            Err(other) => Err(other.into()),
        }
    }

    /// Forgets a registration. Returns whether there was one.
    pub async fn delete_plugin(&self, id: &str) -> Result<bool, StoreError> {
        let result = plugin::Entity::delete_by_id(id.to_owned())
            .exec(self.db())
            .await?;
        Ok(result.rows_affected > 0)
    }
}
