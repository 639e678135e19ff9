//! Cross-sell recommendations for Cosell, with no HTTP and no SQL: basket parsing,
//! co-purchase mining, the guarded recommender and its offline evaluation.
//! The API layer indexes a [`Catalog`], keeps a [`ModelHolder`], and calls [`recommend`].

pub mod baskets;
pub mod eval;
mod fxhash;
pub mod input;
pub mod model;
pub mod recommend;
pub mod score;

pub use baskets::{BasketError, BasketFormat, read_baskets};
pub use cosell_core::catalog::RelationKind;
pub use cosell_core::{BundleId, OfferId, PartnerId, ProductId};
pub use eval::{EvalResult, evaluate_leave_one_out};
pub use input::{
    Anchor, Bundle, Catalog, Channel, CustomerProfile, CustomerRelationship, DEFAULT_LIMIT,
    EligibilityRule, Impression, MAX_LIMIT, Moment, Offer, Product, RecommenderConfig, Relation,
    Request, Satisfaction,
};
pub use model::{
    CoPurchaseModel, ItemId, MinSupport, ModelBuilder, ModelHolder, Neighbour, PairCount, PairStats,
};
pub use recommend::{
    Outcome, Reason, Recommendation, Subject, Suppression, recommend, suppression,
};
