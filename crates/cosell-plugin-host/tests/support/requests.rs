//! Request builders shared by the `host` test binary and the `call_overhead` bench.

use cosell_plugin_abi::{AttributeRequest, Conversion, Touchpoint};
use rust_decimal::Decimal;

/// A conversion `conv-1` of `amount` EUR touched by `partners`, in order.
pub fn attribution_request(amount: Decimal, partners: &[&str]) -> AttributeRequest {
    let at = "2026-03-01T12:00:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    AttributeRequest {
        conversion: Conversion {
            id: "conv-1".into(),
            amount,
            currency: "EUR".into(),
            occurred_at: at,
        },
        touchpoints: partners
            .iter()
            .map(|p| Touchpoint {
                partner_id: (*p).into(),
                at,
            })
            .collect(),
    }
}
