//! The `cosell` binary as an operator uses it: first start on a fresh data directory, the
//! first operator key, plain error messages, the printed OpenAPI document, importing
//! conversions from a file, and plugins that hang.

// A test binary reports failure by panicking: helpers unwrap freely.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../cosell-plugin-host/tests/support/build_plugins.rs"]
mod build_plugins;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

fn cosell(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cosell"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("COSELL_JWT_SECRET")
        .env("COSELL_DATA_DIR", data_dir);
    command
}

/// Asserts that a command succeeded, showing what it said otherwise.
fn succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `GET /readyz` with a raw HTTP/1.1 request until it answers 200.
fn wait_ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream
                .write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 200") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn first_start_creates_the_database_and_a_private_signing_secret() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = cosell(&data)
        .args(["api-key", "create", "--operator", "--name", "admin"])
        .output()
        .unwrap();
    succeeded(&key);
    let secret = String::from_utf8(key.stdout).unwrap();
    assert!(
        secret.trim().starts_with("csk_"),
        "the key is printed on stdout: {secret}"
    );
    // Created with 8 KiB pages: the page size is the big-endian u16 at offset 16.
    let header = std::fs::read(data.join("cosell.db")).unwrap();
    assert_eq!(u16::from_be_bytes([header[16], header[17]]), 8192);
    // The command closed the database: its write-ahead log is in the file, not beside it.
    assert!(!data.join("cosell.db-wal").exists());

    let port = free_port();
    let server = cosell(&data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = wait_ready(port);
    // SIGTERM: the server stops gracefully and closes the database as a command does.
    let stopped = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let output = server.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(ready, "the server never became ready: {log}");
    assert!(output.status.success() && log.contains("stopped"), "{log}");
    assert!(!data.join("cosell.db-wal").exists(), "{log}");

    let secret_file = data.join("jwt-secret");
    let stored = std::fs::read_to_string(&secret_file).unwrap();
    assert!(stored.len() >= 32);
    assert!(
        !log.contains(stored.trim()),
        "the signing secret must never be logged"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secret_file), 0o600);
        // The database and its directory are as private as the secret.
        assert_eq!(mode(&data.join("cosell.db")), 0o600);
        assert_eq!(mode(&data), 0o700);
    }
}

#[test]
fn serve_refuses_a_token_lifetime_below_one_second() {
    let dir = tempfile::tempdir().unwrap();
    for ttl in ["0", "-60"] {
        let message = serve_refusal(dir.path(), "COSELL_TOKEN_TTL_SECONDS", ttl);
        assert!(message.contains("token-ttl-seconds"), "{message}");
        assert!(message.contains("not in 1.."), "{message}");
    }
}

/// Runs `cosell serve` on `data` with `variable=value`, which it must refuse: returns its
/// message. A server that starts anyway is stopped and the test fails (rather than hangs).
fn serve_refusal(data: &Path, variable: &str, value: &str) -> String {
    let mut server = cosell(data)
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env(variable, value)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if server.try_wait().unwrap().is_none() {
        server.kill().unwrap();
        panic!("serve started with {variable}={value}");
    }
    let output = server.wait_with_output().unwrap();
    let message = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{message}");
    message
}

/// A limit at which every request (or every plugin call) would be refused stops `serve`
/// at start, as a token lifetime of 0 does, instead of a server answering 408 or 413 to
/// everything.
#[test]
fn serve_refuses_limits_that_would_refuse_every_request() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, flag) in [
        ("COSELL_REQUEST_TIMEOUT_SECONDS", "request-timeout-seconds"),
        ("COSELL_MAX_BODY_BYTES", "max-body-bytes"),
        ("COSELL_PLUGIN_CALL_TIMEOUT_MS", "plugin-call-timeout-ms"),
        (
            "COSELL_PLUGIN_SLOW_CALL_TIMEOUT_SECONDS",
            "plugin-slow-call-timeout-seconds",
        ),
        (
            "COSELL_PLUGIN_MAX_PAYLOAD_BYTES",
            "plugin-max-payload-bytes",
        ),
    ] {
        let message = serve_refusal(dir.path(), variable, "0");
        assert!(
            message.contains(flag) && message.contains("not in 1.."),
            "{message}"
        );
    }
}

