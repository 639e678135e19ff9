//! Fitting attribution plugins on customer journeys: the last fit as a plugin shows
//! it, and an operator's "fit now". Installs, enables, reconfigurations and the
//! server's schedule fit in the background (`crate::plugins::fit`).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use cosell_plugin_host::{FitOutcome, FitRecord};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::plugins::{PluginDto, id_of, show};
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::AppPath;
use crate::plugins::fit;
use crate::state::AppState;

/// How a fit ended.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FitOutcomeDto {
    /// The model was fitted on `journeys`.
    Fitted,
    /// The model has no fit step.
    Unsupported,
    /// The fit failed (see `error`); the plugin keeps its previous model.
    Failed,
}

/// The last fit of an attribution plugin since it was loaded.
#[derive(Debug, Serialize, ToSchema)]
pub struct FitDto {
    /// When it ended.
    pub at: DateTime<Utc>,
    pub took_ms: u64,
    pub outcome: FitOutcomeDto,
    /// Journeys the plugin fitted on, as it reports.
    pub journeys: Option<u64>,
    /// Distinct partners in them, as it reports.
    pub partners: Option<u64>,
    pub error: Option<String>,
}

impl From<FitRecord> for FitDto {
    fn from(f: FitRecord) -> Self {
        let (outcome, counts, error) = match f.outcome {
            FitOutcome::Fitted { journeys, partners } => {
                (FitOutcomeDto::Fitted, Some((journeys, partners)), None)
            }
            FitOutcome::Unsupported => (FitOutcomeDto::Unsupported, None, None),
            FitOutcome::Failed(error) => (FitOutcomeDto::Failed, None, Some(error)),
        };
        FitDto {
            at: f.at.into(),
            took_ms: u64::try_from(f.took.as_millis()).unwrap_or(u64::MAX),
            outcome,
            journeys: counts.map(|c| c.0),
            partners: counts.map(|c| c.1),
            error,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(fit_plugin))
}

/// Fit an attribution plugin now on the journeys of the configured window (customers
/// touched recently: the partners that touched each, in order, and whether it
/// converted) and show the plugin with its `last_fit`. A failed fit is a `502
/// plugin_failed` and the plugin keeps its previous model.
#[utoipa::path(post, path = "/v1/plugins/{id}/fit", operation_id = "fit_plugin", tag = "plugins",
    params(("id" = String, Path, description = "The library's SHA-256")), security(("bearer" = [])),
    responses((status = 200, body = PluginDto), (status = "4XX", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "`plugin_failed`: the plugin answered an error, panicked, timed out or answered something invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`plugin_busy`: the plugin is being fitted", body = Problem, content_type = "application/problem+json")))]
async fn fit_plugin(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Json<PluginDto>, ApiError> {
    caller.require_operator()?;
    let id = id_of(&id)?;
    crate::plugins::require_loaded(state.store(), state.plugins(), &id).await?;
    fit::fit(
        state.store(),
        state.plugins(),
        &id,
        state.config().plugin_fit,
    )
    .await?;
    show(&state, &id).await
}
