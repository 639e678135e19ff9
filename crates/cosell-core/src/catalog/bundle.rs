//! Bundles: a discounted set of products that must keep a margin floor.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{parse_percent, parse_text};
use crate::money::parse_amount_in;
use crate::{BundleId, Currency, Money, PartnerId, ProductId, ValidationError, ValidationErrors};

/// A bundle as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bundle {
    pub id: BundleId,
    pub partner_id: PartnerId,
    pub terms: BundleTerms,
    pub product_ids: Vec<ProductId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The validated terms of a bundle: its name, discount on the summed price and margin floor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BundleTerms {
    pub name: String,
    pub currency: Currency,
    pub discount_percent: Decimal,
    pub margin_floor: Decimal,
}

/// One member product's price and cost, as the margin check needs them.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleItem {
    pub product_id: ProductId,
    pub currency: Currency,
    pub price: Decimal,
    pub unit_cost: Decimal,
}

/// What a bundle costs and earns at its discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BundlePricing {
    pub list_price: Decimal,
    pub price: Decimal,
    pub cost: Decimal,
    pub margin: Decimal,
}

/// Which of the fields that decide a bundle's margin a request set. A margin under the
/// floor is reported on those, so the client is pointed at what it sent rather than at a
/// field it left alone: on the discount and the floor it set (both if both); when it set
/// neither, on the products if it changed them; when it set none of these (its members'
/// prices moved since), on the discount and the floor, the terms that can restore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MarginInputs {
    pub discount_percent: bool,
    pub margin_floor: bool,
    pub product_ids: bool,
}

impl MarginInputs {
    /// A new bundle sets every term.
    pub const ALL: MarginInputs = MarginInputs {
        discount_percent: true,
        margin_floor: true,
        product_ids: true,
    };

    fn blamed(self) -> Vec<&'static str> {
        let terms: Vec<_> = [
            (self.discount_percent, "discount_percent"),
            (self.margin_floor, "margin_floor"),
        ]
        .into_iter()
        .filter_map(|(set, field)| set.then_some(field))
        .collect();
        match (terms.is_empty(), self.product_ids) {
            (false, _) => terms,
            (true, true) => vec!["product_ids"],
            (true, false) => vec!["discount_percent", "margin_floor"],
        }
    }
}

/// The members' own rule, checked before any product is read so that it is reported with
/// the terms' errors: at least two products, none twice.
fn check_members(product_ids: &[ProductId]) -> Result<(), ValidationError> {
    let mut ids = product_ids.to_vec();
    ids.sort();
    ids.dedup();
    if ids.len() < 2 || ids.len() != product_ids.len() {
        return Err(ValidationError::new(
            "product_ids",
            "a bundle needs at least two distinct products",
        ));
    }
    Ok(())
}

impl BundleTerms {
    /// Checks the terms and the member list together, so every bad field is reported at once.
    pub fn parse(
        name: &str,
        currency: &str,
        discount_percent: Decimal,
        margin_floor: Decimal,
        product_ids: &[ProductId],
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = errors.take(parse_text("name", name, 200));
        let currency = errors.take(Currency::parse(currency));
        let discount_percent = errors.take(parse_percent("discount_percent", discount_percent));
        // A negative floor would let a bundle sell under cost, which is what the floor is
        // there to prevent.
        errors.take(parse_amount_in("margin_floor", margin_floor, currency));
        errors.take(check_members(product_ids));
        match (name, currency, discount_percent) {
            (Some(name), Some(currency), Some(discount_percent)) if errors.0.is_empty() => {
                Ok(BundleTerms {
                    name,
                    currency,
                    discount_percent,
                    margin_floor,
                })
            }
            _ => Err(errors),
        }
    }

