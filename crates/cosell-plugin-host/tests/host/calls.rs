//! Misbehaving plugins are contained: errors come back, the breaker trips,
//! and the host keeps serving other plugins.

use super::*;
use cosell_plugin_abi::{CommissionRequest, FitRequest, PeriodTotals};
use cosell_plugin_host::{CallError, PluginState};
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
async fn weights_summing_to_1_3_are_rejected() -> Result<(), Box<dyn std::error::Error>> {
    let (_dir, registry) = registry();
    let plugin = install(&registry, "fixture-bad-weights", ATTRIBUTION, json!(null)).await?;
    let error = registry
        .call_attribution(&plugin.id, &attribution_request(dec!(50), &["a", "b"]))
        .await;
    let Err(CallError::InvalidOutput(reason)) = error else {
        panic!("{error:?}")
    };
    assert!(reason.contains("sum to 1.3"), "{reason}");
    assert_eq!(registry.stats(&plugin.id).ok_or("no stats")?.failures, 1);
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
        1
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
