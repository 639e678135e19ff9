//! Every guardrail and exclusion rule of the recommender, each against a baseline in
//! which the same item is recommended, so removing the rule fails its test.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use cosell_core::{Currency, Money};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use uuid::Uuid;

use super::*;
use crate::input::{Anchor, Bundle, CustomerRelationship, EligibilityRule, Impression, Relation};
use crate::model::{MinSupport, ModelBuilder};

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn eur_amount(amount: Decimal) -> Money {
    Money::new(amount, eur()).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
}

/// Any typed id from a small number, so fixtures read as names.
fn id<T: From<Uuid>>(n: u128) -> T {
    T::from(Uuid::from_u128(n))
}

const MERCHANT: u128 = 1;
const ACME: u128 = 2;
const LAPTOP: u128 = 10;
const BAG: u128 = 11;
const MOUSE: u128 = 12;
const TABLET: u128 = 13;
const LAPTOP_PRO: u128 = 14;
const WARRANTY: u128 = 15;
const CABLE: u128 = 16;
const CABLE_ADAPTER: u128 = 17;
const SLEEVE: u128 = 18;
const OFFER: u128 = 100;
const BUNDLE: u128 = 200;

fn product(n: u128, name: &str, category: &str, price: Decimal, cost: Decimal) -> Product {
    Product {
        id: id(n),
        name: name.into(),
        owner: id(MERCHANT),
        category: category.into(),
        price: eur_amount(price),
        unit_cost: eur_amount(cost),
        active: true,
        accessory_type: false,
        item_key: Some(name.to_lowercase()),
    }
}

/// The catalog's parts, kept apart so each test can break exactly one thing.
struct Fixture {
    products: Vec<Product>,
    relations: Vec<Relation>,
    offers: Vec<Offer>,
    bundles: Vec<Bundle>,
    model: CoPurchaseModel,
    /// A contact cap of 10, so the cap does not hide candidates from the other tests.
    config: RecommenderConfig,
}

fn fixture() -> Fixture {
    let mut cable = product(CABLE, "Cable", "cables", dec!(15), dec!(3));
    cable.accessory_type = true;
    let mut adapter = product(CABLE_ADAPTER, "Adapter", "cables", dec!(20), dec!(5));
    adapter.accessory_type = true;
    let mut warranty = product(WARRANTY, "Warranty", "services", dec!(100), dec!(0));
    warranty.owner = id(ACME);
    let products = vec![
        product(LAPTOP, "Laptop 14", "laptops", dec!(1000), dec!(800)),
        product(BAG, "Bag", "bags", dec!(60), dec!(20)),
        product(MOUSE, "Mouse", "mice", dec!(30), dec!(10)),
        product(TABLET, "Tablet", "tablets", dec!(400), dec!(300)),
        product(LAPTOP_PRO, "Laptop 16", "laptops", dec!(1500), dec!(1100)),
        product(SLEEVE, "Sleeve", "bags", dec!(25), dec!(5)),
        warranty,
        cable,
        adapter,
    ];
    let rel = |from, to, kind| Relation::new(id(from), id(to), kind, 1.0).unwrap();
    let relations = vec![
        rel(LAPTOP, BAG, RelationKind::Accessory),
        rel(LAPTOP, SLEEVE, RelationKind::Accessory),
        rel(TABLET, LAPTOP, RelationKind::Complementary),
        rel(LAPTOP, LAPTOP_PRO, RelationKind::Upgrade),
        rel(CABLE, CABLE_ADAPTER, RelationKind::Accessory),
    ];
    let offers = vec![Offer {
        id: id(OFFER),
        partner: id(ACME),
        partner_name: "Acme".into(),
        product: id(WARRANTY),
        anchors: vec![id(LAPTOP)],
        discount_percent: dec!(10),
        // 20 % of the discounted 90.
        commission: dec!(18),
        channels: vec![Channel::Web, Channel::Email],
        paused: false,
        valid_from: now() - Duration::days(1),
        valid_until: Some(now() + Duration::days(30)),
        per_customer_cap: Some(1),
        eligibility: vec![EligibilityRule::parse("region in [EU]").unwrap()],
        excluded_relationships: vec!["auditor".into()],
    }];
    let bundles = vec![Bundle {
        id: id(BUNDLE),
        name: "Laptop + Mouse".into(),
        owner: id(MERCHANT),
        members: vec![id(LAPTOP), id(MOUSE)],
        price: eur_amount(dec!(1010)),
        margin_floor: eur_amount(dec!(150)),
        active: true,
    }];
    // Mouse with laptop in 3 of 6 baskets: lift 6·3/(5·3) = 1.2, confidence 0.6.
    // Acme's warranty is a neighbour too, so a refused offer cannot fall back to
    // selling it on margin.
    let mut b = ModelBuilder::new();
    for basket in [
        &["laptop 14", "mouse", "warranty"][..],
        &["laptop 14", "mouse", "warranty"],
        &["laptop 14", "mouse"],
        &["laptop 14"],
        &["laptop 14"],
        &["bread"],
    ] {
        b.add_basket(basket);
    }
    Fixture {
        products,
        relations,
        offers,
        bundles,
        model: b.snapshot(MinSupport::Count(2)),
        config: RecommenderConfig {
            contact_cap: 10,
            ..RecommenderConfig::default()
        },
    }
}

