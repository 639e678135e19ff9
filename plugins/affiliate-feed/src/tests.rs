//! Unit tests: feed parsing, row validation and the plugin's configuration.

use super::*;
use cosell_plugin_sdk::abi::RelationKind;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const CSV: &str = "\
sku,name,price,currency,url,complements,accessories
cam-1,Camera,499.00,EUR,https://shop.example/cam-1,bag-1,lens-1|strap-1
bag-1,Camera bag,49.90,EUR,,cam-1,
lens-1,Lens,-3,EUR,,,
strap-1,Strap,9.99,EUR,,,
strap-1,Strap again,9.99,EUR,,,
tripod,Tripod,59.00,eur,,,
";

fn contribution(rows: Vec<feed::Numbered>) -> CatalogContribution {
    rows::contribution(rows)
}

fn lines(c: &CatalogContribution) -> Vec<u64> {
    c.rejected.iter().map(|r| r.line).collect()
}

#[test]
fn bad_csv_rows_are_skipped_whole_with_their_lines() -> Result<(), String> {
    let c = contribution(feed::parse_csv(CSV)?);
    // lens-1 (line 4) has a negative price, so cam-1 (line 2), which needs it
    // as an accessory, is rejected too, and then bag-1 (line 3), which
    // complements cam-1. Line 6 repeats a SKU, line 7 has a bad currency.
    assert_eq!(lines(&c), [2, 3, 4, 6, 7]);
    assert!(
        c.rejected[2].message.contains("negative"),
        "{:?}",
        c.rejected
    );
    assert!(c.rejected[0].message.contains("lens-1"), "{:?}", c.rejected);
    assert_eq!(c.products.len(), 1);
    assert_eq!(
        (c.products[0].sku.as_str(), c.products[0].price),
        ("strap-1", dec!(9.99))
    );
    assert!(c.relations.is_empty());
    Ok(())
}

#[test]
fn valid_csv_rows_bring_their_relations() -> Result<(), String> {
    let fixed = CSV.replace("Lens,-3", "Lens,120");
    let c = contribution(feed::parse_csv(&fixed)?);
    assert_eq!(lines(&c), [6, 7]);
    let kinds: Vec<(&str, &str, RelationKind)> = c
        .relations
        .iter()
        .map(|r| (r.from_sku.as_str(), r.to_sku.as_str(), r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("cam-1", "bag-1", RelationKind::Complementary),
            ("cam-1", "lens-1", RelationKind::Accessory),
            ("cam-1", "strap-1", RelationKind::Accessory),
            ("bag-1", "cam-1", RelationKind::Complementary),
        ]
    );
    assert_eq!(
        c.products[0].url.as_deref(),
        Some("https://shop.example/cam-1")
    );
    Ok(())
}

#[test]
fn json_feeds_report_record_numbers() -> Result<(), String> {
    let json = r#"[
        {"sku":"a","name":"A","price":"1.50","currency":"USD","accessories":["b"]},
        {"sku":"b","name":"B","price":"2","currency":"USD"},
        {"sku":"c","name":"","price":"2","currency":"USD"},
        {"sku":"d","name":"D","price":2,"currency":"USD"},
        {"sku":"e","name":"E","price":"2","currency":"USD","colour":"red"}
    ]"#;
    let c = contribution(feed::parse_json(json)?);
    assert_eq!(lines(&c), [3, 4, 5]);
    assert_eq!(c.products.len(), 2);
    assert!(feed::parse_json("{}").is_err());
    Ok(())
}

/// What the host's catalog would refuse is rejected here, row by row: one such row used to
/// fail the whole contribution (422 `invalid_contribution`).
#[test]
fn prices_too_fine_for_the_currency_and_unknown_currencies_are_rejected() -> Result<(), String> {
    let csv = "sku,name,price,currency,url,complements,accessories
a,A,199.999,EUR,,,
b,B,100.5,JPY,,,
c,C,10,ZZZ,,,
d,D,199.990,EUR,,,
e,E,100,JPY,,,
f,F,1.234,BHD,,,
";
    let c = contribution(feed::parse_csv(csv)?);
    assert_eq!(lines(&c), [2, 3, 4]);
    assert!(
        c.rejected[0].message.contains("2 decimal places for EUR"),
        "{:?}",
        c.rejected
    );
    assert!(c.rejected[1].message.contains("0 decimal places for JPY"));
    assert!(c.rejected[2].message.contains("`ZZZ`"));
    let kept: Vec<(&str, Decimal)> = c
        .products
        .iter()
        .map(|p| (p.sku.as_str(), p.price))
        .collect();
    assert_eq!(
        kept,
        [("d", dec!(199.990)), ("e", dec!(100)), ("f", dec!(1.234))]
    );
    Ok(())
}

/// The README's example feed in `lang`: the first such block under "Feed format".
fn readme_example(lang: &str) -> Result<&'static str, String> {
    let readme = include_str!("../README.md");
    let section = readme
        .find("## Feed format")
        .ok_or("no feed format section")?;
    let readme = &readme[section..];
    let fence = format!("```{lang}\n");
    let start = readme.find(&fence).ok_or(format!("no {lang} example"))? + fence.len();
    let len = readme[start..].find("```").ok_or("unclosed example")?;
    Ok(&readme[start..start + len])
}

#[test]
fn the_readmes_examples_are_imported_whole() -> Result<(), String> {
    let csv = contribution(feed::parse_csv(readme_example("csv")?)?);
    assert!(csv.rejected.is_empty(), "{:?}", csv.rejected);
    assert_eq!((csv.products.len(), csv.relations.len()), (4, 4));
    let json = contribution(feed::parse_json(readme_example("json")?)?);
    assert!(json.rejected.is_empty(), "{:?}", json.rejected);
    assert_eq!((json.products.len(), json.relations.len()), (2, 1));
    Ok(())
}

#[test]
fn self_relations_and_bad_urls_are_refused() -> Result<(), String> {
    let csv =
        "sku,name,price,currency,url,complements,accessories\na,A,1,EUR,,a,\nb,B,1,EUR,ftp://x,,\n";
    assert_eq!(lines(&contribution(feed::parse_csv(csv)?)), [2, 3]);
    Ok(())
}

#[test]
fn the_plugin_reads_the_configured_file() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("feed.csv");
    std::fs::write(&path, CSV)?;
    let plugin = AffiliateFeed::init(FeedConfig {
        path: path.clone(),
        format: None,
    })?;
    let c = plugin.contribute(&CatalogRequest {
        owner_partner_id: "p1".into(),
    })?;
    assert_eq!(c.products.len(), 1);

    let missing = AffiliateFeed::init(FeedConfig {
        path: dir.path().join("nope.csv"),
        format: None,
    });
    assert!(missing.is_err());
    let unknown = AffiliateFeed::init(FeedConfig {
        path: dir.path().join("feed.txt"),
        format: None,
    });
    assert!(unknown.is_err());
    Ok(())
}