/// The return-rate guardrail's threshold is a share, as a profile's return rate is: 1.5
/// or NaN turned the guardrail off without a word, a negative one suppressed everyone.
#[test]
fn serve_refuses_a_return_rate_threshold_outside_zero_to_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for threshold in ["1.5", "NaN", "-0.1", "inf", "much"] {
        let message = serve_refusal(&data, "COSELL_RETURN_RATE_THRESHOLD", threshold);
        assert!(
            message.contains("--return-rate-threshold") && message.contains("0 to 1"),
            "{message}"
        );
    }
}

/// A minimum support of 0 was mined as 1 without a word, counting every item and pair
/// that occurs as frequent; every command that mines refuses it, through the one parser,
/// naming the flag.
#[test]
fn a_minimum_support_of_zero_is_refused_by_every_command_that_mines() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let refused = |message: &str, flag: &str, value: &str| {
        message.contains(&format!("for '{flag} <"))
            && message.contains(&format!(
                "expected a whole number of baskets, 1 or more, not `{value}`"
            ))
    };
    let message = serve_refusal(&data, "COSELL_MODEL_MIN_SUPPORT", "0");
    assert!(refused(&message, "--model-min-support", "0"), "{message}");

    let baskets = dir.path().join("b.csv");
    std::fs::write(&baskets, "milk,bread\nmilk,eggs\n").unwrap();
    let file = baskets.to_str().unwrap();
    for (args, flag, value) in [
        (
            vec!["serve", "--model-min-support", "0"],
            "--model-min-support",
            "0",
        ),
        (
            vec!["import", "baskets", file, "--min-support", "0"],
            "--min-support",
            "0",
        ),
        (
            vec![
                "eval",
                "recommendations",
                "--data",
                file,
                "--min-support",
                "0",
            ],
            "--min-support",
            "0",
        ),
        (
            vec![
                "eval",
                "recommendations",
                "--data",
                file,
                "--min-support=-1",
            ],
            "--min-support",
            "-1",
        ),
    ] {
        let out = cosell(&data).args(&args).output().unwrap();
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(refused(&message, flag, value), "{args:?}: {message}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    assert!(!data.exists(), "a refused minimum touches nothing");
}

/// A previous signing secret is held to the current one's rule before anything is
/// touched, and an empty entry (an empty variable, a stray comma) names no secret: it was
/// a key with which anyone could sign a token the server accepted.
#[test]
fn serve_checks_previous_signing_secrets_and_ignores_empty_entries() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let message = serve_refusal(&data, "COSELL_JWT_PREVIOUS_SECRETS", "short");
    assert!(
        message.contains("COSELL_JWT_PREVIOUS_SECRETS: secret 1 of 1 is shorter than 32 bytes"),
        "{message}"
    );
    assert!(!data.exists(), "a refused configuration touches nothing");
    for previous in ["", &format!("{},", "s".repeat(32))] {
        let port = free_port();
        let mut server = cosell(&data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("COSELL_JWT_PREVIOUS_SECRETS", previous)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = wait_ready(port);
        server.kill().unwrap();
        server.wait().unwrap();
        assert!(
            ready,
            "serve refused COSELL_JWT_PREVIOUS_SECRETS={previous:?}"
        );
    }
}

/// Runs `cosell partner create` with these fields.
fn create_partner(data_dir: &std::path::Path, slug: &str, email: &str) -> std::process::Output {
    cosell(data_dir)
        .args([
            "partner", "create", "--name", "Acme", "--slug", slug, "--email", email,
        ])
        .output()
        .unwrap()
}

#[test]
fn bad_input_gets_a_plain_message_and_a_failing_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = create_partner(dir.path(), "Not Valid", "x");
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("slug: must be"), "{message}");
    assert!(message.contains("contact_email"), "{message}");

    let out = create_partner(dir.path(), "acme", "ops@acme.test");
    succeeded(&out);
    let again = create_partner(dir.path(), "acme", "ops@acme.test");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("the slug 'acme' is taken"));
}

