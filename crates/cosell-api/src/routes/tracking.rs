//! Tracking links and the public redirect `GET /r/{code}` that records a click.
//!
//! Bots are recognised by a case-insensitive substring of the user agent, from
//! [`BOT_AGENTS`]; their clicks are recorded, flagged and never credited. The IP and
//! user agent are stored only as SHA-256 hashes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cosell_core::catalog::parse_text;
use cosell_core::{OfferId, PartnerId, ValidationErrors};
use cosell_store::tracking::{ClickSeen, LinkChange, NewLink, TrackingLink};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Listed;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::{AppJson, AppPath, Tagged, created, expected_version, present};
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

/// Longest label, in characters.
const LABEL_MAX: usize = 200;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// The merchant whose site the link leads to; needs an active partnership.
    pub merchant_id: uuid::Uuid,
    /// One of the caller's offers, or none for the partnership in general.
    pub offer_id: Option<uuid::Uuid>,
    /// An absolute http(s) URL on the merchant's side.
    pub destination: String,
    /// The partner's own name for the link (at most 200 characters).
    pub label: Option<String>,
}

/// Fields to change; absent fields keep their value, `null` clears `label` or `offer_id`.
/// The code, partner and merchant of a link never change: make a new link instead.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLink {
    /// An absolute http(s) URL on the merchant's side.
    pub destination: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub label: Option<Option<String>>,
    /// One of the caller's offers; `null`: the partnership in general. Clicks recorded
    /// before keep the offer they were recorded with.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub offer_id: Option<Option<uuid::Uuid>>,
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
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Also the ETag: send it as `If-Match` to change the link.
    pub version: i32,
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
            label: l.label,
            created_at: l.created_at,
            archived_at: l.archived_at,
            version: l.version,
        }
    }
}

fn tagged(l: TrackingLink) -> Tagged<LinkDto> {
    Tagged(l.version, l.into())
}

/// Checks a destination: an absolute http(s) URL.
fn destination(value: String, errors: &mut ValidationErrors) -> Option<String> {
    let ok = url::Url::parse(&value)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    if ok {
        Some(value)
    } else {
        errors.push("destination", "must be an absolute http(s) URL");
        None
    }
}

/// Checks a label: trimmed, not empty, at most [`LABEL_MAX`] characters.
fn label(value: Option<String>, errors: &mut ValidationErrors) -> Option<String> {
    value.and_then(|v| errors.take(parse_text("label", &v, LABEL_MAX)))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tracking_link, list_tracking_links))
        .routes(routes!(
            get_tracking_link,
            update_tracking_link,
            archive_tracking_link
        ))
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
) -> Result<Response, ApiError> {
    let partner = caller.partner()?;
    let mut errors = ValidationErrors::default();
    let destination = destination(body.destination, &mut errors);
    let label = label(body.label, &mut errors);
    errors.into_result()?;
    let link = state
        .store()
        .create_tracking_link(
            partner,
            NewLink {
                merchant_id: PartnerId(body.merchant_id),
                offer_id: body.offer_id.map(OfferId),
                destination: destination.unwrap_or_default(),
                label,
            },
        )
        .await?;
    Ok(created(link.version, LinkDto::from(link)))
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
) -> Result<Tagged<LinkDto>, ApiError> {
    Ok(tagged(
        state.store().get_tracking_link(caller.tenant(), id).await?,
    ))
}

/// Change a live tracking link's destination, label or offer (`If-Match` required:
/// 428 without it, 412 when stale). Archived links are final (409 `link_archived`). A change
/// that leaves the link as it is keeps its version and ETag.
#[utoipa::path(patch, path = "/v1/tracking-links/{id}", operation_id = "update_tracking_link", tag = "tracking",
    request_body = UpdateLink, params(("id" = uuid::Uuid, Path), ("If-Match" = String, Header)), security(("bearer" = [])),
    responses((status = 200, body = LinkDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn update_tracking_link(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    AppPath(id): AppPath<uuid::Uuid>,
    AppJson(body): AppJson<UpdateLink>,
) -> Result<Tagged<LinkDto>, ApiError> {
    caller.partner()?;
    let version = expected_version(&headers)?;
    let mut errors = ValidationErrors::default();
    let change = LinkChange {
        destination: body.destination.and_then(|d| destination(d, &mut errors)),
        label: body.label.map(|l| label(l, &mut errors)),
        offer_id: body.offer_id.map(|o| o.map(OfferId)),
    };
    errors.into_result()?;
    let link = state
        .store()
        .update_tracking_link(caller.tenant(), id, version, change)
        .await?;
    Ok(tagged(link))
}

/// Archive a tracking link: its code stops redirecting, its clicks stay on record.
#[utoipa::path(delete, path = "/v1/tracking-links/{id}", operation_id = "archive_tracking_link", tag = "tracking",
    params(("id" = uuid::Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = LinkDto), (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn archive_tracking_link(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<uuid::Uuid>,
) -> Result<Tagged<LinkDto>, ApiError> {
    caller.partner()?;
    Ok(tagged(
        state
            .store()
            .archive_tracking_link(caller.tenant(), id)
            .await?,
    ))
}

/// Follow a tracking link: records the click and redirects (302) to the destination
/// with `cosell_click_id` set (replacing one the destination already has). No
/// authentication. Unknown codes answer 404 and record nothing; so does `HEAD` (link
/// checkers), which answers the same redirect without a click id.
#[utoipa::path(get, path = "/r/{code}", operation_id = "follow_tracking_link", tag = "tracking",
    params(("code" = String, Path)),
    responses((status = 302, description = "Redirect to the destination, with the click id"),
        (status = "4XX", body = Problem, content_type = "application/problem+json")))]
async fn follow_tracking_link(
    State(state): State<AppState>,
    method: Method,
    AppPath(code): AppPath<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // axum answers HEAD with the GET handler: without this, every link checker's HEAD
    // would count as a click.
    if method == Method::HEAD {
        let destination = state
            .store()
            .link_destination(&code)
            .await?
            .ok_or_else(|| ApiError::not_found("tracking link"))?;
        return redirect(&destination, None);
    }
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
    redirect(&click.destination, Some(&click.click_id))
}

/// A 302 to `destination` with `cosell_click_id` set to `click_id`: a click id the
/// destination already carries (a link made from a tracked URL) is replaced, not
/// repeated, so the shop reads this click's id.
fn redirect(destination: &str, click_id: Option<&str>) -> Result<Response, ApiError> {
    let mut target = url::Url::parse(destination).map_err(|_| ApiError::internal())?;
    // The query is rebuilt only when it has the parameter: re-encoding could change
    // how the shop reads its other parameters (`%20` becomes `+`).
    if target.query_pairs().any(|(k, _)| k == CLICK_PARAM) {
        let kept: Vec<(String, String)> = target
            .query_pairs()
            .filter(|(k, _)| k != CLICK_PARAM)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            target.set_query(None);
        } else {
            target.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    if let Some(id) = click_id {
        target.query_pairs_mut().append_pair(CLICK_PARAM, id);
    }
    Ok((StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response())
}
