//! Recommendation latency on a large synthetic merchant: 100,000 products with
//! relations, partner offers and bundles, and a co-purchase model mined from
//! 1,000,000 synthetic baskets. Prints p50/p99 over 20,000 requests, then lets criterion
//! measure the mean.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use cosell_core::{BundleId, Currency, Money, OfferId, PartnerId, ProductId};
use cosell_reco::{
    Anchor, Bundle, Catalog, Channel, CoPurchaseModel, CustomerProfile, EligibilityRule,
    MinSupport, ModelBuilder, Moment, Offer, Product, RecommenderConfig, Relation, RelationKind,
    Request, recommend,
};
use criterion::{Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use uuid::Uuid;

const PRODUCTS: usize = 100_000;
const BASKETS: usize = 1_000_000;
/// Products come in families of ten that are bought together.
const FAMILY: usize = 10;
/// The merchant asking for recommendations.
const MERCHANT: PartnerId = PartnerId(Uuid::from_u128(999));

/// SplitMix64: deterministic and dependency-free, so every run mines the same baskets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize
    }

    /// Skewed towards 0: the square of a uniform, so low families are popular.
    fn skewed(&mut self, n: usize) -> usize {
        let u = self.unit();
        (u * u * n as f64) as usize
    }
}

fn key(i: usize) -> String {
    format!("p{i}")
}

/// Baskets of 2-6 items from one family, plus a popular item one time in three.
fn mine(rng: &mut Rng) -> CoPurchaseModel {
    let mut builder = ModelBuilder::new();
    let mut basket = Vec::with_capacity(8);
    for _ in 0..BASKETS {
        basket.clear();
        let family = rng.skewed(PRODUCTS / FAMILY);
        for _ in 0..2 + rng.below(5) {
            basket.push(key(family * FAMILY + rng.below(FAMILY)));
        }
        if rng.below(3) == 0 {
            basket.push(key(rng.skewed(1_000)));
        }
        builder.add_basket(&basket);
    }
    let start = Instant::now();
    let model = builder.snapshot(MinSupport::Count(100));
    eprintln!(
        "mined {BASKETS} baskets in {:?}: {} frequent items, {} frequent pairs",
        start.elapsed(),
        model.frequent_items().count(),
        model.frequent_pairs().len()
    );
    model
}

fn id(i: usize) -> ProductId {
    ProductId(Uuid::from_u128(i as u128 + 1))
}

fn catalog(rng: &mut Rng, eur: Currency) -> Catalog {
    let money = |cents: u64| Money {
        amount: Decimal::new(cents as i64, 2),
        currency: eur,
    };
    let partners: Vec<PartnerId> = (0..50)
        .map(|p| PartnerId(Uuid::from_u128(1_000_000 + p)))
        .collect();
    let products: Vec<Product> = (0..PRODUCTS)
        .map(|i| {
            let price = 500 + rng.next() % 50_000;
            Product {
                id: id(i),
                name: format!("Product {i}"),
                // One product in five is a partner's, sellable only through an offer.
                owner: if i % 5 == 0 {
                    partners[i % partners.len()]
                } else {
                    MERCHANT
                },
                // Families share a category, so the diversity rule has work to do.
                category: format!("c{}", (i / FAMILY) % 500),
                price: money(price),
                unit_cost: money(price * 6 / 10),
                active: rng.below(50) != 0,
                accessory_type: rng.below(4) == 0,
                item_key: Some(key(i)),
            }
        })
        .collect();
    let kinds = [
        RelationKind::Accessory,
        RelationKind::Complementary,
        RelationKind::BundleMember,
        RelationKind::Upgrade,
        RelationKind::Competing,
    ];
    let relations: Vec<Relation> = (0..3 * PRODUCTS)
        .map(|r| Relation {
            from: id(r / 3),
            to: id(rng.below(PRODUCTS)),
            kind: kinds[rng.below(kinds.len())],
            weight: 0.5 + rng.unit() / 2.0,
        })
        .collect();
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single();
    let now = now.unwrap_or_default();
    let offers: Vec<Offer> = (0..20_000)
        .map(|o| Offer {
            id: OfferId(Uuid::from_u128(2_000_000 + o as u128)),
            partner: partners[o % partners.len()],
            partner_name: format!("Partner {}", o % partners.len()),
            product: id(rng.below(PRODUCTS)),
            anchors: (0..3).map(|_| id(rng.skewed(PRODUCTS))).collect(),
            discount_percent: Decimal::from(5 + o % 20),
            commission: Decimal::from(3),
            channels: vec![Channel::Web, Channel::Email],
            paused: o % 10 == 0,
            valid_from: now - chrono::Duration::days(10),
            valid_until: Some(now + chrono::Duration::days(10 - (o % 15) as i64)),
            per_customer_cap: Some(2),
            eligibility: vec![EligibilityRule::In {
                attribute: "region".into(),
                values: vec!["EU".into()],
            }],
            excluded_relationships: vec!["auditor".into()],
        })
        .collect();
    let bundles: Vec<Bundle> = (0..5_000)
        .map(|b| {
            let first = rng.skewed(PRODUCTS / FAMILY) * FAMILY;
            Bundle {
                id: BundleId(Uuid::from_u128(3_000_000 + b as u128)),
                name: format!("Bundle {b}"),
                owner: partners[b % partners.len()],
                members: vec![id(first), id(first + 1)],
                price: money(20_000),
                margin_floor: money(1_000),
                active: true,
            }
        })
        .collect();
    Catalog::new(products, &relations, offers, bundles)
}