#[test]
fn api_key_create_needs_an_owner_and_a_name_as_the_api_does() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |args: &[&str]| {
        let out = cosell(dir.path())
            .args(["api-key", "create"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?} printed a secret");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let missing = refused(&[]);
    assert!(missing.contains("--operator"), "{missing}");
    assert!(missing.contains("--partner"), "{missing}");
    let both = refused(&[
        "--operator",
        "--partner",
        "01a21848-3115-77c3-829c-25fc9c41eff7",
    ]);
    assert!(both.contains("cannot be used with"), "{both}");
    for name in ["", "   "] {
        let empty = refused(&["--operator", "--name", name]);
        assert!(empty.contains("name: must not be empty"), "{empty}");
    }
    let long = refused(&["--operator", "--name", &"k".repeat(101)]);
    assert!(
        long.contains("name: must be at most 100 characters"),
        "{long}"
    );
    assert!(
        !dir.path().join("cosell.db").exists(),
        "refused before the database is opened"
    );
}

#[test]
fn partner_create_prints_the_json_line_its_help_describes() {
    let dir = tempfile::tempdir().unwrap();
    let help = cosell(dir.path())
        .args(["partner", "create", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains(r#"print it as one JSON line, `{"id":…,"slug":…,"name":…}`"#),
        "{help}"
    );
    let out = create_partner(dir.path(), "acme", "ops@acme.test");
    let printed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(printed.lines().count(), 1, "{printed}");
    let created: serde_json::Value = serde_json::from_str(&printed).unwrap();
    let mut keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["id", "name", "slug"]);
    // The README's next step takes that id.
    let key = cosell(dir.path())
        .args(["api-key", "create", "--partner"])
        .arg(created["id"].as_str().unwrap())
        .output()
        .unwrap();
    succeeded(&key);
}

/// `COSELL_NO_MIGRATE=1`, as deployments write flags, is understood: a database whose
/// schema is behind is refused with the step to take, not the variable's value.
#[test]
fn no_migrate_from_the_environment_refuses_a_schema_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = cosell(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("COSELL_NO_MIGRATE", "1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("behind; run `cosell migrate` first"),
        "{message}"
    );
    // The refusal closed the database, as every command does: no log is left beside it.
    assert!(!dir.path().join("cosell.db-wal").exists());
}

/// A port in use is refused before the database is opened: it was found only after the
/// migrations had run, on a database created for nothing.
#[test]
fn a_serve_that_cannot_listen_touches_no_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let out = cosell(&data)
        .args(["serve", "--listen", &address])
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{message}");
    assert!(
        message.contains(&format!("error: cannot listen on {address}")),
        "{message}"
    );
    assert!(!data.exists(), "the data directory was created: {message}");
}

/// A server that stops after opening the database (here its stored signing secret is
/// refused) still closes it, as every command does: the write-ahead log of the migrations
/// it applied is not left beside `cosell.db`.
#[test]
fn a_serve_that_stops_after_migrating_closes_the_database() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("jwt-secret"), "short").unwrap();
    let out = cosell(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{message}");
    assert!(message.contains("shorter than 32 characters"), "{message}");
    assert!(dir.path().join("cosell.db").exists());
    assert!(!dir.path().join("cosell.db-wal").exists(), "{message}");
}

/// A migration that fails (here the database records one this build does not have) still
/// closes the database: the failure's log is not left beside `cosell.db`. Without the close
/// the log was left or not depending on which thread finished first at exit, about one run
/// in two, so the test makes six.
#[test]
fn a_failed_migration_closes_the_database() {
    use sea_orm::{ConnectionTrait, Database};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for _ in 0..6 {
        let dir = tempfile::tempdir().unwrap();
        succeeded(&cosell(dir.path()).arg("migrate").output().unwrap());
        let url = format!("sqlite://{}", dir.path().join("cosell.db").display());
        runtime.block_on(async {
            let db = Database::connect(&url).await.unwrap();
            db.execute_unprepared(
                "INSERT INTO seaql_migrations (version, applied_at) \
                 VALUES ('m29990101_000001_future', 0)",
            )
            .await
            .unwrap();
            db.close().await.unwrap();
        });
        let out = cosell(dir.path()).arg("migrate").output().unwrap();
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{message}");
        assert!(
            message.contains("cannot apply database migrations"),
            "{message}"
        );
        assert!(!dir.path().join("cosell.db-wal").exists(), "{message}");
    }
}