fn eu_customer() -> CustomerProfile {
    let mut c = CustomerProfile::new([Channel::Web, Channel::Email, Channel::Phone]);
    c.attributes.insert("region".into(), "EU".into());
    c.revenue = dec!(500);
    c.service_cost = dec!(50);
    c
}

fn anchor(f: &Fixture, n: u128) -> Anchor {
    Anchor::from(f.products.iter().find(|p| p.id == id(n)).unwrap())
}

fn run_with(
    f: &Fixture,
    anchors: &[u128],
    customer: Option<&CustomerProfile>,
    channel: Channel,
    limit: Option<usize>,
    moment: Moment,
) -> Outcome {
    let catalog = Catalog::new(
        f.products.clone(),
        &f.relations,
        f.offers.clone(),
        f.bundles.clone(),
    );
    let anchors: Vec<Anchor> = anchors.iter().map(|&n| anchor(f, n)).collect();
    let req = Request {
        merchant: id(MERCHANT),
        anchors: &anchors,
        customer,
        moment,
        channel,
        limit,
        currency: eur(),
        now: now(),
    };
    recommend(&catalog, &f.model, &req, &f.config)
}

fn run(f: &Fixture, customer: &CustomerProfile) -> Vec<Recommendation> {
    items(run_with(
        f,
        &[LAPTOP],
        Some(customer),
        Channel::Web,
        Some(10),
        Moment::Checkout,
    ))
}

/// Recommendations on the web at checkout for the default EU customer, up to 10.
fn for_cart(f: &Fixture, anchors: &[u128]) -> Vec<Recommendation> {
    items(run_with(
        f,
        anchors,
        Some(&eu_customer()),
        Channel::Web,
        Some(10),
        Moment::Checkout,
    ))
}

fn items(outcome: Outcome) -> Vec<Recommendation> {
    match outcome {
        Outcome::Items(items) => items,
        Outcome::Suppressed(s) => panic!("suppressed: {}", s.code()),
    }
}

fn has(items: &[Recommendation], n: u128) -> bool {
    items.iter().any(|r| r.subject == Subject::Product(id(n)))
}

fn has_bundle(items: &[Recommendation]) -> bool {
    items
        .iter()
        .any(|r| r.subject == Subject::Bundle(id(BUNDLE)))
}

fn reasons(items: &[Recommendation], n: u128) -> Vec<String> {
    items
        .iter()
        .find(|r| r.subject == Subject::Product(id(n)))
        .map(|r| r.reasons.iter().map(ToString::to_string).collect())
        .unwrap_or_default()
}

