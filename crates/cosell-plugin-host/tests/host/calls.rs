//! Misbehaving plugins are contained: errors come back, the breaker trips,
//! and the host keeps serving other plugins.

use super::*;
use cosell_plugin_abi::{CommissionRequest, FitRequest, Journey, PeriodTotals};
use cosell_plugin_host::{CallError, FitOutcome, PluginId, PluginState};
use rust_decimal_macros::dec;
use serde_json::json;

const ATTRIBUTION: &[Capability] = &[Capability::Attribution];

#[tokio::test]
async fn a_panicking_plugin_is_recovered_and_the_host_carries_on()
-> Result<(), Box<dyn std::error::Error>> {
    // The plugin's own panic hook prints a backtrace when RUST_BACKTRACE is
    // set, which can take longer than the tests' usual 200 ms.
    let dir = tempfile::tempdir()?;
    let mut config = HostConfig::new(dir.path());
    config.call_timeout = Duration::from_secs(30);
    let registry = PluginRegistry::new(config);
    let panicking = install(&registry, "fixture-panicking", ATTRIBUTION, json!(null)).await?;
    let healthy = install(&registry, "shapley-attribution", ATTRIBUTION, json!({})).await?;
    let request = attribution_request(dec!(50), &["a", "b"]);

    let error = registry.call_attribution(&panicking.id, &request).await;
    let Err(CallError::Panic(body)) = error else {
        panic!("{error:?}")
    };
    assert!(
        body.message.contains("fixture panics on conversion conv-1"),
        "{}",
        body.message
    );

    let weights = registry
        .call_attribution(&healthy.id, &request)
        .await?
        .weights;
    assert_eq!(
        weights.iter().map(|w| w.weight).sum::<Decimal>(),
        Decimal::ONE
    );
    let stats = registry.stats(&panicking.id).ok_or("no stats")?;
    assert_eq!(
        (stats.calls, stats.failures, stats.state),
        (1, 1, PluginState::Enabled)
    );
    Ok(())
}

#[tokio::test]
async fn a_slow_plugin_times_out_and_is_quarantined_until_re_enabled()
-> Result<(), Box<dyn std::error::Error>> {
    let (_dir, registry) = registry();
    let slow = install(
        &registry,
        "fixture-slow",
        ATTRIBUTION,
        json!({"sleep_ms": 600}),
    )
    .await?;
    let request = attribution_request(dec!(50), &["a"]);
    for _ in 0..3 {
        let error = registry.call_attribution(&slow.id, &request).await;
        assert!(matches!(error, Err(CallError::Timeout(_))), "{error:?}");
    }
    let error = registry.call_attribution(&slow.id, &request).await;
    let Err(CallError::Quarantined { reason, .. }) = error else {
        panic!("{error:?}")
    };
    assert!(reason.contains("timed out"), "{reason}");
    let stats = registry.stats(&slow.id).ok_or("no stats")?;
    assert_eq!(
        (stats.calls, stats.failures, stats.consecutive_failures),
        (3, 3, 3)
    );
    assert!(
        stats.p50.is_some_and(|p| p >= Duration::from_millis(200)),
        "{stats:?}"
    );

    registry
        .configure(&slow.id, &json!({"sleep_ms": 0}))
        .await?;
    registry.enable(&slow.id)?;
    let weights = registry.call_attribution(&slow.id, &request).await?.weights;
    assert_eq!(weights[0].partner_id, "a");
    Ok(())
}

#[tokio::test]
async fn weights_summing_to_1_3_and_a_commission_over_the_share_are_rejected()
-> Result<(), Box<dyn std::error::Error>> {
    let (_dir, registry) = registry();
    let both = &[Capability::Attribution, Capability::Commission];
    let plugin = install(&registry, "fixture-bad-weights", both, json!(null)).await?;
    let error = registry
        .call_attribution(&plugin.id, &attribution_request(dec!(50), &["a", "b"]))
        .await;
    let Err(CallError::InvalidOutput(reason)) = error else {
        panic!("{error:?}")
    };
    assert!(reason.contains("sum to 1.3"), "{reason}");
    assert_eq!(registry.stats(&plugin.id).ok_or("no stats")?.failures, 1);
    // Paying one of three credited partners the whole 100.00 sale is refused.
    let commission = CommissionRequest {
        conversion: attribution_request(dec!(100.00), &[]).conversion,
        partner_id: "a".into(),
        weight: dec!(0.3333),
        attributed_amount: dec!(33.33),
        period: PeriodTotals {
            attributed_revenue: Decimal::ZERO,
            conversions: 0,
        },
    };
    let error = registry.call_commission(&plugin.id, &commission).await;
    let Err(CallError::InvalidOutput(reason)) = error else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("exceeds the 33.33 EUR credited"),
        "{reason}"
    );
    // A model without a fit step says so without counting as a failure.
    assert_eq!(
        registry.fit(&plugin.id, &FitRequest::default()).await?,
        None
    );
    assert_eq!(
        registry
            .stats(&plugin.id)
            .ok_or("no stats")?
            .consecutive_failures,
        2
    );
    Ok(())
}

