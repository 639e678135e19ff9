//! Conversions between domain money and its stored form (minor units, decimal text).

use std::str::FromStr;

use cosell_core::Currency;
use rust_decimal::Decimal;

use crate::StoreError;

pub(crate) fn currency(table: &'static str, code: &str) -> Result<Currency, StoreError> {
    Currency::parse(code).map_err(|e| StoreError::corrupt(table, e))
}

pub(crate) fn to_minor(
    table: &'static str,
    currency: Currency,
    amount: Decimal,
) -> Result<i64, StoreError> {
    currency
        .to_minor(amount)
        .map_err(|e| StoreError::corrupt(table, e))
}

pub(crate) fn decimal(table: &'static str, text: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(text).map_err(|e| StoreError::corrupt(table, e))
}
