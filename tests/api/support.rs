//! The test application: the real router on a fresh, migrated database per test.
//!
//! SQLite by default (a file in a temporary directory). When `COSELL_TEST_DATABASE_URL`
//! points at a PostgreSQL server, each test creates its own database there and drops it
//! when it ends.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use cosell_api::auth::keys;
use cosell_api::{ApiConfig, AppState, JwtKeys};
use cosell_core::{PartnerId, Role};
use cosell_migrations::{Migrator, MigratorTrait};
use cosell_store::Store;
use cosell_store::api_keys::NewApiKey;
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const SECRET: &str = "test-signing-secret-that-is-long-enough-0123456789";
pub const ISSUER: &str = "cosell";
pub const AUDIENCE: &str = "cosell-api";

/// Where the test's database lives; cleaned up on drop.
enum TestDatabase {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a fresh thread and runtime can block safely.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let admin = Database::connect(&admin_url).await.unwrap();
                    admin
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await
                        .unwrap();
                });
            })
            .join();
        }
    }
}

/// A response, with the body parsed as JSON when it is JSON.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The problem `code`, for error responses.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The fields named by a validation problem, in order.
    pub fn fields(&self) -> Vec<&str> {
        let errors = self.body["errors"].as_array();
        errors
            .into_iter()
            .flatten()
            .map(|e| e["field"].as_str().unwrap_or_default())
            .collect()
    }

    pub fn etag(&self) -> String {
        self.headers["etag"].to_str().unwrap().to_owned()
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap().to_owned()
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a problem document with this status and code.
    #[track_caller]
    pub fn expect_problem(self, status: StatusCode, code: &str) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.headers["content-type"], "application/problem+json",
            "body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert_eq!(
            self.body["type"],
            format!("https://cosell.dev/problems/{code}")
        );
        self
    }
}

/// A JSON request with optional bearer token and extra headers.
fn request(
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}

async fn send_to(router: Router, request: Request<Body>) -> Reply {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Reply {
        status,
        headers,
        body,
    }
}

/// A partner on the test platform with a token of its own.
#[derive(Debug, Clone)]
pub struct TestPartner {
    pub id: String,
    pub token: String,
}

