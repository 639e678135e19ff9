//! The three real plugins, loaded as cdylibs and called through the host.

use super::*;
use cosell_plugin_abi::{CatalogRequest, CommissionRequest, FitRequest, Journey, PeriodTotals};
use cosell_plugin_host::CallError;
use rust_decimal_macros::dec;
use serde_json::json;

fn journeys(partners: &[&str], count: usize, converted: usize) -> Vec<Journey> {
    let partners: Vec<String> = partners.iter().map(|p| (*p).into()).collect();
    (0..count)
        .map(|i| Journey {
            partners: partners.clone(),
            converted: i < converted,
        })
        .collect()
}

#[tokio::test]
async fn shapley_attribution_fits_and_credits_the_readme_example()
-> Result<(), Box<dyn std::error::Error>> {
    let (_dir, registry) = registry();
    let plugin = install(
        &registry,
        "shapley-attribution",
        &[Capability::Attribution],
        json!({"samples": 100}),
    )
    .await?;
    let request = attribution_request(dec!(80), &["A", "B", "A"]);
    let before = registry.call_attribution(&plugin.id, &request).await?;
    assert_eq!(
        before.weights.iter().map(|w| w.weight).collect::<Vec<_>>(),
        [dec!(0.5), dec!(0.5)]
    );

    let data = [
        journeys(&["A"], 10, 2),
        journeys(&["B"], 10, 1),
        journeys(&["A", "B"], 10, 4),
    ]
    .concat();
    let fitted = registry
        .fit(&plugin.id, &FitRequest { journeys: data })
        .await?
        .ok_or("no fit")?;
    assert_eq!((fitted.journeys, fitted.partners), (30, 2));
    let after = registry.call_attribution(&plugin.id, &request).await?;
    let weights: Vec<(&str, Decimal)> = after
        .weights
        .iter()
        .map(|w| (w.partner_id.as_str(), w.weight))
        .collect();
    assert_eq!(weights, [("A", dec!(0.625)), ("B", dec!(0.375))]);
    Ok(())
}

#[tokio::test]
async fn tiered_commission_pays_marginal_tiers() -> Result<(), Box<dyn std::error::Error>> {
    let (_dir, registry) = registry();
    let config =
        json!({"tiers": [{"up_to": "10000", "rate": "0.05"}, {"up_to": null, "rate": "0.07"}]});
    let plugin = install(
        &registry,
        "tiered-commission",
        &[Capability::Commission],
        config,
    )
    .await?;
    let request = CommissionRequest {
        conversion: attribution_request(dec!(1000.00), &[]).conversion,
        partner_id: "p1".into(),
        weight: Decimal::ONE,
        attributed_amount: dec!(1000.00),
        period: PeriodTotals {
            attributed_revenue: dec!(9600.00),
            conversions: 12,
        },
    };
    let lines = registry.call_commission(&plugin.id, &request).await?.lines;
    assert_eq!(
        lines.iter().map(|l| l.amount).collect::<Vec<_>>(),
        [dec!(20.00), dec!(42.00)]
    );

    registry.configure(&plugin.id, &json!({"tiers": [{"up_to": "10000", "rate": "0.05"}, {"up_to": null, "rate": "0.07"}], "mode": "whole_amount"})).await?;
    let lines = registry.call_commission(&plugin.id, &request).await?.lines;
    assert_eq!(
        lines.iter().map(|l| l.amount).collect::<Vec<_>>(),
        [dec!(70.00)]
    );
    // A refused configuration keeps the previous one.
    assert!(
        registry
            .configure(&plugin.id, &json!({"tiers": []}))
            .await
            .is_err()
    );
    assert_eq!(
        registry.call_commission(&plugin.id, &request).await?.lines[0].amount,
        dec!(70.00)
    );
    Ok(())
}

#[tokio::test]
async fn affiliate_feed_contributes_valid_rows_and_reports_bad_ones()
-> Result<(), Box<dyn std::error::Error>> {
    let (dir, registry) = registry();
    let feed = dir.path().join("feed.csv");
    std::fs::write(
        &feed,
        "sku,name,price,currency,url,complements,accessories\n\
         cam-1,Camera,499.00,EUR,,bag-1,lens-1\n\
         bag-1,Camera bag,49.90,EUR,,cam-1,\n\
         lens-1,Lens,120.00,EUR,,,\n\
         broken,Broken,abc,EUR,,,\n",
    )?;
    let plugin = install(
        &registry,
        "affiliate-feed",
        &[Capability::Catalog],
        json!({"path": feed}),
    )
    .await?;
    let contribution = registry
        .call_catalog(
            &plugin.id,
            &CatalogRequest {
                owner_partner_id: "p1".into(),
            },
        )
        .await?;
    let skus: Vec<&str> = contribution
        .products
        .iter()
        .map(|p| p.sku.as_str())
        .collect();
    assert_eq!(skus, ["cam-1", "bag-1", "lens-1"]);
    assert_eq!(contribution.relations.len(), 3);
    assert_eq!(
        contribution
            .rejected
            .iter()
            .map(|r| r.line)
            .collect::<Vec<_>>(),
        [5]
    );

    let removed = registry.remove(&plugin.id).ok_or("was not loaded")?;
    assert!(!removed.path.exists());
    let error = registry
        .call_catalog(&plugin.id, &CatalogRequest::default())
        .await;
    assert!(matches!(error, Err(CallError::NotFound(_))), "{error:?}");
    Ok(())
}
