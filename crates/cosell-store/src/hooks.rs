//! Plugin hooks as the store sees them: a port the store calls while it attributes a
//! sale, implemented by whoever loads plugins (the API crate, over the plugin host).
//!
//! The store knows nothing of the host: it asks "weights from this plugin" or
//! "commission from this plugin" and gets an answer or the reason there is none
//! ([`Fallback`]). It calls the hooks after reading and before it opens its write
//! transaction, so a slow plugin never holds the database's write lock.

use std::collections::BTreeMap;
use std::sync::Arc;

use cosell_core::PartnerId;
use cosell_core::attribution::{Conversion, Eligible, ModelRef};
use cosell_core::plugin::{ExternalLine, Fallback, FallbackCode, PluginRef};
use rust_decimal::Decimal;

/// What an attribution plugin is asked: a conversion and its eligible touchpoints.
#[derive(Debug, Clone, Copy)]
pub struct AttributeInput<'a> {
    /// `amount_minor` is what is split: the whole sale (refunds reduce commissions later).
    pub conversion: &'a Conversion,
    /// Oldest first; only their partners may be weighted.
    pub touchpoints: &'a [Eligible],
}

/// An attribution plugin's answer, already checked by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginWeights {
    /// The plugin's name and version, stored as the result's model.
    pub model: ModelRef,
    pub weights: BTreeMap<PartnerId, Decimal>,
    /// How far from 1 the weights' sum may be.
    pub tolerance: Decimal,
}

/// What a commission plugin is asked: one partner's share of a conversion and its
/// totals in the settlement period *before* this conversion.
#[derive(Debug, Clone, Copy)]
pub struct CommissionInput<'a> {
    pub conversion: &'a Conversion,
    pub partner: PartnerId,
    pub weight: Decimal,
    pub attributed_minor: i64,
    pub period_revenue_minor: i64,
    pub period_conversions: u64,
}

/// A commission plugin's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCommission {
    /// The plugin's name and version, stored with the credit.
    pub rule: ModelRef,
    pub lines: Vec<ExternalLine>,
}

/// Calls to attribution and commission plugins. An `Err` is why the built-in model
/// or rule is used instead; the store records it with the result.
#[async_trait::async_trait]
pub trait Hooks: Send + Sync {
    async fn attribute(
        &self,
        plugin: &PluginRef,
        input: AttributeInput<'_>,
    ) -> Result<PluginWeights, Fallback>;

    async fn commission(
        &self,
        plugin: &PluginRef,
        input: CommissionInput<'_>,
    ) -> Result<PluginCommission, Fallback>;
}

/// A process without plugins (a store used on its own): every plugin a partnership
/// names falls back, recorded as not loaded.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

fn not_loaded(plugin: &PluginRef) -> Fallback {
    Fallback::new(
        FallbackCode::NotLoaded,
        format!("plugin {plugin} is not loaded in this process"),
    )
}

#[async_trait::async_trait]
impl Hooks for NoHooks {
    async fn attribute(
        &self,
        plugin: &PluginRef,
        _: AttributeInput<'_>,
    ) -> Result<PluginWeights, Fallback> {
        Err(not_loaded(plugin))
    }

    async fn commission(
        &self,
        plugin: &PluginRef,
        _: CommissionInput<'_>,
    ) -> Result<PluginCommission, Fallback> {
        Err(not_loaded(plugin))
    }
}

/// The hooks a store calls; shared by its clones.
pub(crate) type SharedHooks = Arc<dyn Hooks>;
