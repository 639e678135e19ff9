//! Archives the offers that partnerships ended before this release left live.
//!
//! Ending a partnership now archives the invitee's offers on the inviter's products (the
//! store does it in the same transaction). Offers left draft, published or paused by an
//! earlier end could never be shown again, their anchor partner could not see them, and
//! they kept it from deleting its own anchor products: they get the state an end now gives.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// An offer on another partner's products needs an active partnership in which that
/// partner invited the offer's owner.
const ARCHIVE_ORPHANS: &str = "UPDATE offers SET status = 'archived', version = version + 1 \
     WHERE status <> 'archived' AND anchor_partner_id <> partner_id AND NOT EXISTS ( \
     SELECT 1 FROM partnerships WHERE partnerships.inviter_id = offers.anchor_partner_id \
     AND partnerships.invitee_id = offers.partner_id AND partnerships.status = 'active')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(ARCHIVE_ORPHANS)
            .await?;
        Ok(())
    }

    /// Archiving is final: there is nothing to undo.
    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }
}
