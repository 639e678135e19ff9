//! Tracking, attribution, ledger and settlement: links, clicks, touchpoints, conversions,
//! refunds, attribution results, journal entries and statements. Also the extra
//! commission and attribution terms of partnerships and the merchant's default model.
//!
//! Append-only by design: no table here is ever updated in place except the one-way
//! markers `superseded_by` (an attribution replaced by a newer one), `archived_at`
//! (a link) and `paid_at` (a statement). The unique keys are what make retries and
//! concurrent runs safe, not only the code.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The journal's lines as this migration made them, one row per line (migration 000015
/// keeps one row per pair instead, and makes them again when undone).
pub(crate) fn journal_lines() -> TableCreateStatement {
    Table::create()
        .table("journal_lines")
        .col(uuid("entry_id"))
        .col(integer("line_no"))
        .col(string("side"))
        .col(string("state"))
        .col(uuid("owner_id"))
        .col(uuid("counterparty_id"))
        .col(string_len("currency", 3))
        .col(uuid("accrual_id"))
        .col(big_integer("amount_minor"))
        .col(timestamp_with_time_zone("occurred_at"))
        .primary_key(Index::create().col("entry_id").col("line_no"))
        .to_owned()
}

/// The index of [`journal_lines`] by commission.
pub(crate) fn journal_lines_accrual() -> IndexCreateStatement {
    keyed(
        "ix_journal_lines_accrual",
        "journal_lines",
        &["accrual_id"],
        false,
    )
}

/// A named index on `cols` of `table`.
pub(crate) fn keyed(
    name: &str,
    table: &'static str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    cols.iter().for_each(|c| {
        stmt.col(*c);
    });
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}