#[test]
fn openapi_prints_the_served_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = cosell(dir.path()).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed,
        serde_json::to_value(cosell_api::openapi()).unwrap()
    );
}

/// `cosell import conversions` of a merchant's orders (no partnerships: nothing to credit),
/// given as JSON Lines with `n` as the order number and `price` as the one line's price.
fn conversion_lines(merchant: &str, orders: &[(usize, &str)]) -> String {
    orders
        .iter()
        .map(|(n, price)| {
            serde_json::json!({
                "merchant_id": merchant, "order_id": format!("o-{n}"), "customer_ref": format!("c{n}"),
                "occurred_at": "2026-01-01T00:00:00Z", "currency": "EUR",
                "lines": [{ "sku": "A", "quantity": 1, "unit_price": price }]
            })
            .to_string()
                + "\n"
        })
        .collect()
}

/// Runs `cosell import KIND FILE`.
fn import(data_dir: &std::path::Path, kind: &str, file: &std::path::Path) -> std::process::Output {
    cosell(data_dir)
        .arg("import")
        .arg(kind)
        .arg(file)
        .output()
        .unwrap()
}

/// Runs an import that must succeed and end by printing `summary`; returns its stderr.
fn import_ok(
    data_dir: &std::path::Path,
    kind: &str,
    file: &std::path::Path,
    summary: &str,
) -> String {
    let out = import(data_dir, kind, file);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.ends_with(&format!("{summary}\n")), "{printed}");
    stderr
}

/// Runs an import that must fail; returns its message.
fn import_refused(data_dir: &std::path::Path, kind: &str, file: &std::path::Path) -> String {
    let out = import(data_dir, kind, file);
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A new partner's id, from `cosell partner create`.
fn partner_id(data_dir: &std::path::Path, slug: &str) -> String {
    let created = create_partner(data_dir, slug, &format!("ops@{slug}.test"));
    let created: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    created["id"].as_str().unwrap().to_owned()
}

#[test]
fn importing_conversions_replays_a_file_and_names_the_line_it_stops_at() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let shop = &partner_id(&data, "shop");

    // Two chunks of 5,000: the second is checked while the first is written.
    let orders: Vec<(usize, &str)> = (1..=5_001).map(|n| (n, "10.00")).collect();
    let file = dir.path().join("conversions.jsonl");
    std::fs::write(&file, conversion_lines(shop, &orders)).unwrap();
    import_ok(
        &data,
        "conversions",
        &file,
        r#"{"created":5001,"replayed":0}"#,
    );
    import_ok(
        &data,
        "conversions",
        &file,
        r#"{"created":0,"replayed":5001}"#,
    );

    // o-2 at another price conflicts; the chunk's other orders are still handled.
    std::fs::write(
        &file,
        conversion_lines(shop, &[(1, "10.00"), (2, "11.00"), (6_000, "10.00")]),
    )
    .unwrap();
    let message = import_refused(&data, "conversions", &file);
    assert!(
        message.contains("stopped after 1 conversions created and 1 replayed")
            && message
                .contains("conversions.jsonl:2: this order was imported before with another body"),
        "{message}"
    );

    // Refusals name the file's line: a line that is not JSON, a conversion the store
    // refuses (the third line, second of its merchant's batch), an unknown merchant.
    let mut lines = conversion_lines(shop, &[(7_000, "10.00")]);
    lines.push_str("{\"merchant_id\": \"not json\n");
    let unknown = "01a2158b-603e-7199-af58-9235fe01dd3b";
    let refused = [
        (lines, "conversions.jsonl:2: "),
        (
            conversion_lines(shop, &[(7_000, "10.00"), (7_001, "10.00"), (7_002, "-1")]),
            "conversions.jsonl:3: lines[0].unit_price: must not be negative, got -1",
        ),
        (
            conversion_lines(unknown, &[(1, "10.00")]),
            "conversions.jsonl:1: merchant_id 01a2158b-603e-7199-af58-9235fe01dd3b is not a partner",
        ),
        // A field the format does not have is refused, not dropped; each is named by
        // its path, as the API names it.
        (
            conversion_lines(shop, &[(7_000, "10.00")])
                .replace("\"sku\"", "\"discount\":\"1\",\"sku\""),
            "conversions.jsonl:1: lines[0].discount: unknown field `discount`",
        ),
        (
            conversion_lines(shop, &[(7_000, "10.00")])
                .replace("\"quantity\":1", "\"quantity\":\"two\""),
            "conversions.jsonl:1: lines[0].quantity: invalid type: string \"two\"",
        ),
    ];
    for (lines, expected) in refused {
        std::fs::write(&file, lines).unwrap();
        let message = import_refused(&data, "conversions", &file);
        assert!(
            message.contains("stopped after 0 conversions created and 0 replayed")
                && message.contains(expected),
            "{message}"
        );
    }
}

