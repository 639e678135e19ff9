//! Partner metrics per period and currency.

use axum::Json;
use axum::extract::State;
use chrono::{Datelike, NaiveDate, NaiveTime};
use cosell_core::PartnerId;
use cosell_core::metrics::Period;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::AppQuery;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// First day of the period.
    #[serde(deserialize_with = "crate::days::day")]
    pub from: NaiveDate,
    /// Last day of the period (inclusive), 9999-12-30 at the latest.
    #[serde(deserialize_with = "crate::days::day")]
    pub to: NaiveDate,
    /// Operators: whose metrics (partners always see their own).
    pub partner_id: Option<uuid::Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MetricsDto {
    pub currency: String,
    /// Conversions in the period whose current attribution result credits the partner as
    /// a referrer.
    pub conversions: u64,
    /// The partner's credited amounts on those conversions, gross of refunds.
    #[schema(value_type = String)]
    pub attributed_revenue: Decimal,
    /// Commission accrued to the partner on those conversions (held, released or paid),
    /// gross of refunds: what refunds reversed or clawed back is not deducted (the
    /// statements show what is owed); refunds show only in `refund_rate`.
    #[schema(value_type = String)]
    pub commission: Decimal,
    /// Refunded share of the attributed revenue, over every refund of those conversions
    /// so far (refunds apply pro rata to credits).
    #[schema(value_type = Option<String>)]
    pub refund_rate: Option<Decimal>,
    /// The partner's own orders as a merchant.
    pub orders: u64,
    /// Share of those orders with at least one credited cross-sell partner.
    #[schema(value_type = Option<String>)]
    pub attach_rate: Option<Decimal>,
    /// Attributed revenue (gross of refunds) per distinct customer of those conversions.
    #[schema(value_type = Option<String>)]
    pub revenue_per_customer: Option<Decimal>,
}

/// The last year a period may end in.
const LAST_YEAR: i32 = 9999;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(partner_metrics))
}

/// A partner's metrics per currency over conversions in a period.
#[utoipa::path(get, path = "/v1/metrics", operation_id = "get_metrics", tag = "settlement",
    params(MetricsQuery), security(("bearer" = [])),
    responses((status = 200, body = Listed<MetricsDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn partner_metrics(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(q): AppQuery<MetricsQuery>,
) -> Result<Json<Listed<MetricsDto>>, ApiError> {
    let partner =
        match (caller.partner_id, q.partner_id) {
            (Some(own), None) => own,
            (Some(own), Some(asked)) if own.0 == asked => own,
            (Some(_), Some(_)) => return Err(ApiError::not_found("partner")),
            (None, Some(asked)) => PartnerId(asked),
            (None, None) => {
                return Err(cosell_core::ValidationErrors::from(
                    cosell_core::ValidationError::new("partner_id", "is required for operators"),
                )
                .into());
            }
        };
    if q.to < q.from {
        return Err(
            cosell_core::ValidationErrors::from(cosell_core::ValidationError::new(
                "to",
                "must not be before from",
            ))
            .into(),
        );
    }
    // The period ends when the day after `to` starts. That day needs a four-digit year:
    // SQLite compares times as text, where "+10000-01-01" sorts before "2026-…", so an end
    // in year 10000 would silently match nothing (and past chrono's last date there is no
    // next day at all).
    let end =
        q.to.succ_opt()
            .filter(|next| next.year() <= LAST_YEAR)
            .ok_or_else(|| {
                cosell_core::ValidationErrors::from(cosell_core::ValidationError::new(
                    "to",
                    format!("must be {LAST_YEAR}-12-30 or earlier"),
                ))
            })?
            .and_time(NaiveTime::MIN)
            .and_utc();
    let period = Period {
        start: q.from.and_time(NaiveTime::MIN).and_utc(),
        end,
    };
    let rows = state.store().partner_metrics(partner, period).await?;
    let items = rows
        .into_iter()
        .map(|(c, m)| {
            Some(MetricsDto {
                currency: c.code().to_owned(),
                conversions: m.conversions,
                attributed_revenue: c.from_minor_sum(m.attributed_revenue_minor)?,
                commission: c.from_minor_sum(m.commission_minor)?,
                refund_rate: m.refund_rate,
                orders: m.orders,
                attach_rate: m.attach_rate,
                revenue_per_customer: m.revenue_per_customer,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(ApiError::internal)?;
    Ok(Json(Listed { items }))
}
