//! Validating feed rows into a catalog contribution, all-or-nothing per row.

use crate::feed::{Numbered, RawRow};
use cosell_plugin_sdk::abi::{CatalogContribution, ProductRow, Relation, RelationKind, RowError};
use cosell_plugin_sdk::currency;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

/// A row whose own fields are valid, with the relations it declares.
struct Candidate {
    line: u64,
    product: ProductRow,
    relations: Vec<Relation>,
}

/// Validates every row. A row is imported with all its relations or not at
/// all: bad fields, a duplicate SKU, or a relation to a SKU that is not
/// imported (missing, or itself rejected) reject the row, with its line.
pub fn contribution(rows: Vec<Numbered>) -> CatalogContribution {
    let mut rejected = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut first_line: HashMap<String, u64> = HashMap::new();
    for (line, row) in rows {
        match row.and_then(checked) {
            Err(message) => rejected.push(RowError { line, message }),
            Ok((product, relations)) => match first_line.get(&product.sku) {
                Some(first) => rejected.push(RowError {
                    line,
                    message: format!("duplicate SKU, first on line {first}"),
                }),
                None => {
                    first_line.insert(product.sku.clone(), line);
                    candidates.push(Candidate {
                        line,
                        product,
                        relations,
                    });
                }
            },
        }
    }
    // Rejecting a row can orphan relations pointing at it: repeat until stable.
    loop {
        let skus: HashSet<String> = candidates.iter().map(|c| c.product.sku.clone()).collect();
        let (kept, dropped): (Vec<Candidate>, Vec<Candidate>) = candidates
            .into_iter()
            .partition(|c| c.relations.iter().all(|r| skus.contains(&r.to_sku)));
        candidates = kept;
        if dropped.is_empty() {
            break;
        }
        for c in dropped {
            let missing: Vec<&str> = c
                .relations
                .iter()
                .map(|r| r.to_sku.as_str())
                .filter(|s| !skus.contains(*s))
                .collect();
            rejected.push(RowError {
                line: c.line,
                message: format!("related SKU not imported: {}", missing.join(", ")),
            });
        }
    }
    rejected.sort_by_key(|r| r.line);
    let (products, relations) = candidates
        .into_iter()
        .map(|c| (c.product, c.relations))
        .unzip::<_, _, Vec<_>, Vec<_>>();
    CatalogContribution {
        products,
        relations: relations.into_iter().flatten().collect(),
        rejected,
    }
}

/// Checks one row's own fields.
fn checked(row: RawRow) -> Result<(ProductRow, Vec<Relation>), String> {
    let sku = row.sku.trim();
    if sku.is_empty() || sku.chars().any(char::is_whitespace) {
        return Err(format!("SKU `{sku}` must be non-empty without spaces"));
    }
    if row.name.trim().is_empty() {
        return Err("name is empty".into());
    }
    let price = Decimal::from_str(row.price.trim())
        .map_err(|_| format!("price `{}` is not a decimal number", row.price))?;
    if price < Decimal::ZERO {
        return Err(format!("price {price} is negative"));
    }
    // The host refuses the whole contribution for one product it cannot store, so the
    // currency and the price's decimals are checked against the host's own table here.
    let currency = row.currency.trim();
    let minor_units = currency::minor_units(currency).ok_or_else(|| {
        format!("currency `{currency}` is not an ISO 4217 code Cosell settles in, like EUR")
    })?;
    if price.normalize().scale() > u32::from(minor_units) {
        return Err(format!(
            "price {price} has more than {minor_units} decimal places for {currency}"
        ));
    }
    if let Some(url) = &row.url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(format!("url `{url}` is not an http(s) URL"));
    }
    let relation = |to: &String, kind| Relation {
        from_sku: sku.to_owned(),
        to_sku: to.trim().to_owned(),
        kind,
    };
    let relations: Vec<Relation> = (row.complements.iter())
        .map(|to| relation(to, RelationKind::Complementary))
        .chain(
            row.accessories
                .iter()
                .map(|to| relation(to, RelationKind::Accessory)),
        )
        .collect();
    if relations.iter().any(|r| r.to_sku == sku) {
        return Err("a product cannot relate to itself".into());
    }
    let product = ProductRow {
        sku: sku.to_owned(),
        name: row.name.trim().to_owned(),
        price,
        currency: currency.to_owned(),
        url: row.url,
    };
    Ok((product, relations))
}