#[tokio::test]
async fn host_refusals_do_not_count_as_plugin_failures() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut config = HostConfig::new(dir.path());
    config.max_payload_bytes = 600;
    let registry = PluginRegistry::new(config);
    let plugin = install(&registry, "shapley-attribution", ATTRIBUTION, json!({})).await?;

    let partners: Vec<String> = (0..40).map(|i| format!("partner-{i}")).collect();
    let names: Vec<&str> = partners.iter().map(String::as_str).collect();
    let error = registry
        .call_attribution(&plugin.id, &attribution_request(dec!(5), &names))
        .await;
    assert!(
        matches!(error, Err(CallError::PayloadTooLarge { limit: 600, .. })),
        "{error:?}"
    );

    let commission = CommissionRequest {
        conversion: attribution_request(dec!(5), &[]).conversion,
        partner_id: "a".into(),
        weight: Decimal::ONE,
        attributed_amount: dec!(5),
        period: PeriodTotals {
            attributed_revenue: Decimal::ZERO,
            conversions: 0,
        },
    };
    let error = registry.call_commission(&plugin.id, &commission).await;
    assert!(
        matches!(
            error,
            Err(CallError::NoCapability {
                capability: Capability::Commission,
                ..
            })
        ),
        "{error:?}"
    );

    registry.disable(&plugin.id)?;
    let error = registry
        .call_attribution(&plugin.id, &attribution_request(dec!(5), &["a"]))
        .await;
    assert!(matches!(error, Err(CallError::Disabled(_))), "{error:?}");
    registry.enable(&plugin.id)?;
    registry
        .call_attribution(&plugin.id, &attribution_request(dec!(5), &["a"]))
        .await?;

    let stats = registry.stats(&plugin.id).ok_or("no stats")?;
    assert_eq!((stats.calls, stats.failures), (1, 0));
    assert!(stats.p50.is_some() && stats.p99.is_some());
    Ok(())
}

#[tokio::test]
async fn a_call_during_a_long_fit_is_busy_not_a_failure() -> Result<(), Box<dyn std::error::Error>>
{
    let (_dir, registry) = registry();
    let config = json!({"sleep_ms": 0, "fit_sleep_ms": 1_500});
    let plugin = install(&registry, "fixture-slow", ATTRIBUTION, config).await?;
    let fitting = {
        let (registry, id) = (registry.clone(), plugin.id.clone());
        tokio::spawn(async move { registry.fit(&id, &FitRequest::default()).await })
    };
    // Well inside the 1.5 s fit: the call waits its 200 ms for a turn, then gives up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let request = attribution_request(dec!(50), &["a"]);
    for _ in 0..4 {
        let error = registry.call_attribution(&plugin.id, &request).await;
        assert!(matches!(error, Err(CallError::Busy { .. })), "{error:?}");
    }
    let stats = registry.stats(&plugin.id).ok_or("no stats")?;
    // More than the breaker's 3 busy answers, and the plugin was never called.
    assert_eq!(
        (stats.state, stats.calls, stats.failures),
        (PluginState::Enabled, 0, 0)
    );

    assert!(fitting.await??.is_some());
    let weights = registry
        .call_attribution(&plugin.id, &request)
        .await?
        .weights;
    assert_eq!(weights[0].partner_id, "a");
    let fit = registry.stats(&plugin.id).ok_or("no stats")?.last_fit;
    assert!(fit.is_some_and(|f| f.took >= Duration::from_millis(1_500)));
    Ok(())
}

/// The partner a plugin credits in full for a conversion touched by `a` then `b`.
async fn credited(registry: &PluginRegistry, id: &PluginId) -> Result<String, CallError> {
    let request = attribution_request(dec!(50), &["a", "b"]);
    let weights = registry.call_attribution(id, &request).await?.weights;
    assert_eq!(weights.len(), 1, "{weights:?}");
    Ok(weights[0].partner_id.clone())
}

