//! Plugin output is untrusted: these checks run on every answer before the
//! caller sees it. A failed check counts as a plugin failure.

use cosell_plugin_abi::{
    AttributeRequest, AttributeResponse, CatalogContribution, CommissionRequest, CommissionResponse,
};
use rust_decimal::Decimal;
use std::collections::HashSet;

/// Weights are non-negative, for distinct eligible partners, and sum to 1 within `tolerance`.
pub(crate) fn attribution(
    request: &AttributeRequest,
    response: &AttributeResponse,
    tolerance: Decimal,
) -> Result<(), String> {
    let eligible: HashSet<&str> = request
        .touchpoints
        .iter()
        .map(|t| t.partner_id.as_str())
        .collect();
    let mut seen = HashSet::new();
    for w in &response.weights {
        if w.weight < Decimal::ZERO {
            return Err(format!(
                "weight {} for partner {} is negative",
                w.weight, w.partner_id
            ));
        }
        if !eligible.contains(w.partner_id.as_str()) {
            return Err(format!(
                "partner {} is not among the eligible touchpoints",
                w.partner_id
            ));
        }
        if !seen.insert(w.partner_id.as_str()) {
            return Err(format!("partner {} is weighted twice", w.partner_id));
        }
    }
    let sum: Decimal = response.weights.iter().map(|w| w.weight).sum();
    if (sum - Decimal::ONE).abs() > tolerance {
        return Err(format!(
            "weights sum to {sum}, not 1 (tolerance {tolerance})"
        ));
    }
    Ok(())
}

/// Amounts are non-negative, in the conversion's currency, and together no
/// more than the amount credited to this partner (`attributed_amount`): each
/// credited partner is asked separately, so a cap at the whole conversion would
/// let n partners be paid n times the sale.
pub(crate) fn commission(
    request: &CommissionRequest,
    response: &CommissionResponse,
) -> Result<(), String> {
    let currency = &request.conversion.currency;
    for line in &response.lines {
        if line.amount < Decimal::ZERO {
            return Err(format!("commission {} is negative", line.amount));
        }
        if &line.currency != currency {
            return Err(format!(
                "commission in {} for a conversion in {currency}",
                line.currency
            ));
        }
    }
    let total = response
        .lines
        .iter()
        .try_fold(Decimal::ZERO, |sum, line| sum.checked_add(line.amount))
        .ok_or("commission total overflows")?;
    if total > request.attributed_amount {
        return Err(format!(
            "commission {total} exceeds the {} {currency} credited to partner {}",
            request.attributed_amount, request.partner_id
        ));
    }
    Ok(())
}

/// Every product is well-formed with a unique SKU, and relations join two
/// different products of the contribution. One bad row refuses the whole
/// contribution, so a catalog is never half-imported.
pub(crate) fn catalog(contribution: &CatalogContribution) -> Result<(), String> {
    let mut skus = HashSet::new();
    for product in &contribution.products {
        let sku = product.sku.trim();
        if sku.is_empty() || product.name.trim().is_empty() {
            return Err(format!("product `{}` needs a SKU and a name", product.sku));
        }
        if product.price < Decimal::ZERO {
            return Err(format!("product {sku} has a negative price"));
        }
        let currency = product.currency.as_bytes();
        if currency.len() != 3 || !currency.iter().all(u8::is_ascii_uppercase) {
            return Err(format!(
                "product {sku} has currency `{}`, not an ISO 4217 code",
                product.currency
            ));
        }
        if !skus.insert(product.sku.as_str()) {
            return Err(format!("SKU {sku} appears twice"));
        }
    }
    for relation in &contribution.relations {
        let (from, to) = (relation.from_sku.as_str(), relation.to_sku.as_str());
        if from == to || !skus.contains(from) || !skus.contains(to) {
            return Err(format!(
                "relation {from} → {to} must join two different contributed products"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
