//! `POST /v1/touchpoints`: batches of up to 1,000 impressions, clicks and referrals.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use cosell_core::PartnerId;
use cosell_store::touchpoints::{IngestReport, NewTouchpoint};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Caller;
use crate::error::{ApiError, FieldError, Problem};
use crate::extract::AppJson;
use crate::state::AppState;

/// Most events one request may carry.
pub const MAX_BATCH: usize = 1_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouchpointIn {
    /// The sender's id for the event; a repeated id is stored once.
    pub event_id: String,
    /// The partner that had the contact; a partner reports its own (default: the caller).
    pub partner_id: Option<uuid::Uuid>,
    pub offer_id: Option<uuid::Uuid>,
    /// impression, click or referral.
    pub kind: String,
    pub customer_ref: Option<String>,
    pub click_id: Option<String>,
    /// At most five minutes in the future.
    #[serde(deserialize_with = "crate::instants::instant")]
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TouchpointBatch {
    pub events: Vec<TouchpointIn>,
    /// Store the good events of a batch with bad ones (default false: all or nothing).
    #[serde(default)]
    pub partial: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedEvent {
    pub index: usize,
    pub event_id: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IngestDto {
    /// Events stored by this request.
    pub accepted: usize,
    /// Event ids already stored (or repeated in the batch); accepted once only.
    pub duplicates: Vec<String>,
    /// Refused events (only with `partial`: otherwise the batch is refused whole).
    pub rejected: Vec<RejectedEvent>,
    /// Whether some events were refused and the rest stored.
    pub partial: bool,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest_touchpoints))
}

fn refused(report: IngestReport) -> ApiError {
    let mut error = ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "events_refused",
        format!(
            "{} events are invalid; nothing was stored (send \"partial\": true to store the rest)",
            report.rejected.len()
        ),
    );
    error.errors = report
        .rejected
        .into_iter()
        .map(|r| FieldError {
            field: format!("events[{}]", r.index),
            message: format!("{}: {}", r.code, r.message),
        })
        .collect();
    error
}

/// Report a batch of touchpoints (up to 1,000).
#[utoipa::path(post, path = "/v1/touchpoints", operation_id = "ingest_touchpoints", tag = "tracking",
    request_body = TouchpointBatch, security(("bearer" = [])),
    responses((status = 200, body = IngestDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn ingest_touchpoints(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(batch): AppJson<TouchpointBatch>,
) -> Result<Json<IngestDto>, ApiError> {
    if batch.events.is_empty() || batch.events.len() > MAX_BATCH {
        return Err(
            cosell_core::ValidationErrors::from(cosell_core::ValidationError::new(
                "events",
                format!("send 1 to {MAX_BATCH} events, got {}", batch.events.len()),
            ))
            .into(),
        );
    }
    let own = caller.partner_id;
    let mut events = Vec::with_capacity(batch.events.len());
    for (i, e) in batch.events.into_iter().enumerate() {
        let partner = e.partner_id.map(PartnerId).or(own).ok_or_else(|| {
            cosell_core::ValidationErrors::from(cosell_core::ValidationError::new(
                format!("events[{i}].partner_id"),
                "is required for operators",
            ))
        })?;
        events.push(NewTouchpoint {
            event_id: e.event_id,
            partner_id: partner,
            offer_id: e.offer_id,
            kind: e.kind,
            customer_ref: e.customer_ref,
            click_id: e.click_id,
            occurred_at: e.occurred_at,
        });
    }
    let report = state
        .store()
        .ingest_touchpoints(caller.tenant(), &events, batch.partial, Utc::now())
        .await?;
    if !report.stored {
        return Err(refused(report));
    }
    Ok(Json(IngestDto {
        accepted: report.accepted,
        partial: !report.rejected.is_empty(),
        duplicates: report.duplicates,
        rejected: report
            .rejected
            .into_iter()
            .map(|r| RejectedEvent {
                index: r.index,
                event_id: r.event_id,
                code: r.code.to_owned(),
                message: r.message,
            })
            .collect(),
    }))
}
