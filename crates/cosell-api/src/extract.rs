//! Extractor wrappers whose rejections are problem documents, not axum's plain text.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::IF_MATCH;
use axum::http::{HeaderValue, StatusCode, header::ETAG};
use axum::response::{IntoResponse, Response};

use cosell_store::Expected;

use crate::error::ApiError;

/// JSON body; malformed JSON is a 400 problem, an oversized body a 413 problem.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

/// Query string; bad parameters are a 400 problem. A parameter the route does not declare
/// is refused before this, by `middleware::query_params`.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct AppQuery<T>(pub T);

/// Path parameters; a malformed id is a 400 problem.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct AppPath<T>(pub T);

/// For a PATCH field that can be cleared, with `#[serde(default, deserialize_with =
/// "present")]`: absent is `None` (keep), `null` is `Some(None)` (clear), a value is
/// `Some(Some(value))`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// The version an update expects, from `If-Match: "<version>"`. Updates require it, so a
/// client that never read the resource cannot overwrite someone else's change. RFC 9110
/// compares If-Match strongly: `*` matches any current version, a weak tag (`W/"1"`)
/// matches none (412), and a value that is not a quoted tag is malformed (400).
pub fn expected_version(headers: &HeaderMap) -> Result<Expected, ApiError> {
    let value = headers.get(IF_MATCH).ok_or_else(|| {
        ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "send If-Match with the ETag you read, e.g. If-Match: \"1\"",
        )
    })?;
    let malformed =
        || ApiError::bad_request("If-Match must be an ETag this API issued, e.g. \"3\", or *");
    let value = value.to_str().map_err(|_| malformed())?.trim();
    if value == "*" {
        return Ok(Expected::Any);
    }
    let (weak, tag) = match value.strip_prefix("W/") {
        Some(tag) => (true, tag),
        None => (false, value),
    };
    let version = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .ok_or_else(malformed)?;
    Ok(if weak {
        Expected::Never
    } else {
        Expected::Version(version)
    })
}

/// A JSON response carrying its resource version as a strong ETag.
#[derive(Debug)]
pub struct Tagged<T>(pub i32, pub T);

impl<T: serde::Serialize> IntoResponse for Tagged<T> {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self.1).into_response();
        if let Ok(tag) = HeaderValue::from_str(&format!("\"{}\"", self.0)) {
            response.headers_mut().insert(ETAG, tag);
        }
        response
    }
}

/// `(201 Created, body with ETag)`.
pub fn created<T: serde::Serialize>(version: i32, body: T) -> Response {
    (StatusCode::CREATED, Tagged(version, body)).into_response()
}