pub struct TestApp {
    pub router: Router,
    /// The state `router` serves: its store and plugin registry.
    pub state: AppState,
    pub store: Store,
    /// Where `store` is connected, for tests that look at the database itself.
    pub database_url: String,
    pub operator: String,
    _database: TestDatabase,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_config(ApiConfig::default()).await
    }

    /// How many rows `table` holds, counted in the database itself.
    pub async fn rows_in(&self, table: &str) -> i64 {
        let db = Database::connect(&self.database_url).await.unwrap();
        let sql = format!("SELECT count(*) AS n FROM {table}");
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get("", "n").unwrap()
    }

    pub async fn with_config(config: ApiConfig) -> TestApp {
        let (url, database) = match std::env::var("COSELL_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("cosell_test_{}", uuid::Uuid::new_v4().simple());
                let admin = Database::connect(&admin_url)
                    .await
                    .expect("COSELL_TEST_DATABASE_URL does not connect");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("COSELL_TEST_DATABASE_URL needs a database path");
                (
                    format!("{base}/{name}"),
                    TestDatabase::Postgres { admin_url, name },
                )
            }
            _ => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("cosell.db").display()
                );
                (url, TestDatabase::Sqlite { _dir: dir })
            }
        };
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let jwt = JwtKeys::new(&SecretString::from(SECRET), &[], ISSUER, AUDIENCE, 900);
        let state = AppState::new(store.clone(), jwt, config);
        let mut app = TestApp {
            router: cosell_api::app(state.clone()),
            state,
            store,
            database_url: url,
            operator: String::new(),
            _database: database,
        };
        let key = app.store_key(Role::Operator, None).await;
        app.operator = app.token_for(&key).await;
        app
    }

    /// Runs the API's clock `days` ahead of the system clock, so that the day `days - 1`
    /// days from now has ended and may be settled: hold periods pass without waiting.
    pub fn days_pass(&self, days: i64) {
        self.state
            .config()
            .clock
            .run_ahead(chrono::Duration::days(days));
    }

    /// Creates an API key straight in the store (as `cosell api-key create` does) and returns its secret.
    pub async fn store_key(&self, role: Role, partner: Option<PartnerId>) -> String {
        let generated = keys::generate().unwrap();
        self.store
            .create_api_key(NewApiKey {
                partner_id: partner,
                role,
                name: "test".into(),
                prefix: generated.prefix,
                secret_hash: generated.hash,
            })
            .await
            .unwrap();
        generated.secret
    }

    pub async fn token_for(&self, api_key: &str) -> String {
        let reply = self
            .post("/v1/auth/token", None, json!({ "api_key": api_key }))
            .await
            .expect(StatusCode::OK);
        reply.body["access_token"].as_str().unwrap().to_owned()
    }

    /// An operator-created partner with a fresh key and token.
    pub async fn partner(&self, slug: &str) -> TestPartner {
        let created = self
            .post(
                "/v1/partners",
                Some(&self.operator),
                json!({ "name": slug.to_uppercase(), "slug": slug, "contact_email": format!("ops@{slug}.test") }),
            )
            .await
            .expect(StatusCode::CREATED);
        let id = created.id();
        let key = self
            .post(
                "/v1/api-keys",
                Some(&self.operator),
                json!({ "name": "main", "partner_id": id }),
            )
            .await
            .expect(StatusCode::CREATED);
        let token = self.token_for(key.body["secret"].as_str().unwrap()).await;
        TestPartner { id, token }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        send_to(self.router.clone(), request).await
    }

    /// A JSON request with optional bearer token and extra headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.send(request(method, path, token, body, headers)).await
    }

    /// A POST on a task of its own: on a multi-threaded runtime, requests spawned
    /// together really run at the same time, not only interleaved.
    pub fn spawn_post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> tokio::task::JoinHandle<Reply> {
        let request = request(Method::POST, path, token, Some(body), &[]);
        tokio::spawn(send_to(self.router.clone(), request))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None, &[]).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body), &[]).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PUT, path, token, Some(body), &[]).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None, &[]).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, etag: &str, body: Value) -> Reply {
        self.call(
            Method::PATCH,
            path,
            token,
            Some(body),
            &[("if-match", etag)],
        )
        .await
    }

    /// A product of `partner` with the given SKU, EUR price and cost, and category.
    pub async fn product(
        &self,
        partner: &TestPartner,
        sku: &str,
        category: &str,
        price: &str,
        cost: &str,
    ) -> String {
        self.post(
            "/v1/products",
            Some(&partner.token),
            json!({ "sku": sku, "title": format!("Product {sku}"), "category": category, "price": price, "unit_cost": cost, "currency": "EUR" }),
        )
        .await
        .expect(StatusCode::CREATED)
        .id()
    }

    /// An active partnership: `inviter` invites `invitee`, who accepts. Returns its id.
    pub async fn partnership(&self, inviter: &TestPartner, invitee: &TestPartner) -> String {
        self.partnership_with_hold(inviter, invitee, 14).await
    }

    /// An active partnership paying 10% in EUR, with a 30-day window and a hold of
    /// `hold_days`. Returns its id.
    pub async fn partnership_with_hold(
        &self,
        inviter: &TestPartner,
        invitee: &TestPartner,
        hold_days: i32,
    ) -> String {
        let terms = json!({ "commission_percent": "10", "currency": "EUR", "attribution_window_days": 30, "hold_days": hold_days });
        self.partnership_on(inviter, invitee, terms).await
    }

    /// An active partnership on `terms` (the invitation's body without `invitee_id`).
    /// Returns its id.
    pub async fn partnership_on(
        &self,
        inviter: &TestPartner,
        invitee: &TestPartner,
        mut terms: Value,
    ) -> String {
        terms["invitee_id"] = json!(invitee.id);
        let invited = self
            .post("/v1/partnerships", Some(&inviter.token), terms)
            .await
            .expect(StatusCode::CREATED);
        let id = invited.id();
        self.post(
            &format!("/v1/partnerships/{id}/accept"),
            Some(&invitee.token),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
        id
    }
}

/// Undoes migration `name` and every one after it, as a database made before `name`.
pub async fn undo_migrations_from(db: &DatabaseConnection, name: &str) {
    let after = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == name)
        .unwrap();
    Migrator::down(db, Some(u32::try_from(after + 1).unwrap()))
        .await
        .unwrap();
}
