//! The plugin step of attributing a sale: ask the named attribution or commission
//! plugin through the [`Hooks`], check its answer, and fall back to the built-in model
//! or the partnership's terms when there is no usable answer, saying why.

use cosell_core::attribution::{
    Attribution, BuiltinModel, Conversion, Eligibility, ModelRef, PartnerCredit, attribute,
    attribute_by_partner,
};
use cosell_core::commission::{self, CommissionBase};
use cosell_core::plugin::{Fallback, FallbackCode, PluginRef, PluginUse, external_commission};

use super::{PairTerms, PeriodTotal};
use crate::StoreError;
use crate::hooks::{AttributeInput, CommissionInput, Hooks};

/// The model a partnership or a merchant's default names: a built-in model, a
/// plugin, both (the model is the plugin's fallback) or neither.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModelNamed {
    pub model: Option<BuiltinModel>,
    pub plugin: Option<PluginRef>,
}

impl ModelNamed {
    pub fn names_any(&self) -> bool {
        self.model.is_some() || self.plugin.is_some()
    }
}

/// The model a conversion is attributed with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModelChoice {
    /// Asked first, when there is anyone to credit.
    pub plugin: Option<PluginRef>,
    /// Used without a plugin, or when the plugin has no usable answer.
    pub fallback: BuiltinModel,
}

fn attribution_failed(e: impl ToString) -> StoreError {
    StoreError::conflict("attribution_failed", e.to_string())
}

/// Attributes with the chosen plugin, else its fallback model. Returns the plugin
/// asked and whether its answer was used. With nobody eligible no plugin is asked.
pub(crate) async fn attribute_with(
    hooks: &dyn Hooks,
    conversion: &Conversion,
    found: Eligibility,
    choice: ModelChoice,
) -> Result<(Attribution, Option<PluginUse>), StoreError> {
    let plugin = match choice.plugin {
        Some(plugin) if !found.eligible.is_empty() => plugin,
        _ => {
            let builtin = attribute(conversion, found, &choice.fallback);
            return Ok((builtin.map_err(attribution_failed)?, None));
        }
    };
    let input = AttributeInput {
        conversion,
        touchpoints: &found.eligible,
    };
    let answer = match hooks.attribute(&plugin, input).await {
        Ok(w) => attribute_by_partner(conversion, found.clone(), w.model, &w.weights, w.tolerance)
            .map_err(|e| Fallback::new(FallbackCode::InvalidOutput, e.to_string())),
        Err(fallback) => Err(fallback),
    };
    let (attribution, fallback) = match answer {
        Ok(attribution) => (attribution, None),
        Err(fallback) => {
            tracing::debug!(%plugin, reason = %fallback.message, "attribution plugin not used");
            let builtin = attribute(conversion, found, &choice.fallback);
            (builtin.map_err(attribution_failed)?, Some(fallback))
        }
    };
    Ok((attribution, Some(PluginUse { plugin, fallback })))
}

/// A credited partner's commission and what computed it.
#[derive(Debug, Clone)]
pub(crate) struct Paid {
    pub amount_minor: i64,
    /// The plugin's name and version when its answer was used; `None`: the terms.
    pub rule: Option<ModelRef>,
    pub plugin: Option<PluginUse>,
}

/// Stored as: rule, plugin id, fallback JSON.
type CreditColumns = (Option<ModelRef>, Option<String>, Option<String>);

impl Paid {
    pub fn columns(self) -> Result<CreditColumns, StoreError> {
        let (plugin, fallback) = use_columns(self.plugin.as_ref())?;
        Ok((self.rule, plugin, fallback))
    }
}

