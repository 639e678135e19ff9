//! `cosell settle [--as-of DATE]`: the settlement run, from the command line.

use std::collections::BTreeMap;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::Args;
use cosell_core::Currency;
use cosell_core::settlement::{SettlementPolicy, parse_minimum_payout, period_to_settle};
use cosell_store::{Store, Tenant};

use crate::settings::StorageSettings;

#[derive(Debug, Args)]
pub struct SettleArgs {
    /// The period's last day (YYYY-MM-DD), yesterday (UTC) at the latest and by default:
    /// commissions payable by its end are settled.
    #[arg(long, value_parser = cosell_api::days::parse_day)]
    pub as_of: Option<NaiveDate>,
    /// Smallest net paid, as CURRENCY=AMOUNT (e.g. EUR=50.00); repeat per currency, once
    /// each.
    #[arg(long = "minimum-payout", value_parser = parse_minimum)]
    pub minimum_payout: Vec<(Currency, i64)>,
}

fn parse_minimum(text: &str) -> Result<(Currency, i64), String> {
    let (code, amount) = text
        .split_once('=')
        .ok_or_else(|| format!("expected CURRENCY=AMOUNT, got '{text}'"))?;
    let amount = amount.parse().map_err(|e| format!("{amount}: {e}"))?;
    // The API's check, so the command line refuses what the API refuses.
    parse_minimum_payout(code, amount).map_err(|e| e.message)
}

/// The minimums as a policy; a currency given twice is refused rather than one of its
/// amounts silently winning.
fn policy(minimums: Vec<(Currency, i64)>) -> anyhow::Result<SettlementPolicy> {
    let mut minimum_payout_minor = BTreeMap::new();
    for (currency, minor) in minimums {
        if minimum_payout_minor.insert(currency, minor).is_some() {
            anyhow::bail!("--minimum-payout: {currency} is given more than once");
        }
    }
    Ok(SettlementPolicy {
        minimum_payout_minor,
    })
}

/// The period a run settles: the day asked for, else yesterday; refused when that day has
/// not ended yet (checked before anything is imported or settled).
pub fn period_end(requested: Option<NaiveDate>) -> anyhow::Result<NaiveDate> {
    period_to_settle(requested, Utc::now().date_naive()).map_err(|e| anyhow::anyhow!(e.message))
}

/// Runs settlement as of `as_of` (a [`period_end`]) on `store` and prints what it wrote.
pub async fn settle(
    store: &Store,
    as_of: NaiveDate,
    policy: &SettlementPolicy,
) -> anyhow::Result<()> {
    // A bulk import may have just grown the tables settlement reads.
    store
        .refresh_statistics()
        .await
        .context("cannot refresh the database's statistics")?;
    let outcome = store
        .settle_period(as_of, policy)
        .await
        .context("settlement failed")?;
    // Totals only: reading a million statement lines back would double the run's time.
    let statements = store
        .list_statement_totals(Tenant::All, Some(as_of))
        .await?;
    // A struct, not `json!`, to keep the fields in this order.
    #[derive(serde::Serialize)]
    struct Summary {
        period_end: NaiveDate,
        released: usize,
        created: usize,
        statements: usize,
        carried_forward: usize,
        net: BTreeMap<String, String>,
    }
    let summary = Summary {
        period_end: outcome.period_end,
        released: outcome.released,
        created: outcome.created,
        statements: statements.len(),
        carried_forward: outcome.carried_forward.len(),
        net: nets(&statements)?,
    };
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// The statements' net per currency, in major units as the API writes amounts
/// (`{"EUR": "59.80"}`): one sum over currencies would add cents to yen.
fn nets(
    statements: &[cosell_store::settlement::StatementRecord],
) -> anyhow::Result<BTreeMap<String, String>> {
    // Summed wide: nets of many statements may pass i64 where one never does.
    let mut minor: BTreeMap<Currency, i128> = BTreeMap::new();
    for statement in statements {
        *minor.entry(statement.key.currency).or_default() += i128::from(statement.net_minor);
    }
    minor
        .into_iter()
        .map(|(currency, sum)| {
            let net = currency
                .from_minor_sum(sum)
                .with_context(|| format!("the {} net is beyond a decimal", currency.code()))?;
            Ok((currency.code().to_owned(), net.to_string()))
        })
        .collect()
}

pub async fn run(storage: &StorageSettings, args: SettleArgs) -> anyhow::Result<()> {
    let as_of = period_end(args.as_of)?;
    let policy = policy(args.minimum_payout)?;
    let store = super::open_store_for_bulk_load(storage).await?;
    super::closing(&store, settle(&store, as_of, &policy)).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use cosell_core::PartnerId;
    use cosell_core::settlement::StatementKey;
    use cosell_store::settlement::StatementRecord;

    use super::*;

    fn statement(currency: &str, net_minor: i64) -> StatementRecord {
        StatementRecord {
            id: uuid::Uuid::now_v7(),
            key: StatementKey {
                period_end: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
                payer: PartnerId(uuid::Uuid::now_v7()),
                payee: PartnerId(uuid::Uuid::now_v7()),
                currency: Currency::parse(currency).unwrap(),
            },
            commission_minor: net_minor,
            clawback_minor: 0,
            net_minor,
            created_at: Utc::now(),
            paid_at: None,
            paid_reference: None,
            lines: Vec::new(),
        }
    }

    #[test]
    fn nets_are_per_currency_in_major_units() {
        let statements = [
            statement("EUR", 4980),
            statement("JPY", 500),
            statement("EUR", 1000),
        ];
        let nets = nets(&statements).unwrap();
        assert_eq!(
            nets,
            BTreeMap::from([
                ("EUR".to_owned(), "59.80".to_owned()),
                ("JPY".to_owned(), "500".to_owned())
            ])
        );
    }
}
