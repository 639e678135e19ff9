//! Refuses a query parameter the route does not declare in the OpenAPI document, before
//! auth and the handler: a misspelt filter or a flag sent in the wrong place
//! (`POST /v1/touchpoints?partial=true`) would otherwise be dropped without a word. The
//! document is the one list of what each operation takes, so spec and behaviour agree.

use std::collections::{HashMap, HashSet};
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use futures::future::Either;
use tower::{Layer, Service};
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

/// Applies [`DeclaredQueries`] to every route (as a route layer, where the matched path is
/// known). A plain service rather than `middleware::from_fn`: the check is synchronous, and
/// on the recommendation endpoint a boxed `Next` and future per request cost more than it.
#[derive(Clone)]
pub struct RefuseUndeclaredLayer(pub Arc<DeclaredQueries>);

impl<S> Layer<S> for RefuseUndeclaredLayer {
    type Service = RefuseUndeclared<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RefuseUndeclared {
            inner,
            declared: Arc::clone(&self.0),
        }
    }
}

#[derive(Clone)]
pub struct RefuseUndeclared<S> {
    inner: S,
    declared: Arc<DeclaredQueries>,
}

impl<S> Service<Request> for RefuseUndeclared<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let path = request.extensions().get::<MatchedPath>();
        let refusal = match (path, request.uri().query()) {
            (Some(path), Some(query)) => {
                self.declared
                    .undeclared(request.method(), path.as_str(), query)
            }
            _ => None,
        };
        match refusal {
            Some(refusal) => Either::Left(ready(Ok(refusal.into_response()))),
            None => Either::Right(self.inner.call(request)),
        }
    }
}