/// Two chunks of 5,000: the second is checked while the first is written. A stop in the
/// second keeps the first, and a re-run finds every event of both stored once.
#[test]
fn importing_touchpoints_keeps_the_chunk_written_before_a_stop() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let blog = partner_id(&data, "blog");
    let event = |n: usize| {
        serde_json::json!({
            "event_id": format!("e-{n}"), "partner_id": blog, "kind": "click",
            "customer_ref": format!("c{n}"), "occurred_at": "2026-01-01T00:00:00Z"
        })
        .to_string()
            + "\n"
    };
    // Event 0 comes again in the second chunk, before its bad line.
    let good: String = (0..5_000).chain([0]).map(event).collect();
    let file = dir.path().join("touchpoints.jsonl");
    std::fs::write(&file, good.clone() + "not json\n").unwrap();
    let message = import_refused(&data, "touchpoints", &file);
    assert!(
        message.contains("stopped after 5000 touchpoints accepted, 0 duplicates")
            && message.contains("touchpoints.jsonl:5002: not valid JSON"),
        "{message}"
    );
    std::fs::write(&file, good + &event(5_000)).unwrap();
    import_ok(
        &data,
        "touchpoints",
        &file,
        r#"{"accepted":1,"duplicates":5001,"rejected":0}"#,
    );
}

#[test]
fn importing_touchpoints_skips_repeated_events_and_reports_refused_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let blog = partner_id(&data, "blog");
    let event = |id: &str, kind: &str, at: &str| {
        serde_json::json!({
            "event_id": id, "partner_id": blog, "kind": kind,
            "customer_ref": "c1", "occurred_at": at
        })
        .to_string()
            + "\n"
    };
    let file = dir.path().join("touchpoints.jsonl");
    std::fs::write(
        &file,
        [
            event("e-1", "click", "2026-01-01T00:00:00Z"),
            event("e-2", "impression", "2026-01-01T00:01:00Z"),
            event("e-3", "click", "2999-01-01T00:00:00Z"),
        ]
        .concat(),
    )
    .unwrap();
    let refused = import_ok(
        &data,
        "touchpoints",
        &file,
        r#"{"accepted":2,"duplicates":0,"rejected":1}"#,
    );
    assert!(
        refused.contains("refused event e-3") && refused.contains("future"),
        "{refused}"
    );
    import_ok(
        &data,
        "touchpoints",
        &file,
        r#"{"accepted":0,"duplicates":2,"rejected":1}"#,
    );
    std::fs::write(
        &file,
        event("e-4", "click", "2026-01-01T00:02:00Z") + "not json\n",
    )
    .unwrap();
    let message = import_refused(&data, "touchpoints", &file);
    assert!(
        message.contains("stopped after 0 touchpoints accepted")
            && message.contains("touchpoints.jsonl:2: not valid JSON")
            && !message.contains("line 1"),
        "{message}"
    );
    // A misspelt customer_ref would leave the touchpoint without its customer.
    let misspelt =
        event("e-5", "click", "2026-01-01T00:03:00Z").replace("customer_ref", "customer");
    std::fs::write(
        &file,
        event("e-4", "click", "2026-01-01T00:02:00Z") + &misspelt,
    )
    .unwrap();
    let message = import_refused(&data, "touchpoints", &file);
    assert!(
        message.contains("touchpoints.jsonl:2: customer: unknown field `customer`")
            && !message.contains("line 1"),
        "{message}"
    );
    // A day where an instant belongs says what is expected, as the API does.
    std::fs::write(&file, event("e-6", "click", "2026-01-01")).unwrap();
    let message = import_refused(&data, "touchpoints", &file);
    assert!(
        message.contains(
            "touchpoints.jsonl:1: occurred_at: expected a date and time with its offset, such as \
             2026-10-31T09:30:00Z, not `2026-01-01`"
        ),
        "{message}"
    );
}

