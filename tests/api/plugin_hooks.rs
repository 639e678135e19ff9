//! Attribution and commission plugins in the conversion pipeline, end to end: the real
//! shapley-attribution and tiered-commission plugins installed into the running app
//! and seen at work through conversions, explanations, re-attribution and statements;
//! the fallback to built-in models and terms, recorded, when a plugin is disabled,
//! slow, wrong or panicking; and the checks on naming a plugin.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::plugins::{api_config, app, app_with, fitted, install, show, switch};
use crate::sales::{convert, minutes, nets, order, settle, touch};
use crate::support::{TestApp, TestPartner};

/// `merchant` invites `referrer` (10%, EUR, 30-day window, 14-day hold) with `extra`
/// terms; `referrer` accepts.
async fn partnership_with(
    app: &TestApp,
    merchant: &TestPartner,
    referrer: &TestPartner,
    extra: Value,
) -> crate::support::Reply {
    let mut body = json!({ "invitee_id": referrer.id, "commission_percent": "10", "currency": "EUR",
                           "attribution_window_days": 30, "hold_days": 14 });
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let invited = app
        .post("/v1/partnerships", Some(&merchant.token), body)
        .await;
    if invited.status == StatusCode::CREATED {
        app.post(
            &format!("/v1/partnerships/{}/accept", invited.id()),
            Some(&referrer.token),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    }
    invited
}

async fn default_model(
    app: &TestApp,
    merchant: &TestPartner,
    choice: Value,
) -> crate::support::Reply {
    app.call(
        Method::PUT,
        "/v1/attribution/default-model",
        Some(&merchant.token),
        Some(choice),
        &[],
    )
    .await
}

/// The current attribution of a conversion, as explained.
async fn explained(app: &TestApp, merchant: &TestPartner, sale: &Value) -> Value {
    let path = format!(
        "/v1/conversions/{}/attribution",
        sale["id"].as_str().unwrap()
    );
    let history = app
        .get(&path, Some(&merchant.token))
        .await
        .expect(StatusCode::OK);
    history.body["items"][0].clone()
}

/// `partners` touch `customer` with a click each, in this order, before now.
async fn touched_by(app: &TestApp, customer: &str, partners: &[&TestPartner]) {
    for (i, partner) in partners.iter().enumerate() {
        let at = minutes(-60 + i64::try_from(i).unwrap());
        touch(
            app,
            partner,
            &format!("{customer}-{i}"),
            "click",
            customer,
            at,
        )
        .await;
    }
}

/// `merchant` sells `customer` one item for `amount` a minute ago (order `o-{customer}`).
async fn sale(app: &TestApp, merchant: &TestPartner, customer: &str, amount: &str) -> Value {
    let body = order(
        &format!("o-{customer}"),
        customer,
        minutes(-1),
        &[("A", 1, amount)],
    );
    convert(app, merchant, body).await
}

/// A conversion as it is stored now.
async fn stored(app: &TestApp, merchant: &TestPartner, sale: &Value) -> Value {
    let path = format!("/v1/conversions/{}", sale["id"].as_str().unwrap());
    let reply = app.get(&path, Some(&merchant.token)).await;
    reply.expect(StatusCode::OK).body
}

/// `(partner, amount, commission)` of each credit, sorted.
fn credits(sale: &Value) -> Vec<(String, String, String)> {
    let mut credits: Vec<_> = sale["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["partner_id"].as_str().unwrap().to_owned(),
                c["amount"].as_str().unwrap().to_owned(),
                c["commission"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    credits.sort();
    credits
}

/// Expected credits, sorted like [`credits`].
fn owned(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = rows
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn shapley_weights_credit_partners_to_the_cent_and_drive_reattribution() {
    let (_dir, app) = app().await;
    let merchant = app.partner("shop").await;
    let alpha = app.partner("alpha").await;
    let beta = app.partner("beta").await;
    app.partnership(&merchant, &alpha).await;
    app.partnership(&merchant, &beta).await;
    // Journeys: {a} converts 1 of 2, {b} 0 of 2, {a, b} 2 of 2 (in either order), so
    // v(a) = 1/2, v(b) = 0, v(ab) = 1: φa = ½·½ + ½·(1 − 0) = 0.75, φb = 0.25.
    let paths: [(&str, &[&TestPartner], bool); 6] = [
        ("j1", &[&alpha], true),
        ("j2", &[&alpha], false),
        ("j3", &[&beta], false),
        ("j4", &[&beta], false),
        ("j5", &[&alpha, &beta], true),
        ("j6", &[&beta, &alpha], true),
    ];
    let mut j5 = Value::Null;
    for (customer, partners, converted) in paths {
        touched_by(&app, customer, partners).await;
        if converted {
            let sold = sale(&app, &merchant, customer, "10.00").await;
            if customer == "j5" {
                j5 = sold;
            }
        }
    }
    assert_eq!(j5["model"], "last_touch");
    assert_eq!(credits(&j5), owned(&[(&beta.id, "10.00", "1.00")]));

    let shapley = install(&app, "shapley-attribution", &["attribution"], json!({}))
        .await
        .expect(StatusCode::CREATED)
        .id();
    // Installing fits it in the background on the window's journeys.
    let installed = fitted(&app, &shapley).await;
    let fit = &installed.body["stats"]["last_fit"];
    assert_eq!(
        (fit["outcome"].as_str(), fit["journeys"].as_u64()),
        (Some("fitted"), Some(6))
    );
    assert_eq!(fit["partners"], 2);
    let chosen = default_model(
        &app,
        &merchant,
        json!({ "model": "last_touch", "plugin_id": shapley }),
    )
    .await
    .expect(StatusCode::OK);
    assert_eq!(chosen.body["plugin_id"], shapley.as_str());

    touched_by(&app, "buyer", &[&alpha, &beta]).await;
    let sold = sale(&app, &merchant, "buyer", "100.01").await;
    // 100.01 × 0.75 = 75.0075 and × 0.25 = 25.0025: the odd cent goes to the larger
    // remainder. Commissions are 10% of each, half to even.
    assert_eq!(sold["model"], "shapley-attribution");
    assert_eq!(
        credits(&sold),
        owned(&[(&alpha.id, "75.01", "7.50"), (&beta.id, "25.00", "2.50")])
    );
    let why = explained(&app, &merchant, &sold).await;
    assert_eq!(why["model_version"], "0.1.0");
    assert_eq!(why["plugin"]["plugin_id"], shapley.as_str());
    assert_eq!(why["plugin"]["used"], true);
    assert_eq!(why["plugin"]["fallback"], Value::Null);
    let mut weights: Vec<&str> = why["partners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["weight"].as_str().unwrap())
        .collect();
    weights.sort_unstable();
    assert_eq!(weights, ["0.250000000000", "0.750000000000"]);

    // Re-attribution asks the plugin too: j5's 10.00, last touch to beta before,
    // now split 7.50 / 2.50.
    let done = app
        .post(
            "/v1/conversions/reattribute",
            Some(&merchant.token),
            json!({ "from": minutes(-120), "to": minutes(1) }),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(done.body["reattributed"], 4);
    let j5 = stored(&app, &merchant, &j5).await;
    assert_eq!(j5["model"], "shapley-attribution");
    assert_eq!(
        credits(&j5),
        owned(&[(&alpha.id, "7.50", "0.75"), (&beta.id, "2.50", "0.25")])
    );

    // An operator can refit at once; the plugin shows the new fit.
    let refit = app
        .post(
            &format!("/v1/plugins/{shapley}/fit"),
            Some(&app.operator),
            json!({}),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(refit.body["stats"]["last_fit"]["journeys"], 7);
}

#[tokio::test]
async fn tiered_commission_pays_marginal_bands_on_statements_to_the_cent() {
    let (_dir, app) = app().await;
    let tiers =
        json!({ "tiers": [{ "up_to": "100", "rate": "0.05" }, { "up_to": null, "rate": "0.07" }] });
    let tiered = install(&app, "tiered-commission", &["commission"], tiers)
        .await
        .expect(StatusCode::CREATED)
        .id();
    let merchant = app.partner("shop").await;
    let referrer = app.partner("blog").await;
    let invited = partnership_with(
        &app,
        &merchant,
        &referrer,
        json!({ "commission_plugin_id": tiered }),
    )
    .await
    .expect(StatusCode::CREATED);
    assert_eq!(invited.body["commission_plugin_id"], tiered.as_str());

    // The period's revenue before each sale: 0, 80, 130.
    // 80.00 at 5% = 4.00; 50.00 = 20 at 5% + 30 at 7% = 1.00 + 2.10; 33.33 at 7% = 2.3331.
    let mut commissions = Vec::new();
    for (n, amount) in ["80.00", "50.00", "33.33"].into_iter().enumerate() {
        let customer = format!("c{n}");
        touched_by(&app, &customer, &[&referrer]).await;
        let sold = sale(&app, &merchant, &customer, amount).await;
        let credit = &sold["credits"][0];
        assert_eq!(credit["commission_rule"], "tiered-commission");
        assert_eq!(credit["commission_plugin"]["used"], true);
        commissions.push(credit["commission"].as_str().unwrap().to_owned());
        if n == 1 {
            let why = explained(&app, &merchant, &sold).await;
            assert_eq!(why["partners"][0]["commission_minor"], 310);
            assert_eq!(why["partners"][0]["commission_rule_version"], "0.1.0");
        }
    }
    assert_eq!(commissions, ["4.00", "3.10", "2.33"]);
    let run = settle(&app, 15).await;
    assert_eq!(nets(&run), vec![(referrer.id.clone(), "9.43".to_owned())]);
}

#[tokio::test]
async fn a_disabled_plugin_falls_back_to_the_built_in_model_and_terms_and_says_so() {
    let (_dir, app) = app().await;
    let shapley = install(&app, "shapley-attribution", &["attribution"], json!({}))
        .await
        .expect(StatusCode::CREATED)
        .id();
    fitted(&app, &shapley).await;
    let flat = json!({ "tiers": [{ "up_to": null, "rate": "0.05" }] });
    let tiered = install(&app, "tiered-commission", &["commission"], flat)
        .await
        .expect(StatusCode::CREATED)
        .id();
    let merchant = app.partner("shop").await;
    let alpha = app.partner("alpha").await;
    let beta = app.partner("beta").await;
    let terms = json!({ "attribution_model": { "model": "first_touch", "plugin_id": shapley },
                        "commission_plugin_id": tiered });
    for referrer in [&alpha, &beta] {
        let p = partnership_with(&app, &merchant, referrer, terms.clone())
            .await
            .expect(StatusCode::CREATED);
        assert_eq!(p.body["attribution_model"]["plugin_id"], shapley.as_str());
    }
    switch(&app, &shapley, "disable").await;
    switch(&app, &tiered, "disable").await;

    touched_by(&app, "c1", &[&alpha, &beta]).await;
    let fallen_back = sale(&app, &merchant, "c1", "90.00").await;
    // First touch, and the partnership's 10% instead of the plugin's 5%.
    assert_eq!(fallen_back["model"], "first_touch");
    assert_eq!(
        credits(&fallen_back),
        owned(&[(&alpha.id, "90.00", "9.00")])
    );
    let credit = &fallen_back["credits"][0];
    assert_eq!(credit["commission_rule"], "partnership_terms");
    assert_eq!(credit["commission_plugin"]["used"], false);
    assert_eq!(credit["commission_plugin"]["fallback"]["code"], "disabled");
    let why = explained(&app, &merchant, &fallen_back).await;
    assert_eq!(
        (why["model"].as_str(), why["model_version"].as_str()),
        (Some("first_touch"), Some("1"))
    );
    assert_eq!(why["plugin"]["plugin_id"], shapley.as_str());
    assert_eq!(why["plugin"]["used"], false);
    assert_eq!(why["plugin"]["fallback"]["code"], "disabled");
    assert!(
        why["plugin"]["fallback"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    assert_eq!(
        why["partners"][0]["commission_plugin"]["fallback"]["code"],
        "disabled"
    );
    // Disabled plugins take no calls at all.
    assert_eq!(show(&app, &tiered).await.body["stats"]["calls"], 0);

    // Enabled again, both answer: the one journey {a, b} converted, so each partner's
    // Shapley value is ½ (fitted or not, the split is equal), and 5% of 45.00 each.
    switch(&app, &shapley, "enable").await;
    switch(&app, &tiered, "enable").await;
    touched_by(&app, "c2", &[&alpha, &beta]).await;
    let sold = sale(&app, &merchant, "c2", "90.00").await;
    assert_eq!(sold["model"], "shapley-attribution");
    assert_eq!(
        credits(&sold),
        owned(&[(&alpha.id, "45.00", "2.25"), (&beta.id, "45.00", "2.25")])
    );
    // The sale recorded while they were disabled keeps its built-in attribution.
    assert_eq!(stored(&app, &merchant, &fallen_back).await, fallen_back);
}

#[tokio::test]
async fn slow_wrong_and_panicking_plugins_fall_back_and_are_quarantined() {
    let (_dir, app) = app_with(|dir| {
        let mut config = api_config(dir);
        // Generous: a panic's report (with a backtrace under RUST_BACKTRACE) takes a
        // while in a debug build, and must not be mistaken for slowness.
        config.plugins.call_timeout = Duration::from_secs(2);
        config.plugins.failure_threshold = 3;
        config
    })
    .await;
    let merchant = app.partner("shop").await;
    let alpha = app.partner("alpha").await;
    let beta = app.partner("beta").await;
    app.partnership(&merchant, &alpha).await;
    app.partnership(&merchant, &beta).await;
    let fixtures: [(&str, &[&str], Value, &str); 3] = [
        (
            "fixture-slow",
            &["attribution"],
            json!({ "sleep_ms": 4_000 }),
            "timeout",
        ),
        (
            "fixture-bad-weights",
            &["attribution", "commission"],
            json!({}),
            "invalid_output",
        ),
        ("fixture-panicking", &["attribution"], json!({}), "panic"),
    ];
    let mut sales = Vec::new();
    for (n, (package, granted, config, code)) in fixtures.into_iter().enumerate() {
        let id = install(&app, package, granted, config)
            .await
            .expect(StatusCode::CREATED)
            .id();
        default_model(
            &app,
            &merchant,
            json!({ "model": "linear", "plugin_id": id }),
        )
        .await
        .expect(StatusCode::OK);
        let customer = format!("c{n}");
        touched_by(&app, &customer, &[&alpha, &beta]).await;
        let sold = sale(&app, &merchant, &customer, "10.01").await;
        // Linear: 5.005 each, the odd cent to the smaller partner id.
        assert_eq!(sold["model"], "linear", "{package}");
        let mut amounts: Vec<String> = credits(&sold).into_iter().map(|c| c.1).collect();
        amounts.sort();
        assert_eq!(amounts, ["5.00", "5.01"], "{package}");
        let why = explained(&app, &merchant, &sold).await;
        assert_eq!(why["plugin"]["fallback"]["code"], code, "{package}: {why}");
        sales.push((id, sold));
    }
    // The panicking plugin's third failure in a row trips its breaker; the next sale
    // does not even call it.
    let (panicking, _) = &sales[2];
    for n in 3..6 {
        let customer = format!("c{n}");
        touched_by(&app, &customer, &[&alpha]).await;
        let sold = sale(&app, &merchant, &customer, "3.00").await;
        let expected = if n < 5 { "panic" } else { "quarantined" };
        let why = explained(&app, &merchant, &sold).await;
        assert_eq!(why["plugin"]["fallback"]["code"], expected);
        assert_eq!(credits(&sold), owned(&[(&alpha.id, "3.00", "0.30")]));
    }
    let shown = show(&app, panicking).await;
    assert_eq!(shown.body["state"], "quarantined");
    assert_eq!(shown.body["stats"]["failures"], 3);
    // Nothing accepted was lost: every sale is stored with its built-in attribution.
    for (_, sold) in &sales {
        assert_eq!(&stored(&app, &merchant, sold).await, sold);
    }
    app.get("/healthz", None).await.expect(StatusCode::OK);
}

#[tokio::test]
async fn a_commission_plugin_cannot_pay_a_partner_more_than_its_share() {
    let (_dir, app) = app().await;
    // It pays every partner it is asked about the whole sale.
    let greedy = install(
        &app,
        "fixture-bad-weights",
        &["attribution", "commission"],
        json!({}),
    )
    .await
    .expect(StatusCode::CREATED)
    .id();
    let merchant = app.partner("shop").await;
    let mut referrers = Vec::new();
    for slug in ["alpha", "beta", "gamma"] {
        let referrer = app.partner(slug).await;
        let terms =
            json!({ "attribution_model": { "model": "linear" }, "commission_plugin_id": greedy });
        partnership_with(&app, &merchant, &referrer, terms)
            .await
            .expect(StatusCode::CREATED);
        referrers.push(referrer);
    }
    let touching: Vec<&TestPartner> = referrers.iter().collect();
    touched_by(&app, "c1", &touching).await;
    let sold = sale(&app, &merchant, "c1", "100.00").await;
    // Each is credited a third; 100.00 each would be 300.00 of commission on a
    // 100.00 sale. The plugin's answer is refused and the terms' 10% paid instead.
    let mut amounts: Vec<String> = credits(&sold).into_iter().map(|c| c.1).collect();
    amounts.sort();
    assert_eq!(amounts, ["33.33", "33.33", "33.34"]);
    for credit in sold["credits"].as_array().unwrap() {
        assert_eq!(credit["commission"], "3.33", "{credit}");
        assert_eq!(credit["commission_rule"], "partnership_terms");
        let fallback = &credit["commission_plugin"]["fallback"];
        assert_eq!(fallback["code"], "invalid_output", "{credit}");
        assert!(
            fallback["message"]
                .as_str()
                .unwrap()
                .contains("exceeds the 33.3"),
            "{credit}"
        );
    }
}

/// `(id, capability)` of each plugin `caller` may name, sorted; only the fields
/// naming needs are shown.
async fn nameable(app: &TestApp, caller: &TestPartner) -> Vec<(String, String)> {
    let reply = app
        .get("/v1/plugins/nameable", Some(&caller.token))
        .await
        .expect(StatusCode::OK);
    let mut rows = Vec::new();
    for item in reply.body["items"].as_array().unwrap() {
        let mut fields: Vec<&String> = item.as_object().unwrap().keys().collect();
        fields.sort();
        assert_eq!(fields, ["capabilities", "id", "name", "vendor", "version"]);
        for capability in item["capabilities"].as_array().unwrap() {
            rows.push((
                item["id"].as_str().unwrap().to_owned(),
                capability.as_str().unwrap().to_owned(),
            ));
        }
    }
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    rows
}

#[tokio::test]
async fn naming_a_plugin_requires_an_enabled_plugin_with_the_capability() {
    let (_dir, app) = app().await;
    let shapley = install(&app, "shapley-attribution", &["attribution"], json!({}))
        .await
        .expect(StatusCode::CREATED)
        .id();
    let tiered = install(
        &app,
        "tiered-commission",
        &["commission"],
        json!({ "tiers": [{ "up_to": null, "rate": "0.05" }] }),
    )
    .await
    .expect(StatusCode::CREATED)
    .id();
    let merchant = app.partner("shop").await;
    let referrer = app.partner("blog").await;
    let model =
        |plugin: &str| json!({ "attribution_model": { "model": "linear", "plugin_id": plugin } });
    // Partners find what they may name (ids and capabilities, not the operator's view).
    let listed = nameable(&app, &merchant).await;
    assert_eq!(
        listed,
        [
            (shapley.clone(), "attribution".to_owned()),
            (tiered.clone(), "commission".to_owned())
        ]
    );

    let unknown = "0".repeat(64);
    partnership_with(&app, &merchant, &referrer, model(&unknown))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_plugin");
    partnership_with(&app, &merchant, &referrer, model(&tiered))
        .await
        .expect_problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "plugin_capability_missing",
        );
    partnership_with(
        &app,
        &merchant,
        &referrer,
        json!({ "commission_plugin_id": shapley }),
    )
    .await
    .expect_problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "plugin_capability_missing",
    );
    let bad = partnership_with(&app, &merchant, &referrer, model("not-a-digest"))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(bad.fields(), ["attribution_model.plugin_id"]);
    switch(&app, &shapley, "disable").await;
    assert_eq!(
        nameable(&app, &referrer).await,
        [(tiered.clone(), "commission".to_owned())]
    );
    let refused = partnership_with(&app, &merchant, &referrer, model(&shapley))
        .await
        .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "plugin_unavailable");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    default_model(
        &app,
        &merchant,
        json!({ "model": "linear", "plugin_id": shapley }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "plugin_unavailable");
    default_model(
        &app,
        &merchant,
        json!({ "model": "linear", "plugin_id": unknown }),
    )
    .await
    .expect_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_plugin");

    // Nothing was created by the refused requests.
    let listed = app
        .get("/v1/partnerships", Some(&merchant.token))
        .await
        .expect(StatusCode::OK);
    assert_eq!(listed.body["items"], json!([]));
}

#[tokio::test]
async fn scheduled_fits_see_new_journeys() {
    let (_dir, app) = app().await;
    let shapley = install(&app, "shapley-attribution", &["attribution"], json!({}))
        .await
        .expect(StatusCode::CREATED)
        .id();
    let installed = fitted(&app, &shapley).await;
    assert_eq!(installed.body["stats"]["last_fit"]["journeys"], 0);
    let partner = app.partner("alpha").await;
    touch(&app, &partner, "e1", "click", "c1", minutes(-5)).await;
    touch(&app, &partner, "e2", "click", "c2", minutes(-4)).await;
    let state = &app.state;
    let schedule = cosell_api::plugins::fit::spawn_fits(
        state.store().clone(),
        state.plugins().clone(),
        Some(Duration::from_millis(50)),
        state.config().plugin_fit,
    );
    let mut journeys = Value::Null;
    for _ in 0..400 {
        journeys = show(&app, &shapley).await.body["stats"]["last_fit"]["journeys"].clone();
        if journeys == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    schedule.abort();
    assert_eq!(journeys, 2);
    app.get("/healthz", None).await.expect(StatusCode::OK);
}
