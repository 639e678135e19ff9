//! The OpenAPI document: generated from the routes, committed, and served with an offline UI.

use axum::http::StatusCode;

use crate::support::TestApp;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

#[test]
fn the_committed_spec_matches_the_code() {
    let generated = serde_json::to_string_pretty(&cosell_api::openapi()).unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(SNAPSHOT, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json differs from the code; regenerate it with \
         `cargo run -q -p cosell-server -- openapi > docs/openapi.json` (or UPDATE_OPENAPI=1 cargo test -p cosell-tests openapi)"
    );
}

#[test]
fn every_operation_is_documented_and_secured() {
    let spec = serde_json::to_value(cosell_api::openapi()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    for expected in [
        "/v1/auth/token",
        "/v1/partners",
        "/v1/partners/me",
        "/v1/api-keys",
        "/v1/products",
        "/v1/products/bulk",
        "/v1/relations",
        "/v1/bundles",
        "/v1/partnerships",
        "/v1/offers",
        "/v1/offers/{id}/publish",
    ] {
        assert!(
            paths.contains_key(expected),
            "{expected} missing from the spec"
        );
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has no operation id"
            );
            let public = path == "/v1/auth/token" || !path.starts_with("/v1/");
            assert_eq!(
                op.get("security").is_some(),
                !public,
                "{method} {path}: security should be {}",
                !public
            );
        }
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn the_server_serves_the_spec_and_an_offline_docs_page() {
    let app = TestApp::new().await;
    let served = app.get("/openapi.json", None).await.expect(StatusCode::OK);
    assert_eq!(
        served.body,
        serde_json::to_value(cosell_api::openapi()).unwrap()
    );
    let page = app.get("/docs/", None).await.expect(StatusCode::OK);
    let html = page.body.as_str().unwrap();
    assert!(html.contains("swagger-ui"), "the docs page is Swagger UI");
    assert!(
        !html.contains("https://"),
        "the docs page must not load assets from the network"
    );
    app.get("/docs/swagger-ui-bundle.js", None)
        .await
        .expect(StatusCode::OK);
}

/// Left unset, Swagger UI on any host but localhost fetches a badge from
/// validator.swagger.io: no offline use, and the spec's address leaks.
#[tokio::test]
async fn the_docs_page_never_asks_the_online_validator() {
    let app = TestApp::new().await;
    let initializer = app
        .get("/docs/swagger-initializer.js", None)
        .await
        .expect(StatusCode::OK);
    let script = initializer.body.as_str().unwrap();
    assert!(
        script.contains(r#""validatorUrl": "none""#),
        "the validator must be off: {script}"
    );
    assert!(script.contains(r#""url": "/openapi.json""#), "{script}");
}

/// The schemas say what the server does: optional fields are optional, bounds are real.
#[test]
fn product_schemas_match_what_the_server_accepts() {
    let spec = serde_json::to_value(cosell_api::openapi()).unwrap();
    let create = &spec["components"]["schemas"]["CreateProduct"];
    let required: Vec<&str> = create["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        required,
        ["sku", "title", "category", "price", "unit_cost", "currency"]
    );
    let price = create["properties"]["price"]["description"]
        .as_str()
        .unwrap();
    assert!(price.contains("major units"), "{price}");
    assert!(!price.contains("minor units,"), "{price}");
    for (path, op) in [("/v1/products", "get"), ("/v1/partners", "get")] {
        let params = spec["paths"][path][op]["parameters"].as_array().unwrap();
        let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
        assert_eq!(
            (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
            (&serde_json::json!(1), &serde_json::json!(200)),
            "{path}"
        );
    }
}

/// The `$ref` targets anywhere inside `value`.
fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                out.push(
                    target
                        .trim_start_matches("#/components/schemas/")
                        .to_owned(),
                );
            }
            map.values().for_each(|v| refs(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Request bodies refuse unknown fields (`#[serde(deny_unknown_fields)]`, which the spec
/// shows as `additionalProperties: false`): every object schema a request body reaches,
/// nested ones included, so a new body type cannot silently drop a misspelt field.
#[test]
fn every_request_body_refuses_unknown_fields() {
    let spec = serde_json::to_value(cosell_api::openapi()).unwrap();
    let schemas = &spec["components"]["schemas"];
    let mut pending = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            refs(&op["requestBody"], &mut pending);
        }
    }
    assert!(!pending.is_empty(), "no request body found in the spec");
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let schema = &schemas[&name];
        if schema.get("properties").is_some() {
            assert_eq!(
                schema["additionalProperties"], false,
                "{name} accepts unknown fields"
            );
        }
        refs(schema, &mut pending);
    }
}

/// Every operation of the served document: its method, path with placeholders filled with
/// a syntactically valid id, and the query parameters it declares.
fn operations_with_queries() -> Vec<(axum::http::Method, String, Vec<String>)> {
    let spec = serde_json::to_value(cosell_api::openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|segment| match segment.starts_with('{') {
                true => "0190a0f0-0000-7000-8000-000000000000",
                false => segment,
            })
            .collect::<Vec<_>>()
            .join("/");
        for (method, op) in item.as_object().unwrap() {
            let queries = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            let method = method.to_uppercase().parse().unwrap();
            operations.push((method, concrete.clone(), queries));
        }
    }
    operations
}

#[tokio::test]
async fn every_route_refuses_a_query_parameter_it_does_not_declare() {
    let app = TestApp::new().await;
    let walked = operations_with_queries();
    assert!(walked.len() > 60, "{} operations", walked.len());
    for (method, path, queries) in walked {
        // The public redirect accepts what ad platforms append (gclid, utm_…).
        if path.starts_with("/r/") {
            continue;
        }
        assert!(!queries.contains(&"foo".to_owned()));
        for token in [None, Some(app.operator.as_str())] {
            let body = (method != axum::http::Method::GET).then(|| serde_json::json!({}));
            app.call(method.clone(), &format!("{path}?foo=1"), token, body, &[])
                .await
                .expect_problem(StatusCode::BAD_REQUEST, "malformed_request");
        }
    }
}

#[test]
fn every_keyed_write_declares_the_idempotency_key() {
    let spec = serde_json::to_value(cosell_api::openapi()).unwrap();
    let mut writes = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let declared = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
                .count();
            let keyed = ["post", "put", "patch", "delete"].contains(&method.as_str())
                && op.get("security").is_some();
            writes += usize::from(keyed);
            assert_eq!(declared, usize::from(keyed), "{method} {path}");
        }
    }
    assert!(writes > 40, "{writes} keyed writes");
}

/// The plugin schemas say what the routes do: `config` is optional when installing
/// and is any JSON the plugin accepts, and the routes that call a plugin declare the
/// `502 plugin_failed` and `503 plugin_busy` they answer.
#[test]
fn plugin_schemas_match_what_the_routes_answer() {
    let spec = serde_json::to_value(cosell_api::openapi()).unwrap();
    let schemas = &spec["components"]["schemas"];
    let install = &schemas["InstallPlugin"];
    assert_eq!(
        install["required"],
        serde_json::json!(["path", "sha256", "granted"])
    );
    for (schema, field) in [
        ("InstallPlugin", "config"),
        ("ConfigurePlugin", "config"),
        ("PluginDto", "config"),
        ("CallResult", "output"),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert!(
            property.get("type").is_none(),
            "{schema}.{field}: {property}"
        );
    }
    for (path, op) in [
        ("/v1/plugins/{id}/fit", "post"),
        ("/v1/plugins/{id}/calls", "post"),
        ("/v1/plugins/{id}/contributions", "post"),
    ] {
        let responses = &spec["paths"][path][op]["responses"];
        for status in ["502", "503"] {
            assert!(responses.get(status).is_some(), "{op} {path}: no {status}");
        }
    }
}