#[test]
fn only_days_that_have_ended_are_settled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let shop = &partner_id(&data, "shop");
    let file = dir.path().join("conversions.jsonl");
    std::fs::write(&file, conversion_lines(shop, &[(1, "10.00")])).unwrap();
    let today = chrono::Utc::now().date_naive().to_string();

    // Refused before the file is read: nothing imported, nothing settled.
    let out = cosell(&data)
        .args(["import", "conversions"])
        .arg(&file)
        .args(["--settle-as-of", &today])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("has not ended yet"), "{message}");
    import_ok(&data, "conversions", &file, r#"{"created":1,"replayed":0}"#);

    let settle = |as_of: &str| cosell(&data).args(["settle", "--as-of", as_of]).output();
    let out = settle(&today).unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains(&format!("the period ending {today} has not ended")),
        "{message}"
    );
    let out = settle("2026-01-31").unwrap();
    succeeded(&out);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["period_end"], "2026-01-31");

    // Without --as-of, yesterday.
    let out = cosell(&data).arg("settle").output().unwrap();
    succeeded(&out);
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let yesterday = chrono::Utc::now().date_naive().pred_opt().unwrap();
    assert_eq!(printed["period_end"], yesterday.to_string());
}

/// A mistyped day is refused as the API refuses it, saying what to write, not with the
/// date parser's "input contains invalid characters".
#[test]
fn a_mistyped_day_is_refused_as_the_api_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("conversions.jsonl");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    for (args, flag, day) in [
        (
            vec!["settle", "--as-of", "2026-1O-31"],
            "--as-of",
            "2026-1O-31",
        ),
        (
            vec!["settle", "--as-of", "2026-10-31T00:00:00Z"],
            "--as-of",
            "2026-10-31T00:00:00Z",
        ),
        (
            vec![
                "import",
                "conversions",
                file,
                "--settle-as-of",
                "31.10.2026",
            ],
            "--settle-as-of",
            "31.10.2026",
        ),
    ] {
        let out = cosell(&data).args(&args).output().unwrap();
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            message.contains(&format!("for '{flag} <"))
                && message.contains(&format!("expected a date such as 2026-10-31, not `{day}`")),
            "{args:?}: {message}"
        );
        assert!(!message.contains("invalid characters"), "{message}");
    }
}

#[test]
fn blank_lines_and_a_byte_order_mark_do_not_stop_an_import() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let shop = &partner_id(&data, "shop");
    let file = dir.path().join("conversions.jsonl");
    let lines = conversion_lines(shop, &[(1, "10.00"), (2, "10.00")]);
    // A BOM before the first line, a gap of spaces, and trailing empty lines.
    let (first, second) = lines.split_once('\n').unwrap();
    std::fs::write(&file, format!("\u{feff}{first}\n   \n{second}\n\n")).unwrap();
    import_ok(&data, "conversions", &file, r#"{"created":2,"replayed":0}"#);
    // The file's own line numbers still name a refused line.
    std::fs::write(&file, format!("\n{}not json\n", lines)).unwrap();
    let message = import_refused(&data, "conversions", &file);
    assert!(message.contains("conversions.jsonl:4"), "{message}");
}