    /// Prices the bundle and refuses it when it breaks a rule: fewer than two distinct
    /// products, mixed currencies, or a discounted margin under the floor, reported on the
    /// fields `set` names (see [`MarginInputs`]). The discounted price is rounded half-up
    /// to the currency's minor units, as a till would show it.
    pub fn price(
        &self,
        items: &[BundleItem],
        set: MarginInputs,
    ) -> Result<BundlePricing, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let ids: Vec<_> = items.iter().map(|i| i.product_id).collect();
        errors.take(check_members(&ids));
        for item in items.iter().filter(|i| i.currency != self.currency) {
            errors.push(
                "product_ids",
                format!(
                    "product {} is priced in {}, the bundle in {}",
                    item.product_id, item.currency, self.currency
                ),
            );
        }
        errors.into_result()?;
        let list_price: Decimal = items.iter().map(|i| i.price).sum();
        let cost: Decimal = items.iter().map(|i| i.unit_cost).sum();
        let price = Money {
            amount: list_price,
            currency: self.currency,
        }
        .less_percent(self.discount_percent)
        .amount;
        let margin = price - cost;
        if margin < self.margin_floor {
            let message = format!(
                "the discounted price would fall below the margin floor: {d}% off {list_price} {c} \
                 is {price} {c}, a margin of {margin} {c} over the cost of {cost} {c}, under the \
                 margin floor of {floor} {c} (the price must be at least {least} {c})",
                c = self.currency,
                d = self.discount_percent,
                floor = self.margin_floor,
                least = cost + self.margin_floor,
            );
            let mut errors = ValidationErrors::default();
            for field in set.blamed() {
                errors.push(field, message.clone());
            }
            return Err(errors);
        }
        Ok(BundlePricing {
            list_price,
            price,
            cost,
            margin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn item(price: Decimal, cost: Decimal) -> BundleItem {
        BundleItem {
            product_id: ProductId::new(),
            currency: Currency::parse("EUR").unwrap(),
            price,
            unit_cost: cost,
        }
    }

    fn two() -> [ProductId; 2] {
        [ProductId::new(), ProductId::new()]
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let one = ProductId::new();
        let err = BundleTerms::parse("", "EURO", dec!(110), dec!(-1), &[one, one]).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "currency",
                "discount_percent",
                "margin_floor",
                "product_ids"
            ]
        );
    }

    #[test]
    fn the_margin_floor_is_never_negative() {
        assert!(BundleTerms::parse("Set", "EUR", dec!(0), dec!(0), &two()).is_ok());
        assert!(BundleTerms::parse("Set", "EUR", dec!(0), dec!(-0), &two()).is_ok());
        let err = BundleTerms::parse("Set", "EUR", dec!(0), dec!(-0.01), &two()).unwrap_err();
        assert_eq!(err.0[0].field, "margin_floor");
    }

    #[test]
    fn margin_is_price_after_discount_minus_summed_cost() {
        let terms = BundleTerms::parse("Camp set", "EUR", dec!(10), dec!(50), &two()).unwrap();
        let pricing = terms
            .price(
                &[item(dec!(199.99), dec!(120)), item(dec!(49.99), dec!(20))],
                MarginInputs::ALL,
            )
            .unwrap();
        assert_eq!(pricing.list_price, dec!(249.98));
        assert_eq!(pricing.price, dec!(224.98)); // 224.982 rounded to the cent
        assert_eq!(pricing.margin, dec!(84.98));
    }

    #[test]
    fn a_margin_under_the_floor_is_refused_naming_the_numbers() {
        let terms = BundleTerms::parse("Camp set", "EUR", dec!(30), dec!(50), &two()).unwrap();
        let err = terms
            .price(
                &[item(dec!(100), dec!(60)), item(dec!(50), dec!(30))],
                MarginInputs::ALL,
            )
            .unwrap_err();
        let message = &err.0[0].message;
        assert!(
            message.contains("would fall below the margin floor"),
            "{message}"
        );
        assert!(message.contains("is 105.00 EUR"), "{message}");
        assert!(message.contains("margin of 15.00 EUR"), "{message}");
        assert!(message.contains("floor of 50 EUR"), "{message}");
        assert!(message.contains("at least 140 EUR"), "{message}");
    }

    #[test]
    fn a_margin_under_the_floor_is_reported_on_the_fields_the_request_set() {
        let terms = BundleTerms::parse("Camp set", "EUR", dec!(30), dec!(50), &two()).unwrap();
        let items = [item(dec!(100), dec!(60)), item(dec!(50), dec!(30))];
        let blamed = |set| {
            let err = terms.price(&items, set).unwrap_err();
            err.0.into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        let floor_only = MarginInputs {
            margin_floor: true,
            product_ids: true,
            ..MarginInputs::default()
        };
        assert_eq!(blamed(floor_only), ["margin_floor"]);
        assert_eq!(
            blamed(MarginInputs::ALL),
            ["discount_percent", "margin_floor"]
        );
        let products_only = MarginInputs {
            product_ids: true,
            ..MarginInputs::default()
        };
        assert_eq!(blamed(products_only), ["product_ids"]);
        assert_eq!(
            blamed(MarginInputs::default()),
            ["discount_percent", "margin_floor"]
        );
    }

    #[test]
    fn one_product_or_mixed_currencies_are_refused() {
        let terms = BundleTerms::parse("Set", "EUR", dec!(0), dec!(0), &two()).unwrap();
        let all = MarginInputs::ALL;
        assert!(terms.price(&[item(dec!(1), dec!(0))], all).is_err());
        let usd = BundleItem {
            currency: Currency::parse("USD").unwrap(),
            ..item(dec!(1), dec!(0))
        };
        assert!(terms.price(&[item(dec!(1), dec!(0)), usd], all).is_err());
    }
}
