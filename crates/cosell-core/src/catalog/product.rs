//! Products: what a partner sells, with its price and unit cost in one currency.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};

use super::parse_text;
use crate::money::parse_amount_in;
use crate::{Currency, PartnerId, ProductId, ValidationErrors};

/// A product as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Product {
    pub id: ProductId,
    pub partner_id: PartnerId,
    pub fields: ProductFields,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The validated, writable fields of a product.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProductFields {
    pub sku: String,
    pub title: String,
    pub category: String,
    pub price: Decimal,
    pub unit_cost: Decimal,
    pub currency: Currency,
    pub active: bool,
    pub attributes: Map<String, Value>,
}

/// Unchecked product input, as a caller sends it.
#[derive(Debug, Clone, Default)]
pub struct ProductInput {
    pub sku: String,
    pub title: String,
    pub category: String,
    pub price: Decimal,
    pub unit_cost: Decimal,
    pub currency: String,
    pub active: bool,
    pub attributes: Option<Value>,
}

impl ProductFields {
    /// Checks every field; all bad fields are reported together.
    pub fn parse(input: ProductInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let sku = errors.take(parse_text("sku", &input.sku, 100));
        let title = errors.take(parse_text("title", &input.title, 300));
        let category = errors.take(parse_text("category", &input.category, 100));
        let currency = errors.take(Currency::parse(&input.currency));
        let price = errors.take(parse_amount_in("price", input.price, currency));
        let unit_cost = errors.take(parse_amount_in("unit_cost", input.unit_cost, currency));
        let attributes = match input.attributes {
            None | Some(Value::Null) => Some(Map::new()),
            Some(Value::Object(map)) => Some(map),
            Some(_) => {
                errors.push("attributes", "must be a JSON object");
                None
            }
        };
        match (sku, title, category, currency, price, unit_cost, attributes) {
            (
                Some(sku),
                Some(title),
                Some(category),
                Some(currency),
                Some(price),
                Some(unit_cost),
                Some(attributes),
            ) => Ok(ProductFields {
                sku,
                title,
                category,
                price,
                unit_cost,
                currency,
                active: input.active,
                attributes,
            }),
            _ => Err(errors),
        }
    }

    /// Price minus unit cost.
    pub fn margin(&self) -> Decimal {
        self.price - self.unit_cost
    }
}

impl From<ProductFields> for ProductInput {
    fn from(f: ProductFields) -> Self {
        ProductInput {
            sku: f.sku,
            title: f.title,
            category: f.category,
            price: f.price,
            unit_cost: f.unit_cost,
            currency: f.currency.code().to_owned(),
            active: f.active,
            attributes: Some(Value::Object(f.attributes)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn input() -> ProductInput {
        ProductInput {
            sku: "TENT-2".into(),
            title: "Two-person tent".into(),
            category: "tents".into(),
            price: dec!(199.00),
            unit_cost: dec!(120.50),
            currency: "EUR".into(),
            active: true,
            attributes: None,
        }
    }

    #[test]
    fn a_valid_product_parses() {
        let p = ProductFields::parse(input()).unwrap();
        assert_eq!(p.margin(), dec!(78.50));
        assert!(p.attributes.is_empty());
    }

    #[test]
    fn yen_prices_have_no_cents() {
        let errors = ProductFields::parse(ProductInput {
            currency: "JPY".into(),
            price: dec!(199.99),
            ..input()
        })
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["price", "unit_cost"]);
    }

    #[test]
    fn negative_price_and_array_attributes_are_refused() {
        let errors = ProductFields::parse(ProductInput {
            price: dec!(-1),
            attributes: Some(serde_json::json!([1])),
            ..input()
        })
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["price", "attributes"]);
    }
}