/// The baseline every exclusion test breaks one thing of.
#[test]
fn baseline_recommends_accessories_offers_neighbours_and_bundles_with_reasons() {
    let f = fixture();
    let got = run(&f, &eu_customer());
    for n in [BAG, MOUSE, WARRANTY, TABLET] {
        assert!(has(&got, n), "{n} missing from {got:?}");
    }
    assert!(has_bundle(&got));
    assert_eq!(reasons(&got, BAG), vec!["accessory of Laptop 14"]);
    assert_eq!(
        reasons(&got, MOUSE),
        vec!["bought together with Laptop 14 in 50.0% of baskets, 1.2× more often than chance"]
    );
    assert_eq!(
        reasons(&got, WARRANTY),
        vec![
            "bought together with Laptop 14 in 33.3% of baskets, 1.2× more often than chance",
            "partner offer from Acme, 10% off"
        ]
    );
    let warranty = got
        .iter()
        .find(|r| r.subject == Subject::Product(id(WARRANTY)))
        .unwrap();
    assert_eq!(warranty.price, eur_amount(dec!(90)));
    assert_eq!(
        (warranty.partner, warranty.offer),
        (id(ACME), Some(id(OFFER)))
    );
    assert!(got.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn an_offer_anchored_on_two_cart_items_counts_once() {
    let mut f = fixture();
    f.offers[0].anchors.push(id(CABLE));
    let score = |anchors: &[u128]| {
        let got = items(run_with(
            &f,
            anchors,
            Some(&eu_customer()),
            Channel::Web,
            Some(10),
            Moment::Checkout,
        ));
        got.iter()
            .find(|r| r.subject == Subject::Product(id(WARRANTY)))
            .map(|r| r.score)
            .unwrap()
    };
    assert_eq!(score(&[LAPTOP]), score(&[LAPTOP, CABLE]));
}

#[test]
fn each_guardrail_suppresses_with_its_code() {
    let f = fixture();
    let ok = eu_customer();
    let cases: Vec<(CustomerProfile, Channel, &str)> = vec![
        (
            CustomerProfile {
                satisfaction: Satisfaction::OpenComplaint,
                ..ok.clone()
            },
            Channel::Web,
            "open_complaint",
        ),
        (
            CustomerProfile {
                satisfaction: Satisfaction::AtRisk,
                ..ok.clone()
            },
            Channel::Web,
            "at_risk",
        ),
        (
            CustomerProfile {
                return_rate: 0.45,
                ..ok.clone()
            },
            Channel::Web,
            "chronic_returner",
        ),
        (
            CustomerProfile {
                service_cost: dec!(600),
                ..ok.clone()
            },
            Channel::Web,
            "unprofitable",
        ),
        (
            CustomerProfile {
                consents: [Channel::Web].into_iter().collect(),
                ..ok.clone()
            },
            Channel::Email,
            "no_consent",
        ),
        (
            CustomerProfile {
                preferred_channel: Some(Channel::Email),
                ..ok.clone()
            },
            Channel::Phone,
            "channel_not_preferred",
        ),
        (
            CustomerProfile {
                shown_last_7_days: vec![
                    Impression {
                        product: id(BAG),
                        offer: None
                    };
                    10
                ],
                ..ok.clone()
            },
            Channel::Web,
            "contact_cap_reached",
        ),
    ];
    for (customer, channel, code) in cases {
        let out = run_with(
            &f,
            &[LAPTOP],
            Some(&customer),
            channel,
            None,
            Moment::Checkout,
        );
        assert_eq!(
            out,
            Outcome::Suppressed(match code {
                "open_complaint" => Suppression::OpenComplaint,
                "at_risk" => Suppression::AtRisk,
                "chronic_returner" => Suppression::ChronicReturner,
                "unprofitable" => Suppression::Unprofitable,
                "no_consent" => Suppression::NoConsent,
                "channel_not_preferred" => Suppression::ChannelNotPreferred,
                _ => Suppression::ContactCapReached,
            }),
            "{code}"
        );
        if let Outcome::Suppressed(s) = out {
            assert_eq!(s.code(), code);
        }
    }
    // The same customer, satisfied, on a channel it consented to and prefers, is served.
    let phone_lover = CustomerProfile {
        preferred_channel: Some(Channel::Phone),
        ..ok.clone()
    };
    let out = run_with(
        &f,
        &[LAPTOP],
        Some(&phone_lover),
        Channel::Phone,
        None,
        Moment::Checkout,
    );
    assert!(!items(out).is_empty());
    // Complaints suppress whatever the moment.
    let unhappy = CustomerProfile {
        satisfaction: Satisfaction::OpenComplaint,
        ..ok
    };
    let out = run_with(
        &f,
        &[LAPTOP],
        Some(&unhappy),
        Channel::Web,
        None,
        Moment::SupportResolved,
    );
    assert_eq!(out, Outcome::Suppressed(Suppression::OpenComplaint));
}

#[test]
fn anonymous_visitors_get_web_only() {
    let f = fixture();
    let web = run_with(
        &f,
        &[LAPTOP],
        None,
        Channel::Web,
        Some(10),
        Moment::Checkout,
    );
    let got = items(web);
    assert!(has(&got, BAG));
    // The offer has eligibility rules nobody can be checked against.
    assert!(!has(&got, WARRANTY));
    let email = run_with(&f, &[LAPTOP], None, Channel::Email, None, Moment::Checkout);
    assert_eq!(email, Outcome::Suppressed(Suppression::NoConsent));
}

#[test]
fn competing_products_are_never_recommended() {
    let mut f = fixture();
    assert!(has(&run(&f, &eu_customer()), TABLET));
    f.relations
        .push(Relation::new(id(TABLET), id(LAPTOP), RelationKind::Competing, 1.0).unwrap());
    assert!(!has(&run(&f, &eu_customer()), TABLET));
}

#[test]
fn the_anchor_category_is_left_alone_unless_the_anchor_is_an_accessory() {
    let f = fixture();
    // Laptop 16 is an upgrade of Laptop 14 but would replace it, not complete it.
    assert!(!has(&run(&f, &eu_customer()), LAPTOP_PRO));
    let mut g = fixture();
    g.products.retain(|p| p.id != id(LAPTOP_PRO));
    let mut pro = product(
        LAPTOP_PRO,
        "Laptop 16",
        "premium laptops",
        dec!(1500),
        dec!(1100),
    );
    pro.item_key = None;
    g.products.push(pro);
    assert!(has(&run(&g, &eu_customer()), LAPTOP_PRO));
    // A cable is accessory-type: another cable completes it.
    assert!(has(&for_cart(&f, &[CABLE]), CABLE_ADAPTER));
}

#[test]
fn cart_items_and_past_purchases_are_not_recommended() {
    let f = fixture();
    assert!(!has(&for_cart(&f, &[LAPTOP, BAG]), BAG));
    // Accessory-type items escape the category rule, so only the cart rule keeps the
    // adapter (an accessory of the cable) out when it is already in the cart.
    assert!(!has(&for_cart(&f, &[CABLE, CABLE_ADAPTER]), CABLE_ADAPTER));
    // A bundle whose members are all in the cart adds nothing.
    assert!(!has_bundle(&for_cart(&f, &[LAPTOP, MOUSE])));
    let mut bought = eu_customer();
    bought.purchased.insert(id(MOUSE));
    let got = run(&f, &bought);
    assert!(!has(&got, MOUSE));
    // Nor a bundle whose other member the customer already owns.
    assert!(!has_bundle(&got));
}

#[test]
fn inactive_foreign_currency_and_loss_making_products_are_left_out() {
    for (breakage, n) in [("inactive", BAG), ("currency", MOUSE), ("loss", SLEEVE)] {
        let mut f = fixture();
        let p = f.products.iter_mut().find(|p| p.id == id(n)).unwrap();
        match breakage {
            "inactive" => p.active = false,
            "currency" => {
                let usd = Currency::parse("USD").unwrap();
                p.price = Money::new(p.price.amount, usd).unwrap();
            }
            _ => p.unit_cost = eur_amount(p.price.amount + dec!(1)),
        }
        let got = run(&f, &eu_customer());
        assert!(!has(&got, n), "{breakage}");
        assert!(has(&run(&fixture(), &eu_customer()), n));
    }
}

/// Each way an offer may not be shown; the baseline fixture shows it. The warranty is
/// also a co-purchase neighbour, so these also check that another partner's product is
/// never sold without an offer the customer may see.
#[test]
fn offers_are_shown_only_when_live_on_the_channel_and_suitable() {
    type Breakage = fn(&mut Offer, &mut CustomerProfile);
    let breakages: [(&str, Breakage); 7] = [
        ("expired", |o, _| {
            o.valid_until = Some(now() - Duration::hours(1))
        }),
        ("not yet valid", |o, _| {
            o.valid_from = now() + Duration::hours(1)
        }),
        ("paused", |o, _| o.paused = true),
        ("channel", |o, _| o.channels = vec![Channel::Email]),
        ("eligibility", |_, c| {
            c.attributes.insert("region".into(), "US".into());
        }),
        ("relationship", |_, c| {
            c.relationships.push(CustomerRelationship {
                partner: id(ACME),
                kind: "auditor".into(),
            });
        }),
        ("per-customer cap", |_, c| {
            c.shown_last_7_days.push(Impression {
                product: id(WARRANTY),
                offer: Some(id(OFFER)),
            });
        }),
    ];
    assert!(has(&run(&fixture(), &eu_customer()), WARRANTY));
    for (name, breakage) in breakages {
        let mut f = fixture();
        let mut customer = eu_customer();
        breakage(&mut f.offers[0], &mut customer);
        assert!(!has(&run(&f, &customer), WARRANTY), "{name}");
    }
    // A relationship with another partner does not exclude Acme's offer.
    let mut customer = eu_customer();
    customer.relationships.push(CustomerRelationship {
        partner: id(MERCHANT),
        kind: "auditor".into(),
    });
    assert!(has(&run(&fixture(), &customer), WARRANTY));
}

#[test]
fn bundles_must_clear_their_margin_floor_at_answer_time() {
    let mut f = fixture();
    let got = run(&f, &eu_customer());
    let bundle = got
        .iter()
        .find(|r| r.subject == Subject::Bundle(id(BUNDLE)))
        .unwrap();
    assert_eq!(bundle.price, eur_amount(dec!(1010)));
    assert_eq!(
        bundle.reasons[0].to_string(),
        "bundle with Laptop 14, saves 20 EUR"
    );
    // The mouse got dearer to make: 1010 − 800 − 70 = 140 < 150.
    f.products
        .iter_mut()
        .find(|p| p.id == id(MOUSE))
        .unwrap()
        .unit_cost = eur_amount(dec!(70));
    assert!(!has_bundle(&run(&f, &eu_customer())));
}

#[test]
fn a_bundle_whose_member_changed_currency_is_left_out() {
    let mut f = fixture();
    // Repriced as 49 JPY: summing it with the laptop's euros would be meaningless.
    let mouse = f.products.iter_mut().find(|p| p.id == id(MOUSE)).unwrap();
    let yen = Currency::parse("JPY").unwrap();
    mouse.price = Money {
        amount: dec!(49),
        currency: yen,
    };
    mouse.unit_cost = Money {
        amount: dec!(20),
        currency: yen,
    };
    assert!(!has_bundle(&run(&f, &eu_customer())));
}

#[test]
fn one_item_per_category_while_others_remain() {
    let f = fixture();
    // Bag and sleeve are both accessories in `bags`: only the better one in the top 3.
    let top3 = items(run_with(
        &f,
        &[LAPTOP],
        Some(&eu_customer()),
        Channel::Web,
        Some(3),
        Moment::Checkout,
    ));
    let bags = top3
        .iter()
        .filter(|r| matches!(r.subject, Subject::Product(p) if p == id(BAG) || p == id(SLEEVE)))
        .count();
    assert_eq!(bags, 1, "{top3:?}");
    // When nothing else is left, the second bag fills the slot.
    let mut g = fixture();
    g.relations.retain(|r| r.kind == RelationKind::Accessory);
    g.offers.clear();
    g.bundles.clear();
    g.model = CoPurchaseModel::default();
    let only_bags = items(run_with(
        &g,
        &[LAPTOP],
        Some(&eu_customer()),
        Channel::Web,
        Some(3),
        Moment::Checkout,
    ));
    assert!(has(&only_bags, BAG) && has(&only_bags, SLEEVE));
}

#[test]
fn limits_default_to_three_and_follow_moment_and_contact_cap() {
    let f = fixture();
    let c = eu_customer();
    let n = |limit, moment, c: &CustomerProfile| {
        items(run_with(
            &f,
            &[LAPTOP],
            Some(c),
            Channel::Web,
            limit,
            moment,
        ))
        .len()
    };
    // Six candidates pass: bag, sleeve, mouse, tablet, warranty and the bundle.
    assert_eq!(n(Some(50), Moment::Checkout, &c), 6);
    assert_eq!(n(None, Moment::Checkout, &c), 3);
    assert_eq!(n(Some(0), Moment::Checkout, &c), 1);
    assert_eq!(n(Some(3), Moment::SupportResolved, &c), 1);
    // Nine of the ten contacts this week are used: one slot is left.
    let mut seen = c.clone();
    seen.shown_last_7_days = vec![
        Impression {
            product: id(BAG),
            offer: None
        };
        9
    ];
    assert_eq!(n(Some(3), Moment::Checkout, &seen), 1);
}

#[test]
fn eligibility_rules_parse_and_check_attributes() {
    let rule = EligibilityRule::parse("region in [EU, UK]").unwrap();
    let mut attrs = FxHashMap::default();
    assert!(!rule.admits(&attrs));
    attrs.insert("region".to_string(), "UK".to_string());
    assert!(rule.admits(&attrs));
    let verified = EligibilityRule::parse("verified = true").unwrap();
    assert!(!verified.admits(&attrs));
    attrs.insert("verified".into(), "true".into());
    assert!(verified.admits(&attrs));
    assert!(EligibilityRule::parse("region [EU]").is_err());
    assert!(EligibilityRule::parse("region in []").is_err());
    assert!(EligibilityRule::parse(" = x").is_err());
}