/// One credited partner's commission: from the partnership's commission plugin when
/// it names one and it answers validly, else from the terms (`builtin`). `before`
/// are the partner's period totals without this conversion.
pub(crate) async fn commission(
    hooks: &dyn Hooks,
    conversion: &Conversion,
    credit: &PartnerCredit,
    pair: &PairTerms,
    builtin: CommissionBase,
    before: PeriodTotal,
) -> Result<Paid, StoreError> {
    let from_terms = |builtin: &CommissionBase| {
        commission::commission(&pair.commission, builtin)
            .map(|c| c.amount_minor)
            .map_err(|e| StoreError::conflict("commission_terms", e.to_string()))
    };
    let Some(plugin) = &pair.commission_plugin else {
        return Ok(Paid {
            amount_minor: from_terms(&builtin)?,
            rule: None,
            plugin: None,
        });
    };
    let input = CommissionInput {
        conversion,
        partner: credit.partner_id,
        weight: credit.weight,
        attributed_minor: credit.amount_minor,
        period_revenue_minor: before.revenue_minor,
        period_conversions: before.conversions,
    };
    let answer = match hooks.commission(plugin, input).await {
        // Capped at what this partner was credited, not the whole sale: each credited
        // partner is asked on its own, so the sale's amount would let them all be paid
        // the whole sale.
        Ok(c) => external_commission(conversion.currency, credit.amount_minor, &c.lines)
            .map(|minor| (minor, c.rule))
            .map_err(|e| Fallback::new(FallbackCode::InvalidOutput, e.to_string())),
        Err(fallback) => Err(fallback),
    };
    let plugin = plugin.clone();
    Ok(match answer {
        Ok((amount_minor, rule)) => Paid {
            amount_minor,
            rule: Some(rule),
            plugin: Some(PluginUse {
                plugin,
                fallback: None,
            }),
        },
        Err(fallback) => {
            tracing::debug!(%plugin, reason = %fallback.message, "commission plugin not used");
            Paid {
                amount_minor: from_terms(&builtin)?,
                rule: None,
                plugin: Some(PluginUse {
                    plugin,
                    fallback: Some(fallback),
                }),
            }
        }
    })
}

/// A plugin use as its two columns: the plugin id and the fallback as JSON.
pub(crate) fn use_columns(
    used: Option<&PluginUse>,
) -> Result<(Option<String>, Option<String>), StoreError> {
    let Some(used) = used else {
        return Ok((None, None));
    };
    let fallback = used
        .fallback
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::corrupt("attribution_results", e))?;
    Ok((Some(used.plugin.to_string()), fallback))
}