/// Columns added to existing tables: (table, column, definition).
fn added_columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        // JSON objects and arrays as text: category -> percent, [{from, percent}].
        ("partnerships", text_null("category_rates").to_owned()),
        ("partnerships", text_null("tiers").to_owned()),
        ("partnerships", big_integer_null("cap_minor").to_owned()),
        // A `BuiltinModel` as JSON; NULL: the merchant's default.
        ("partnerships", text_null("attribution_model").to_owned()),
        // An `ImpressionPolicy` as JSON; NULL: impressions count like clicks.
        ("partnerships", text_null("impression_policy").to_owned()),
        (
            "partners",
            text_null("default_attribution_model").to_owned(),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::columns::add(manager, added_columns()).await?;

        let tables = [
            Table::create()
                .table("tracking_links")
                .col(pk_uuid("id"))
                .col(string_uniq("code"))
                .col(uuid("partner_id"))
                .col(uuid("merchant_id"))
                .col(uuid_null("offer_id"))
                .col(text("destination"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("archived_at"))
                .to_owned(),
            Table::create()
                .table("clicks")
                .col(pk_uuid("id"))
                .col(uuid("link_id"))
                .col(uuid("partner_id"))
                .col(uuid_null("offer_id"))
                .col(string_uniq("click_id"))
                .col(string_null("ip_hash"))
                .col(string_null("ua_hash"))
                .col(boolean("bot"))
                .col(timestamp_with_time_zone("occurred_at"))
                .to_owned(),
            Table::create()
                .table("touchpoints")
                .col(pk_uuid("id"))
                .col(uuid("sender_id"))
                .col(string("event_id"))
                .col(uuid("partner_id"))
                .col(uuid_null("offer_id"))
                .col(string("kind"))
                .col(string_null("customer_ref"))
                .col(string_null("click_id"))
                .col(boolean("bot"))
                .col(timestamp_with_time_zone("occurred_at"))
                .to_owned(),
            Table::create()
                .table("conversions")
                .col(pk_uuid("id"))
                .col(uuid("merchant_id"))
                .col(string("order_id"))
                .col(string("customer_ref"))
                .col(string_null("click_id"))
                .col(timestamp_with_time_zone("occurred_at"))
                .col(string_len("currency", 3))
                .col(big_integer("amount_minor"))
                .col(string("request_hash"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            Table::create()
                .table("conversion_lines")
                .col(uuid("conversion_id"))
                .col(integer("line_no"))
                .col(uuid_null("product_id"))
                .col(string("sku"))
                .col(string_null("category"))
                .col(big_integer("quantity"))
                .col(big_integer("unit_price_minor"))
                .col(big_integer("amount_minor"))
                .primary_key(Index::create().col("conversion_id").col("line_no"))
                .to_owned(),
            Table::create()
                .table("refunds")
                .col(pk_uuid("id"))
                .col(uuid("conversion_id"))
                .col(big_integer("amount_minor"))
                // The conversion's refunded total before this refund: unique per
                // conversion, so two racing refunds cannot both count from the same total.
                .col(big_integer("refunded_before_minor"))
                .col(timestamp_with_time_zone("occurred_at"))
                .to_owned(),
            Table::create()
                .table("refund_lines")
                .col(uuid("refund_id"))
                .col(integer("line_no"))
                .col(big_integer("quantity"))
                .col(big_integer("amount_minor"))
                .primary_key(Index::create().col("refund_id").col("line_no"))
                .to_owned(),
            Table::create()
                .table("attribution_results")
                .col(pk_uuid("id"))
                .col(uuid("conversion_id"))
                .col(string("model_name"))
                .col(string("model_version"))
                // What this result split: the sale net of refunds when it was made.
                .col(big_integer("base_minor"))
                .col(big_integer("refund_offset_minor"))
                .col(text("explanation"))
                .col(uuid_null("superseded_by"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            // One credited partner of a result; its id is the commission's accrual id.
            Table::create()
                .table("attribution_credits")
                .col(pk_uuid("id"))
                .col(uuid("attribution_id"))
                .col(uuid("conversion_id"))
                .col(uuid("merchant_id"))
                .col(uuid("partner_id"))
                .col(string_len("currency", 3))
                .col(string("weight"))
                .col(big_integer("amount_minor"))
                .col(big_integer("commission_minor"))
                .col(string("period"))
                .col(timestamp_with_time_zone("accrued_at"))
                .col(timestamp_with_time_zone("payable_at"))
                .to_owned(),
            Table::create()
                .table("journal_entries")
                .col(pk_uuid("id"))
                .col(string("kind"))
                .col(string("reference"))
                .col(uuid_null("accrual_id"))
                .col(timestamp_with_time_zone("occurred_at"))
                .to_owned(),
            journal_lines(),
            Table::create()
                .table("statements")
                .col(pk_uuid("id"))
                .col(date("period_end"))
                .col(uuid("payer_id"))
                .col(uuid("payee_id"))
                .col(string_len("currency", 3))
                .col(big_integer("commission_minor"))
                .col(big_integer("clawback_minor"))
                .col(big_integer("net_minor"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .col(string_null("paid_reference"))
                .to_owned(),
            Table::create()
                .table("statement_lines")
                .col(uuid("statement_id"))
                .col(integer("line_no"))
                .col(string("kind"))
                .col(uuid("accrual_id"))
                .col(big_integer("amount_minor"))
                .primary_key(Index::create().col("statement_id").col("line_no"))
                .to_owned(),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }

        let indexes = [
            keyed(
                "ix_tracking_links_partner",
                "tracking_links",
                &["partner_id"],
                false,
            ),
            keyed(
                "uq_touchpoints_sender_event",
                "touchpoints",
                &["sender_id", "event_id"],
                true,
            ),
            keyed(
                "ix_touchpoints_customer",
                "touchpoints",
                &["customer_ref"],
                false,
            ),
            keyed("ix_touchpoints_click", "touchpoints", &["click_id"], false),
            keyed(
                "uq_conversions_merchant_order",
                "conversions",
                &["merchant_id", "order_id"],
                true,
            ),
            keyed(
                "ix_conversions_merchant_time",
                "conversions",
                &["merchant_id", "occurred_at"],
                false,
            ),
            keyed(
                "uq_refunds_sequence",
                "refunds",
                &["conversion_id", "refunded_before_minor"],
                true,
            ),
            keyed(
                "ix_attribution_results_conversion",
                "attribution_results",
                &["conversion_id"],
                false,
            ),
            keyed(
                "ix_attribution_credits_result",
                "attribution_credits",
                &["attribution_id"],
                false,
            ),
            keyed(
                "ix_attribution_credits_conversion",
                "attribution_credits",
                &["conversion_id"],
                false,
            ),
            keyed(
                "ix_attribution_credits_period",
                "attribution_credits",
                &["partner_id", "merchant_id", "period"],
                false,
            ),
            keyed(
                "ix_attribution_credits_payable",
                "attribution_credits",
                &["payable_at"],
                false,
            ),
            keyed(
                "uq_journal_entries_kind_reference",
                "journal_entries",
                &["kind", "reference"],
                true,
            ),
            keyed(
                "ix_journal_entries_accrual",
                "journal_entries",
                &["accrual_id", "kind"],
                false,
            ),
            journal_lines_accrual(),
            keyed(
                "uq_statements_key",
                "statements",
                &["period_end", "payer_id", "payee_id", "currency"],
                true,
            ),
            keyed(
                "ix_statement_lines_accrual",
                "statement_lines",
                &["accrual_id", "kind"],
                false,
            ),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "statement_lines",
            "statements",
            "journal_lines",
            "journal_entries",
            "attribution_credits",
            "attribution_results",
            "refund_lines",
            "refunds",
            "conversion_lines",
            "conversions",
            "touchpoints",
            "clicks",
            "tracking_links",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        crate::columns::drop(manager, added_columns()).await
    }
}
