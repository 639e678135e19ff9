//! The foundation: partners, API keys, catalog, partnerships, offers and idempotency records.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    from_table: &'static str,
    from_col: &'static str,
    to_table: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_col}"))
        .from(from_table, from_col)
        .to(to_table, "id")
        .on_delete(on_delete)
        .to_owned()
}

fn index(table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(format!(
        "{}_{}_{}",
        if unique { "uq" } else { "ix" },
        table,
        cols.join("_")
    ))
    .table(table);
    for col in cols {
        stmt.col(*col);
    }
    if unique {
        stmt.unique();
    }
    stmt.to_owned()
}

fn timestamps(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(integer("version"))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, Restrict};

        manager
            .create_table(
                timestamps(
                    Table::create()
                        .table("partners")
                        .col(pk_uuid("id"))
                        .col(string("name"))
                        .col(string_uniq("slug"))
                        .col(string("status"))
                        .col(string("contact_email")),
                )
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("api_keys")
                    .col(pk_uuid("id"))
                    .col(uuid_null("partner_id"))
                    .col(string("role"))
                    .col(string("name"))
                    .col(string_uniq("prefix"))
                    .col(string("secret_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk("api_keys", "partner_id", "partners", Cascade))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                timestamps(
                    Table::create()
                        .table("products")
                        .col(pk_uuid("id"))
                        .col(uuid("partner_id"))
                        .col(string("sku"))
                        .col(string("title"))
                        .col(string("category"))
                        .col(big_integer("price_minor"))
                        .col(big_integer("unit_cost_minor"))
                        .col(string_len("currency", 3))
                        .col(boolean("active"))
                        .col(json("attributes"))
                        .foreign_key(&mut fk("products", "partner_id", "partners", Cascade)),
                )
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index("products", &["partner_id", "sku"], true))
            .await?;
        manager
            .create_index(index("products", &["partner_id", "category"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("product_relations")
                    .col(pk_uuid("id"))
                    .col(uuid("partner_id"))
                    .col(string("kind"))
                    .col(uuid("from_product_id"))
                    .col(uuid("to_product_id"))
                    .col(string("weight"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk(
                        "product_relations",
                        "partner_id",
                        "partners",
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "product_relations",
                        "from_product_id",
                        "products",
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "product_relations",
                        "to_product_id",
                        "products",
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "product_relations",
                &["kind", "from_product_id", "to_product_id"],
                true,
            ))
            .await?;
        manager
            .create_index(index("product_relations", &["to_product_id"], false))
            .await?;

        manager
            .create_table(
                timestamps(
                    Table::create()
                        .table("bundles")
                        .col(pk_uuid("id"))
                        .col(uuid("partner_id"))
                        .col(string("name"))
                        .col(string_len("currency", 3))
                        .col(string("discount_percent"))
                        .col(big_integer("margin_floor_minor"))
                        .foreign_key(&mut fk("bundles", "partner_id", "partners", Cascade)),
                )
                .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("bundle_items")
                    .col(uuid("bundle_id"))
                    .col(uuid("product_id"))
                    .primary_key(Index::create().col("bundle_id").col("product_id"))
                    .foreign_key(&mut fk("bundle_items", "bundle_id", "bundles", Cascade))
                    .foreign_key(&mut fk("bundle_items", "product_id", "products", Restrict))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("bundle_items", &["product_id"], false))
            .await?;

        manager
            .create_table(
                timestamps(
                    Table::create()
                        .table("partnerships")
                        .col(pk_uuid("id"))
                        .col(uuid("inviter_id"))
                        .col(uuid("invitee_id"))
                        .col(string("status"))
                        .col(string_null("commission_percent"))
                        .col(big_integer_null("commission_flat_minor"))
                        .col(string_len("currency", 3))
                        .col(integer("attribution_window_days"))
                        .col(integer("hold_days"))
                        .foreign_key(&mut fk("partnerships", "inviter_id", "partners", Cascade))
                        .foreign_key(&mut fk("partnerships", "invitee_id", "partners", Cascade)),
                )
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index("partnerships", &["inviter_id", "invitee_id"], false))
            .await?;
        manager
            .create_index(index("partnerships", &["invitee_id"], false))
            .await?;

        manager
            .create_table(
                timestamps(
                    Table::create()
                        .table("offers")
                        .col(pk_uuid("id"))
                        .col(uuid("partner_id"))
                        .col(uuid("product_id"))
                        .col(uuid("anchor_partner_id"))
                        .col(string_null("anchor_category"))
                        .col(string("discount_percent"))
                        .col(string("channels"))
                        .col(timestamp_with_time_zone("valid_from"))
                        .col(timestamp_with_time_zone_null("valid_to"))
                        .col(integer_null("per_customer_cap"))
                        .col(string("status"))
                        .foreign_key(&mut fk("offers", "partner_id", "partners", Cascade))
                        .foreign_key(&mut fk("offers", "product_id", "products", Restrict))
                        .foreign_key(&mut fk("offers", "anchor_partner_id", "partners", Cascade)),
                )
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index("offers", &["partner_id", "status"], false))
            .await?;
        manager
            .create_index(index("offers", &["anchor_partner_id", "status"], false))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("offer_anchors")
                    .col(uuid("offer_id"))
                    .col(uuid("product_id"))
                    .primary_key(Index::create().col("offer_id").col("product_id"))
                    .foreign_key(&mut fk("offer_anchors", "offer_id", "offers", Cascade))
                    .foreign_key(&mut fk("offer_anchors", "product_id", "products", Cascade))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("offer_anchors", &["product_id"], false))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(uuid("principal_id"))
                    .col(string("key"))
                    .col(string("request_hash"))
                    .col(integer_null("status_code"))
                    .col(text_null("response_body"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("principal_id").col("key"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_keys",
            "offer_anchors",
            "offers",
            "partnerships",
            "bundle_items",
            "bundles",
            "product_relations",
            "products",
            "api_keys",
            "partners",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