/// A plugin use read back from its two columns.
pub(crate) fn read_use(
    table: &'static str,
    plugin: Option<&str>,
    fallback: Option<&str>,
) -> Result<Option<PluginUse>, StoreError> {
    let Some(plugin) = plugin else {
        return Ok(None);
    };
    Ok(Some(PluginUse {
        plugin: PluginRef::parse("plugin_id", plugin).map_err(|e| StoreError::corrupt(table, e))?,
        fallback: fallback
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::corrupt(table, e))?,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use cosell_core::PartnerId;
    use cosell_core::attribution::{Eligible, ImpressionPolicy, PartnerTerms, Touchpoint};
    use cosell_core::catalog;
    use rust_decimal::Decimal;
    use uuid::Uuid;

    use super::super::Terms;
    use super::*;
    use crate::hooks::{PluginCommission, PluginWeights};
    use cosell_core::plugin::ExternalLine;

    fn plugin(digit: char) -> PluginRef {
        PluginRef::parse("p", &digit.to_string().repeat(64)).unwrap()
    }

    fn named(model: Option<BuiltinModel>, plugin: Option<PluginRef>) -> ModelNamed {
        ModelNamed { model, plugin }
    }

    /// A merchant whose partnerships with `partners` name these models, and its default.
    fn terms(
        merchant: PartnerId,
        partners: &[(PartnerId, ModelNamed)],
        default: ModelNamed,
    ) -> Terms {
        let stored =
            catalog::CommissionTerms::parse(Some(Decimal::TEN), None, "EUR", 30, 0).unwrap();
        let pairs = partners
            .iter()
            .map(|(partner, model)| {
                let pair = PairTerms {
                    attribution: PartnerTerms::new(
                        true,
                        30,
                        ImpressionPolicy::Count,
                        Default::default(),
                    )
                    .unwrap(),
                    commission: (&stored).into(),
                    model: model.clone(),
                    commission_plugin: None,
                    ended_at: None,
                };
                (*partner, pair)
            })
            .collect();
        Terms {
            pairs: BTreeMap::from([(merchant, pairs)]),
            ended: BTreeMap::new(),
            defaults: BTreeMap::from([(merchant, default)]),
        }
    }

    fn touched_by(partners: &[PartnerId]) -> Vec<Eligible> {
        partners
            .iter()
            .map(|p| Eligible {
                touchpoint: Touchpoint {
                    id: Uuid::now_v7(),
                    partner_id: *p,
                    kind: cosell_core::attribution::TouchpointKind::Click,
                    occurred_at: chrono::Utc::now(),
                    customer_ref: None,
                    click_id: None,
                    bot: false,
                },
                factor: Decimal::ONE,
            })
            .collect()
    }

    fn choice(plugin: Option<PluginRef>, fallback: BuiltinModel) -> ModelChoice {
        ModelChoice { plugin, fallback }
    }

    #[test]
    fn partnerships_that_agree_decide_else_the_merchant_default() {
        let (m, a, b) = (PartnerId::new(), PartnerId::new(), PartnerId::new());
        let default = named(Some(BuiltinModel::Linear), Some(plugin('d')));
        let agree = terms(
            m,
            &[
                (a, named(Some(BuiltinModel::FirstTouch), Some(plugin('a')))),
                (b, named(Some(BuiltinModel::FirstTouch), Some(plugin('a')))),
            ],
            default.clone(),
        );
        let both = touched_by(&[a, b]);
        assert_eq!(
            agree.model_for(m, &agree.in_force(m, chrono::Utc::now()), &both),
            choice(Some(plugin('a')), BuiltinModel::FirstTouch)
        );
        // A plugin named without a model falls back on the merchant's default model.
        let plugin_only = terms(m, &[(a, named(None, Some(plugin('a'))))], default.clone());
        assert_eq!(
            plugin_only.model_for(
                m,
                &plugin_only.in_force(m, chrono::Utc::now()),
                &touched_by(&[a])
            ),
            choice(Some(plugin('a')), BuiltinModel::Linear)
        );
        // Disagreeing (or silent) partnerships leave it to the merchant's default.
        let disagree = terms(
            m,
            &[(a, named(None, Some(plugin('a')))), (b, named(None, None))],
            default,
        );
        assert_eq!(
            disagree.model_for(m, &disagree.in_force(m, chrono::Utc::now()), &both),
            choice(Some(plugin('d')), BuiltinModel::Linear)
        );
        // Nothing named anywhere: last touch, no plugin.
        let silent = terms(m, &[(a, named(None, None))], named(None, None));
        assert_eq!(
            silent.model_for(
                m,
                &silent.in_force(m, chrono::Utc::now()),
                &touched_by(&[a])
            ),
            choice(None, BuiltinModel::LastTouch)
        );
    }

    /// A commission plugin that pays every partner it is asked about the whole sale.
    struct PaysTheWholeSale;

    #[async_trait::async_trait]
    impl Hooks for PaysTheWholeSale {
        async fn attribute(
            &self,
            plugin: &PluginRef,
            _: AttributeInput<'_>,
        ) -> Result<PluginWeights, Fallback> {
            Err(Fallback::new(FallbackCode::NotLoaded, plugin.to_string()))
        }

        async fn commission(
            &self,
            _: &PluginRef,
            input: CommissionInput<'_>,
        ) -> Result<PluginCommission, Fallback> {
            let currency = input.conversion.currency;
            Ok(PluginCommission {
                rule: ModelRef {
                    name: "greedy".into(),
                    version: "1".into(),
                },
                lines: vec![ExternalLine {
                    amount: currency.from_minor(input.conversion.amount_minor),
                    currency: currency.code().to_owned(),
                    description: "the whole sale".into(),
                }],
            })
        }
    }

    #[tokio::test]
    async fn a_commission_over_the_partners_share_falls_back_to_the_terms() {
        let (m, a) = (PartnerId::new(), PartnerId::new());
        let mut pair = terms(m, &[(a, named(None, None))], named(None, None)).pairs[&m][&a].clone();
        pair.commission_plugin = Some(plugin('c'));
        let eur = cosell_core::Currency::parse("EUR").unwrap();
        let conversion = Conversion {
            id: Uuid::now_v7(),
            merchant_id: m,
            customer_ref: "c".into(),
            click_id: None,
            occurred_at: chrono::Utc::now(),
            currency: eur,
            amount_minor: 10_000,
        };
        // One of three partners: 33.33 of the 100.00 sale.
        let credit = PartnerCredit {
            partner_id: a,
            weight: Decimal::new(3333, 4),
            amount_minor: 3_333,
        };
        let base = CommissionBase {
            currency: eur,
            weight: credit.weight,
            lines: vec![commission::SaleLine {
                category: None,
                amount_minor: 3_333,
            }],
            period_revenue_minor: 3_333,
        };
        let before = PeriodTotal {
            revenue_minor: 0,
            conversions: 0,
        };
        let paid = commission(&PaysTheWholeSale, &conversion, &credit, &pair, base, before)
            .await
            .unwrap();
        // The terms' 10% of 33.33, not the plugin's 100.00.
        assert_eq!(paid.amount_minor, 333);
        assert_eq!(paid.rule, None);
        let fallback = paid.plugin.unwrap().fallback.unwrap();
        assert_eq!(fallback.code, FallbackCode::InvalidOutput);
        assert!(
            fallback.message.contains("exceeds the 33.33"),
            "{}",
            fallback.message
        );
    }
}
