//! Refuses a query parameter the route does not declare in the OpenAPI document, before
//! auth and the handler: a misspelt filter or a flag sent in the wrong place
//! (`POST /v1/touchpoints?partial=true`) would otherwise be dropped without a word. The
//! document is the one list of what each operation takes, so spec and behaviour agree.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};

use crate::error::ApiError;

/// Routes that take any query: the public tracking redirect is shared on pages and in ads,
/// whose platforms append their own parameters (`utm_source`, `gclid`); refusing them
/// would lose the click.
const ANY_QUERY: &[&str] = &["/r/{code}"];

/// The query parameters each operation declares, by method and path template.
#[derive(Debug, Default)]
pub struct DeclaredQueries(HashMap<(Method, String), HashSet<String>>);

impl DeclaredQueries {
    pub fn from_openapi(api: &OpenApi) -> Arc<Self> {
        let mut declared = HashMap::new();
        for (path, item) in &api.paths.paths {
            let operations = [
                (Method::GET, &item.get),
                (Method::HEAD, &item.head),
                (Method::POST, &item.post),
                (Method::PUT, &item.put),
                (Method::PATCH, &item.patch),
                (Method::DELETE, &item.delete),
            ];
            for (method, operation) in operations {
                if let Some(operation) = operation {
                    declared.insert((method, path.clone()), query_names(operation));
                }
            }
        }
        Arc::new(DeclaredQueries(declared))
    }

    /// The refusal of the first parameter of `query` that the operation does not declare.
    fn undeclared(&self, method: &Method, path: &str, query: &str) -> Option<ApiError> {
        if ANY_QUERY.contains(&path) {
            return None;
        }
        let declared = self.0.get(&(method.clone(), path.to_owned())).or_else(|| {
            // HEAD is answered by the GET handler.
            let get =
                (*method == Method::HEAD).then(|| self.0.get(&(Method::GET, path.to_owned())));
            get.flatten()
        })?;
        let name = url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, _)| name.into_owned())
            .find(|name| !declared.contains(name))?;
        let mut known: Vec<&str> = declared.iter().map(String::as_str).collect();
        known.sort_unstable();
        let takes = match known.is_empty() {
            true => "this route takes no query parameters".to_owned(),
            false => format!("this route takes {}", known.join(", ")),
        };
        // Worded as the query extractors word theirs.
        Some(ApiError::bad_request(format!(
            "unknown field `{name}` in the query string; {takes}"
        )))
    }
}

fn query_names(operation: &Operation) -> HashSet<String> {
    let parameters = operation.parameters.iter().flatten();
    parameters
        .filter_map(|parameter| match parameter {
            RefOr::T(p) if p.parameter_in == ParameterIn::Query => Some(p.name.clone()),
            _ => None,
        })
        .collect()
}

pub async fn refuse_undeclared(
    State(declared): State<Arc<DeclaredQueries>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.extensions().get::<MatchedPath>();
    let unknown = match (path, request.uri().query()) {
        (Some(path), Some(query)) => declared.undeclared(request.method(), path.as_str(), query),
        _ => None,
    };
    match unknown {
        Some(refusal) => refusal.into_response(),
        None => next.run(request).await,
    }
}