#[test]
fn commands_on_existing_data_refuse_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("typo");
    let file = dir.path().join("touchpoints.jsonl");
    std::fs::write(&file, "").unwrap();
    for args in [
        vec!["settle"],
        vec!["import", "touchpoints", file.to_str().unwrap()],
        vec!["plugin", "list"],
    ] {
        let out = cosell(&typo).args(&args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(message.contains("no database at"), "{args:?}: {message}");
        assert!(!typo.exists(), "{args:?} created the data directory");
    }
    // `migrate` creates it, and then `settle` runs.
    assert!(
        cosell(&typo)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = cosell(&typo).arg("settle").output().unwrap();
    succeeded(&out);
}

#[test]
fn a_negative_minimum_payout_is_refused_as_the_api_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(
        cosell(&data)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    for (arg, why) in [
        ("EUR=-5", "must not be negative"),
        ("EUR=0.001", "decimal places"),
        ("XXX=5", "unknown ISO 4217 currency"),
    ] {
        let out = cosell(&data)
            .args(["settle", "--minimum-payout", arg])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{arg}");
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(message.contains(why), "{arg}: {message}");
    }
}

#[test]
fn a_currency_given_twice_as_a_minimum_payout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    succeeded(&cosell(&data).arg("migrate").output().unwrap());
    let out = cosell(&data)
        .args([
            "settle",
            "--minimum-payout",
            "EUR=50",
            "--minimum-payout",
            "EUR=60",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("EUR is given more than once"), "{message}");
    assert!(out.stdout.is_empty(), "nothing was settled");
    // One minimum per currency runs.
    succeeded(
        &cosell(&data)
            .args([
                "settle",
                "--minimum-payout",
                "EUR=50",
                "--minimum-payout",
                "USD=60",
            ])
            .output()
            .unwrap(),
    );
}

#[test]
fn an_evaluation_needs_k_and_a_test_basket() {
    let dir = tempfile::tempdir().unwrap();
    let baskets = dir.path().join("b.csv");
    let eval = |k: &str| {
        cosell(dir.path())
            .args([
                "eval",
                "recommendations",
                "--min-support",
                "1",
                "--k",
                k,
                "--data",
            ])
            .arg(&baskets)
            .output()
            .unwrap()
    };
    // Three baskets: all train, the fifth would be the first test basket.
    std::fs::write(&baskets, "milk,bread\nmilk,eggs\nbread,eggs\n").unwrap();
    let small = eval("3");
    assert!(!small.status.success());
    let message = String::from_utf8_lossy(&small.stderr);
    assert!(
        message.contains("nothing to evaluate") && message.contains("3 train baskets"),
        "{message}"
    );
    assert!(!String::from_utf8_lossy(&small.stdout).contains('%'));

    std::fs::write(
        &baskets,
        "milk,bread\nmilk,eggs\nbread,eggs\nmilk,bread\nmilk,bread\n",
    )
    .unwrap();
    let zero = eval("0");
    assert!(!zero.status.success());
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--k"));
    let ran = eval("1");
    succeeded(&ran);
    let printed = String::from_utf8_lossy(&ran.stdout);
    assert!(printed.contains("4 train, 1 test"), "{printed}");
}

#[test]
fn importing_a_baskets_file_twice_stores_its_baskets_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    succeeded(&cosell(&data).arg("migrate").output().unwrap());
    let file = dir.path().join("b.csv");
    let import = || {
        let out = import(&data, "baskets", &file);
        succeeded(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    std::fs::write(&file, "milk,bread\nmilk,eggs\nbread,eggs\n").unwrap();
    let first = import();
    assert!(first.contains("all 3 stored baskets"), "{first}");
    let again = import();
    assert!(
        again.contains("was imported before (3 baskets): nothing imported"),
        "{again}"
    );
    // An edited file is another file: its baskets are added.
    std::fs::write(&file, "milk,bread\nmilk,eggs\nbread,eggs\nmilk,bread\n").unwrap();
    let edited = import();
    assert!(edited.contains("imported 4 baskets"), "{edited}");
    assert!(edited.contains("all 7 stored baskets"), "{edited}");
}

/// The `fixture-slow` plugin library (built once) and its SHA-256.
fn slow_plugin() -> &'static (PathBuf, String) {
    static BUILT: OnceLock<(PathBuf, String)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let built = build_plugins::build_cdylibs(&["fixture-slow"], false).unwrap();
        let library = built["fixture-slow"].clone();
        let sha256 = hex::encode(Sha256::digest(std::fs::read(&library).unwrap()));
        (library, sha256)
    })
}

