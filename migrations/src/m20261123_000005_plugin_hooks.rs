//! Plugin hooks in attribution and commission: which plugin a partnership (or a
//! merchant's default) names, and, with every result and credit, the plugin that was
//! asked and why its answer was not used, if it was not.
//!
//! Plugin ids are the libraries' SHA-256 in lower-case hex; fallbacks are JSON
//! `{"code", "message"}`. All columns are nullable: NULL means no plugin involved.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn added_columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        // The attribution plugin; `attribution_model` is then its fallback.
        (
            "partnerships",
            string_len_null("attribution_plugin", 64).to_owned(),
        ),
        // The commission plugin; the partnership's own terms are its fallback.
        (
            "partnerships",
            string_len_null("commission_plugin", 64).to_owned(),
        ),
        (
            "partners",
            string_len_null("default_attribution_plugin", 64).to_owned(),
        ),
        (
            "attribution_results",
            string_len_null("plugin_id", 64).to_owned(),
        ),
        (
            "attribution_results",
            text_null("plugin_fallback").to_owned(),
        ),
        // The rule that computed the commission: NULL for the partnership's terms,
        // else the plugin's manifest name and version.
        (
            "attribution_credits",
            string_null("commission_rule").to_owned(),
        ),
        (
            "attribution_credits",
            string_null("commission_rule_version").to_owned(),
        ),
        (
            "attribution_credits",
            string_len_null("commission_plugin_id", 64).to_owned(),
        ),
        (
            "attribution_credits",
            text_null("commission_plugin_fallback").to_owned(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::add(manager, added_columns()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::drop(manager, added_columns()).await
    }
}