struct Setup {
    catalog: Catalog,
    model: CoPurchaseModel,
    carts: Vec<Vec<Anchor>>,
    customer: CustomerProfile,
    eur: Currency,
}

fn setup() -> Setup {
    let eur = match Currency::parse("EUR") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let mut rng = Rng(42);
    let model = mine(&mut rng);
    let catalog = catalog(&mut rng, eur);
    // Carts of one to three products from popular families, as real traffic would be.
    let carts = (0..1_000)
        .map(|_| {
            (0..1 + rng.below(3))
                .filter_map(|_| catalog.product(id(rng.skewed(PRODUCTS))))
                .map(Anchor::from)
                .collect()
        })
        .collect();
    let mut customer = CustomerProfile::new([Channel::Web, Channel::Email]);
    customer.attributes.insert("region".into(), "EU".into());
    customer.revenue = Decimal::from(1_000);
    customer.purchased = (0..50).map(|_| id(rng.skewed(PRODUCTS))).collect();
    Setup {
        catalog,
        model,
        carts,
        customer,
        eur,
    }
}

fn request<'a>(s: &'a Setup, cart: &'a [Anchor]) -> Request<'a> {
    Request {
        merchant: MERCHANT,
        anchors: cart,
        customer: Some(&s.customer),
        moment: Moment::Checkout,
        channel: Channel::Web,
        limit: None,
        currency: s.eur,
        now: Utc
            .with_ymd_and_hms(2026, 11, 23, 12, 0, 0)
            .single()
            .unwrap_or_default(),
    }
}

fn latency(c: &mut Criterion) {
    let s = setup();
    let config = RecommenderConfig::default();
    let mut times: Vec<Duration> = Vec::with_capacity(20_000);
    let mut shown = 0;
    for i in 0..20_000 {
        let req = request(&s, &s.carts[i % s.carts.len()]);
        let start = Instant::now();
        let out = recommend(&s.catalog, &s.model, &req, &config);
        times.push(start.elapsed());
        if let cosell_reco::Outcome::Items(items) = black_box(out) {
            shown += items.len();
        }
    }
    times.sort_unstable();
    eprintln!(
        "recommend over {} requests: p50 {:?}, p99 {:?}, max {:?}, {:.2} items per answer",
        times.len(),
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        times[times.len() - 1],
        shown as f64 / times.len() as f64
    );
    let mut group = c.benchmark_group("recommend");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    let mut i = 0;
    group.bench_function("100k_products_1m_baskets", |b| {
        b.iter(|| {
            i += 1;
            let req = request(&s, &s.carts[i % s.carts.len()]);
            recommend(&s.catalog, &s.model, black_box(&req), &config)
        })
    });
    group.finish();
}

criterion_group!(benches, latency);
criterion_main!(benches);
