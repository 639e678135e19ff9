//! Cross-sell recommendations: customer profiles per merchant, the impressions that feed
//! the 7-day contact cap, offers' eligibility rules, and imported co-purchase baskets.
//!
//! Additive only: new tables, no change to an existing one. Rates are decimal text and
//! money BIGINT minor units, as everywhere; lists and maps are JSON text.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let tables = [
            Table::create()
                .table("customers")
                .col(pk_uuid("id"))
                .col(uuid("merchant_id"))
                .col(string("reference"))
                .col(string("satisfaction"))
                // Comma-separated channels the customer consented to be pitched on.
                .col(string("consents"))
                .col(string_null("preferred_channel"))
                .col(string("return_rate"))
                .col(string_len("currency", 3))
                .col(big_integer("service_cost_minor"))
                .col(big_integer("revenue_minor"))
                // {"region": "EU", ...}
                .col(text("attributes"))
                // [{"partner_id": ..., "kind": "auditor"}]
                .col(text("relationships"))
                // [product id, ...]
                .col(text("purchased"))
                .col(integer("version"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_customers_merchant_id")
                        .from("customers", "merchant_id")
                        .to("partners", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
            // Append-only: one row per item an answer showed. No foreign keys, so the log
            // outlives a deleted product and an insert never waits on a catalog row lock.
            Table::create()
                .table("recommendation_impressions")
                .col(pk_uuid("id"))
                .col(uuid("merchant_id"))
                .col(string_null("customer_ref"))
                // A product, or a bundle when `is_bundle`.
                .col(uuid("subject_id"))
                .col(boolean("is_bundle"))
                .col(uuid_null("offer_id"))
                .col(timestamp_with_time_zone("shown_at"))
                .to_owned(),
            Table::create()
                .table("offer_rules")
                .col(pk_uuid("offer_id"))
                // ["region in [EU]", "verified = true"]
                .col(text("eligibility"))
                // ["auditor"]
                .col(text("excluded_relationships"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_offer_rules_offer_id")
                        .from("offer_rules", "offer_id")
                        .to("offers", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
            // One imported basket per row, its distinct items separated by newlines (a
            // basket line never holds one). Mined as a whole on every model rebuild.
            Table::create()
                .table("baskets")
                .col(pk_uuid("id"))
                .col(text("items"))
                .col(timestamp_with_time_zone("imported_at"))
                .to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let indexes = [
            Index::create()
                .name("uq_customers_merchant_reference")
                .table("customers")
                .col("merchant_id")
                .col("reference")
                .unique()
                .to_owned(),
            Index::create()
                .name("ix_recommendation_impressions_customer")
                .table("recommendation_impressions")
                .col("merchant_id")
                .col("customer_ref")
                .col("shown_at")
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "baskets",
            "offer_rules",
            "recommendation_impressions",
            "customers",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
