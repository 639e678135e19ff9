//! The `journal_pairs` table: one row per pair of journal lines, or per transfer of two
//! pairs. A row moves `amount_minor` of commission `accrual_id` into `state` on both
//! sides: a debit of the payee's receivable and a credit of the payer's payable
//! (`ledger::pair`). With `from_state` it is a transfer and also moves the amount out of
//! that state: pair `pair_no` takes it out, pair `pair_no + 1` puts it in (migration
//! 000017). The view `journal_lines` shows each row as its two or four lines.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "journal_pairs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub entry_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub pair_no: i32,
    pub state: String,
    pub from_state: Option<String>,
    pub payer_id: Uuid,
    pub payee_id: Uuid,
    pub currency: String,
    pub accrual_id: Uuid,
    pub amount_minor: i64,
    pub occurred_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
