//! Tracking links and the public redirect `GET /r/{code}` that records a click.
//!
//! Bots are recognised by a case-insensitive substring of the user agent, from
//! [`BOT_AGENTS`]; their clicks are recorded, flagged and never credited. The IP and
//! user agent are stored only as SHA-256 hashes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cosell_core::{OfferId, PartnerId};
use cosell_store::tracking::{ClickSeen, NewLink, TrackingLink};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath};
use crate::state::AppState;

/// User-agent fragments of crawlers, link previewers and scripted clients.
pub const BOT_AGENTS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "slurp",
    "facebookexternalhit",
    "embedly",
    "preview",
    "curl",
    "wget",
    "python-requests",
    "httpclient",
    "headless",
    "phantomjs",
];

/// The query parameter carrying the click id to the destination.
pub const CLICK_PARAM: &str = "cosell_click_id";

fn is_bot(user_agent: Option<&str>) -> bool {
    match user_agent {
        None => true,
        Some(ua) => {
            let ua = ua.to_ascii_lowercase();
            BOT_AGENTS.iter().any(|b| ua.contains(b))
        }
    }
}

fn hashed(kind: &str, value: Option<&str>) -> Option<String> {
    value.map(|v| hex::encode(Sha256::digest(format!("cosell:{kind}:{v}"))))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateLink {
    /// The merchant whose site the link leads to; needs an active partnership.
    pub merchant_id: uuid::Uuid,
    /// One of the caller's offers, or none for the partnership in general.
    pub offer_id: Option<uuid::Uuid>,
    /// An absolute http(s) URL on the merchant's side.
    pub destination: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkDto {
    pub id: uuid::Uuid,
    pub code: String,
    /// The path to share: `/r/{code}`.
    pub path: String,
    pub partner_id: uuid::Uuid,
    pub merchant_id: uuid::Uuid,
    pub offer_id: Option<uuid::Uuid>,
    pub destination: String,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

impl From<TrackingLink> for LinkDto {
    fn from(l: TrackingLink) -> Self {
        LinkDto {
            id: l.id,
            path: format!("/r/{}", l.code),
            code: l.code,
            partner_id: l.partner_id.0,
            merchant_id: l.merchant_id.0,
            offer_id: l.offer_id.map(|o| o.0),
            destination: l.destination,
            created_at: l.created_at,
            archived_at: l.archived_at,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tracking_link, list_tracking_links))
        .routes(routes!(get_tracking_link, archive_tracking_link))
        .routes(routes!(follow_tracking_link))
}

/// Create a tracking link to a merchant's page (the referring partner).
#[utoipa::path(post, path = "/v1/tracking-links", operation_id = "create_tracking_link", tag = "tracking",
    request_body = CreateLink, security(("bearer" = [])),
    responses((status = 201, body = LinkDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn create_tracking_link(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(body): AppJson<CreateLink>,
) -> Result<(StatusCode, Json<LinkDto>), ApiError> {
    let partner = caller.partner()?;
    let ok = url::Url::parse(&body.destination)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if !ok {
        return Err(
            cosell_core::ValidationErrors::from(cosell_core::ValidationError::new(
                "destination",
                "must be an absolute http(s) URL",
            ))
            .into(),
        );
    }
    let link = state
        .store()
        .create_tracking_link(
            partner,
            NewLink {
                merchant_id: PartnerId(body.merchant_id),
                offer_id: body.offer_id.map(OfferId),
                destination: body.destination,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(link.into())))
}

/// The caller's tracking links (operators: all).
#[utoipa::path(get, path = "/v1/tracking-links", operation_id = "list_tracking_links", tag = "tracking",
    security(("bearer" = [])),
    responses((status = 200, body = Listed<LinkDto>), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn list_tracking_links(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Listed<LinkDto>>, ApiError> {
    let links = state.store().list_tracking_links(caller.tenant()).await?;
    Ok(Json(Listed {
        items: links.into_iter().map(LinkDto::from).collect(),
    }))
}

/// One of the caller's tracking links.
#[utoipa::path(get, path = "/v1/tracking-links/{id}", operation_id = "get_tracking_link", tag = "tracking",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = LinkDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn get_tracking_link(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<uuid::Uuid>,
) -> Result<Json<LinkDto>, ApiError> {
    Ok(Json(
        state
            .store()
            .get_tracking_link(caller.tenant(), id)
            .await?
            .into(),
    ))
}

/// Archive a tracking link: its code stops redirecting, its clicks stay on record.
#[utoipa::path(delete, path = "/v1/tracking-links/{id}", operation_id = "archive_tracking_link", tag = "tracking",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = LinkDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn archive_tracking_link(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<uuid::Uuid>,
) -> Result<Json<LinkDto>, ApiError> {
    Ok(Json(
        state
            .store()
            .archive_tracking_link(caller.tenant(), id)
            .await?
            .into(),
    ))
}

/// Follow a tracking link: records the click and redirects (302) to the destination
/// with `cosell_click_id` added. No authentication. Unknown codes answer 404 and record
/// nothing.
#[utoipa::path(get, path = "/r/{code}", operation_id = "follow_tracking_link", tag = "tracking",
    params(("code" = String, Path)),
    responses((status = 302, description = "Redirect to the destination, with the click id"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn follow_tracking_link(
    State(state): State<AppState>,
    AppPath(code): AppPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let ip = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    let seen = ClickSeen {
        ip_hash: hashed("ip", ip),
        ua_hash: hashed("ua", user_agent),
        bot: is_bot(user_agent),
        at: Utc::now(),
    };
    let click = state
        .store()
        .record_click(&code, seen)
        .await?
        .ok_or_else(|| ApiError::not_found("tracking link"))?;
    let mut target = url::Url::parse(&click.destination).map_err(|_| ApiError::internal())?;
    target
        .query_pairs_mut()
        .append_pair(CLICK_PARAM, &click.click_id);
    Ok((StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response())
}