#[tokio::test]
async fn a_reconfiguration_that_times_out_never_goes_live() -> Result<(), Box<dyn std::error::Error>>
{
    let (dir, _) = registry();
    let mut config = HostConfig::new(dir.path());
    config.slow_call_timeout = Duration::from_millis(300);
    let registry = PluginRegistry::new(config);
    let plugin = install(
        &registry,
        "fixture-slow",
        ATTRIBUTION,
        json!({"sleep_ms": 0}),
    )
    .await?;
    assert_eq!(credited(&registry, &plugin.id).await?, "a");

    // The new configuration credits the last partner, but its init outlives the timeout.
    let refused = json!({"sleep_ms": 0, "credit_last": true, "init_sleep_ms": 1_000});
    let error = registry.configure(&plugin.id, &refused).await;
    assert!(matches!(error, Err(CallError::Timeout(_))), "{error:?}");
    // Long after the init has finished, the old configuration is still the one in force.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(credited(&registry, &plugin.id).await?, "a");
    // It confirms its inits, so it was not quarantined, and the next change goes live.
    let stats = registry.stats(&plugin.id).ok_or("no stats")?;
    assert_eq!(stats.state, PluginState::Enabled);
    registry
        .configure(&plugin.id, &json!({"sleep_ms": 0, "credit_last": true}))
        .await?;
    assert_eq!(credited(&registry, &plugin.id).await?, "b");
    Ok(())
}

#[tokio::test]
async fn a_plugin_that_does_not_confirm_its_inits_is_quarantined_when_one_times_out()
-> Result<(), Box<dyn std::error::Error>> {
    let (dir, _) = registry();
    let mut config = HostConfig::new(dir.path());
    config.slow_call_timeout = Duration::from_millis(300);
    let registry = PluginRegistry::new(config);
    let plugin = install(
        &registry,
        "fixture-unconfirmed-init",
        ATTRIBUTION,
        json!({"credit": "a"}),
    )
    .await?;
    assert_eq!(credited(&registry, &plugin.id).await?, "a");

    let refused = json!({"credit": "b", "init_sleep_ms": 1_000});
    let error = registry.configure(&plugin.id, &refused).await;
    assert!(matches!(error, Err(CallError::Timeout(_))), "{error:?}");
    // Its init will swap the refused configuration in when it finishes, and the host
    // cannot stop that: no call reaches the plugin until an operator steps in.
    let PluginState::Quarantined { reason } = registry.stats(&plugin.id).ok_or("no stats")?.state
    else {
        panic!("not quarantined")
    };
    assert!(reason.contains("does not confirm its inits"), "{reason}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let error = credited(&registry, &plugin.id).await;
    assert!(
        matches!(error, Err(CallError::Quarantined { .. })),
        "{error:?}"
    );

    registry
        .configure(&plugin.id, &json!({"credit": "a"}))
        .await?;
    registry.enable(&plugin.id)?;
    assert_eq!(credited(&registry, &plugin.id).await?, "a");
    Ok(())
}

#[tokio::test]
async fn a_fit_that_panics_keeps_the_previous_model() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut config = HostConfig::new(dir.path());
    // As above: a panic with RUST_BACKTRACE set can take a while to print.
    config.call_timeout = Duration::from_secs(30);
    let registry = PluginRegistry::new(config);
    let plugin = install(
        &registry,
        "fixture-panicking",
        ATTRIBUTION,
        json!({"panic_in": "fit"}),
    )
    .await?;
    let journey = |partners: &[&str]| Journey {
        partners: partners.iter().map(|p| (*p).to_owned()).collect(),
        converted: true,
    };
    let fitted = registry
        .fit(
            &plugin.id,
            &FitRequest {
                journeys: vec![journey(&["b"])],
            },
        )
        .await?;
    assert!(fitted.is_some());
    assert_eq!(credited(&registry, &plugin.id).await?, "b");

    // This fit favours `a`, then panics half-way.
    let journeys = vec![journey(&["a"]), journey(&["panic"])];
    let error = registry.fit(&plugin.id, &FitRequest { journeys }).await;
    let Err(CallError::Panic(body)) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(body.message, "fit panics on purpose");
    let stats = registry.stats(&plugin.id).ok_or("no stats")?;
    assert!(
        matches!(
            stats.last_fit.as_ref().map(|f| &f.outcome),
            Some(FitOutcome::Failed(_))
        ),
        "{stats:?}"
    );
    // The previous model is in force, and calls work as before.
    for _ in 0..5 {
        assert_eq!(credited(&registry, &plugin.id).await?, "b");
    }
    let stats = registry.stats(&plugin.id).ok_or("no stats")?;
    assert_eq!(
        (stats.state, stats.failures, stats.consecutive_failures),
        (PluginState::Enabled, 1, 0)
    );
    Ok(())
}

#[tokio::test]
async fn a_panicking_init_is_reported_once_as_a_panic() {
    let (_dir, registry) = registry();
    let error = install(
        &registry,
        "fixture-panicking",
        ATTRIBUTION,
        json!({"panic_in": "init"}),
    )
    .await;
    let Err(error) = error else {
        panic!("installed")
    };
    assert_eq!(
        error.to_string(),
        "plugin init failed: plugin panicked: init panics on purpose"
    );
}