/// A migrated data directory with `fixture-slow` installed with `config`; its id.
fn with_slow_plugin(data: &Path, config: &str) -> String {
    assert!(
        cosell(data)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    let (library, sha256) = slow_plugin();
    let out = cosell(data)
        .args(["plugin", "install"])
        .arg(library)
        .args([
            "--sha256",
            sha256,
            "--grant",
            "attribution",
            "--config",
            config,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    sha256.clone()
}

#[test]
fn a_command_exits_when_a_plugin_call_times_out_not_when_the_plugin_returns() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let id = with_slow_plugin(&data, r#"{"sleep_ms": 0}"#);
    let started = Instant::now();
    let out = cosell(&data)
        .args([
            "plugin",
            "--plugin-slow-call-timeout-seconds",
            "1",
            "configure",
            &id,
        ])
        .args(["--config", r#"{"sleep_ms": 0, "init_sleep_ms": 20000}"#])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    // The init runs on for 20 s; the command reports the timeout and exits.
    assert!(took < Duration::from_secs(10), "took {took:?}: {stderr}");
    assert_eq!(stderr.matches("timed out after 1s").count(), 1, "{stderr}");
    // Not a server starting without the plugin: only the command's own error.
    assert!(!stderr.contains("continuing without it"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_stopping_server_does_not_wait_for_a_hung_plugin_fit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The server fits attribution plugins right after start-up: this fit takes a minute.
    with_slow_plugin(&data, r#"{"sleep_ms": 0, "fit_sleep_ms": 60000}"#);
    let port = free_port();
    let server = cosell(&data)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = wait_ready(port);
    // Time for the background fit to reach the plugin.
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    let stopped = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let output = server.wait_with_output().unwrap();
    let took = started.elapsed();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(ready, "the server never became ready: {log}");
    assert!(output.status.success() && log.contains("stopped"), "{log}");
    assert!(took < Duration::from_secs(10), "took {took:?}: {log}");
}

#[test]
fn an_error_says_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let id = with_slow_plugin(&data, r#"{"sleep_ms": 0}"#);
    let stderr = |out: std::process::Output| {
        assert!(!out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };

    let missing = stderr(
        cosell(&data)
            .args([
                "plugin",
                "install",
                "/nonexistent",
                "--sha256",
                &"0".repeat(64),
            ])
            .args(["--grant", "attribution"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        missing.trim(),
        "error: cannot access plugin file /nonexistent: No such file or directory (os error 2)"
    );

    // `sleep_ms` is required.
    let refused = stderr(
        cosell(&data)
            .args(["plugin", "configure", &id, "--config", "{}"])
            .output()
            .unwrap(),
    );
    assert!(
        refused.starts_with("error: plugin init failed: plugin returned error `bad_config`: "),
        "{refused}"
    );
    assert_eq!(refused.matches("bad_config").count(), 1, "{refused}");
    assert_eq!(refused.lines().count(), 1, "{refused}");

    let unreachable = stderr(
        cosell(&data)
            .env("DATABASE_URL", "sqlite:///nonexistent/dir/cosell.db")
            .arg("migrate")
            .output()
            .unwrap(),
    );
    assert!(
        unreachable.contains("cannot connect to the database"),
        "{unreachable}"
    );
    assert_eq!(
        unreachable.matches("unable to open database file").count(),
        1,
        "{unreachable}"
    );
}
