//! Cross-sell recommendations for Cosell, with no HTTP and no SQL: basket parsing,
//! co-purchase mining, the guarded recommender and its offline evaluation.
//! The API layer indexes a [`Catalog`], keeps a [`ModelHolder`], and calls [`recommend`].
//!
//! ```
//! use chrono::Utc;
//! use cosell_core::{Currency, Money, PartnerId, ProductId};
//! use cosell_reco::*;
//! use rust_decimal::Decimal;
//!
//! // Mine baskets (from an import or from conversions) and publish the model.
//! let mut builder = ModelBuilder::new();
//! read_baskets("laptop,mouse\nlaptop,mouse\nlaptop\nbread\n".as_bytes(), BasketFormat::Csv, |items| {
//!     builder.add_basket(items)
//! })?;
//! let holder = ModelHolder::new(builder.snapshot(MinSupport::Count(2)));
//!
//! let eur = Currency::parse("EUR")?;
//! let merchant = PartnerId::new();
//! let product = |name: &str, category: &str, price: i64| Product {
//!     id: ProductId::new(),
//!     name: name.into(),
//!     owner: merchant,
//!     category: category.into(),
//!     price: Money { amount: Decimal::from(price), currency: eur },
//!     unit_cost: Money { amount: Decimal::from(price / 2), currency: eur },
//!     active: true,
//!     accessory_type: false,
//!     item_key: Some(name.to_lowercase()),
//! };
//! let (laptop, mouse) = (product("Laptop", "laptops", 1000), product("Mouse", "mice", 30));
//! let anchors = [Anchor::from(&laptop)];
//! let catalog = Catalog::new(vec![laptop, mouse], &[], vec![], vec![]);
//!
//! let customer = CustomerProfile::new([Channel::Web]);
//! let request = Request {
//!     merchant,
//!     anchors: &anchors,
//!     customer: Some(&customer),
//!     moment: Moment::Checkout,
//!     channel: Channel::Web,
//!     limit: None,
//!     currency: eur,
//!     now: Utc::now(),
//! };
//! let Outcome::Items(items) = recommend(&catalog, &holder.load(), &request, &RecommenderConfig::default()) else {
//!     panic!("a satisfied, consenting customer is not suppressed");
//! };
//! assert_eq!(
//!     items[0].reasons[0].to_string(),
//!     "bought together with Laptop in 50.0% of baskets, 1.3× more often than chance"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod baskets;
pub mod eval;
mod fxhash;
pub mod input;
mod min_support;
pub mod model;
pub mod recommend;
pub mod score;

pub use baskets::{BasketError, BasketFormat, read_baskets};
pub use cosell_core::catalog::RelationKind;
pub use cosell_core::{BundleId, OfferId, PartnerId, ProductId};
pub use eval::{EvalResult, evaluate_leave_one_out};
pub use fxhash::{FxHashMap, FxHashSet, FxHasher};
pub use input::{
    Anchor, Bundle, Catalog, Channel, CustomerProfile, CustomerRelationship, DEFAULT_LIMIT,
    EligibilityRule, Impression, MAX_LIMIT, Moment, Offer, Product, RecommenderConfig, Relation,
    Request, Satisfaction,
};
pub use min_support::MinSupportError;
pub use model::{
    CoPurchaseModel, ItemId, MinSupport, ModelBuilder, ModelHolder, Neighbour, PairCount, PairStats,
};
pub use recommend::{
    Outcome, Reason, Recommendation, Subject, Suppression, recommend, suppression,
};
