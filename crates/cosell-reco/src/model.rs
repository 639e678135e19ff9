//! The co-purchase model: exact counts of items and of frequent pairs, with support,
//! confidence in both directions and lift, mined from baskets.
//!
//! Mining is the classic two-pass Apriori cut at pairs: count every item, keep the items
//! with at least the minimum count, then count pairs of those items only (a pair cannot
//! be frequent unless both its items are). Pair counts live in a dense triangular array
//! indexed by the frequent items' ranks, so a basket costs k·(k-1)/2 increments of
//! adjacent memory and no hashing.

use std::sync::{Arc, PoisonError, RwLock};

use crate::fxhash::FxHashMap;
pub use crate::min_support::MinSupport;

/// An item interned to a dense id; ids are given in order of first appearance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub u32);

impl ItemId {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// Item names and their dense ids, append-only.
#[derive(Debug, Default, Clone)]
struct Interner {
    index: FxHashMap<String, u32>,
    names: Vec<String>,
    /// Ids of canonical decimal names below a million (`.dat` files, numeric SKUs),
    /// indexed by their value: a lookup without hashing or comparing strings, which
    /// dominated reading `retail.dat`. `u32::MAX` marks a number not seen yet.
    by_number: Vec<u32>,
}

/// The value of a canonical decimal name below a million: digits only, no leading zero
/// (so `007` stays a different item from `7`).
fn small_number(name: &str) -> Option<usize> {
    let digits = name.as_bytes();
    let canonical = !digits.is_empty()
        && digits.len() <= 6
        && (digits[0] != b'0' || digits.len() == 1)
        && digits.iter().all(u8::is_ascii_digit);
    canonical.then(|| digits.iter().fold(0, |n, d| n * 10 + usize::from(d - b'0')))
}

/// Baskets interned and stored flat, in arrival order; the model is a snapshot of it.
///
/// Each basket keeps its distinct items in the order they were first written, so a
/// basket that lists an item twice counts it once and evaluation can still tell which
/// item came last.
#[derive(Debug, Default, Clone)]
pub struct ModelBuilder {
    /// Shared with the snapshots taken so far; copied only when a new item arrives after
    /// a snapshot, so taking a snapshot never copies the names.
    interner: Arc<Interner>,
    items: Vec<u32>,
    ends: Vec<usize>,
    /// For each item, 1 + the index of the last basket it was seen in: O(1) dedup.
    last_seen: Vec<usize>,
}

impl ModelBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one basket; repeated items count once. Empty baskets are ignored.
    pub fn add_basket<S: AsRef<str>>(&mut self, items: &[S]) {
        if items.is_empty() {
            return;
        }
        let mark = self.ends.len() + 1;
        for name in items {
            let id = self.intern(name.as_ref());
            let seen = &mut self.last_seen[id as usize];
            if *seen != mark {
                *seen = mark;
                self.items.push(id);
            }
        }
        self.ends.push(self.items.len());
    }

    fn intern(&mut self, name: &str) -> u32 {
        let number = small_number(name);
        let known = match number {
            Some(n) => self
                .interner
                .by_number
                .get(n)
                .copied()
                .filter(|&id| id != u32::MAX),
            None => self.interner.index.get(name).copied(),
        };
        if let Some(id) = known {
            return id;
        }
        let interner = Arc::make_mut(&mut self.interner);
        // Beyond four billion distinct items the id space is exhausted; saturating keeps
        // the builder total rather than panicking on absurd input.
        let id = u32::try_from(interner.names.len()).unwrap_or(u32::MAX);
        if let Some(n) = number {
            if interner.by_number.len() <= n {
                interner.by_number.resize(n + 1, u32::MAX);
            }
            interner.by_number[n] = id;
        }
        interner.index.insert(name.to_owned(), id);
        interner.names.push(name.to_owned());
        self.last_seen.push(0);
        id
    }

    /// How many baskets have been added.
    pub fn basket_count(&self) -> usize {
        self.ends.len()
    }

    /// The distinct items of basket `i`, in the order first written.
    pub fn basket(&self, i: usize) -> impl ExactSizeIterator<Item = ItemId> + '_ {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.items[start..end].iter().map(|&id| ItemId(id))
    }

    /// The id of an item name, if it has been seen.
    pub fn item_id(&self, name: &str) -> Option<ItemId> {
        self.interner.index.get(name).copied().map(ItemId)
    }

    /// An immutable model of every basket added so far.
    pub fn snapshot(&self, min_support: MinSupport) -> CoPurchaseModel {
        self.snapshot_where(min_support, |_| true)
    }

    /// A model of the baskets whose index passes `keep` (a training split, say).
    pub fn snapshot_where(
        &self,
        min_support: MinSupport,
        keep: impl Fn(usize) -> bool,
    ) -> CoPurchaseModel {
        let mut counts = vec![0_u32; self.interner.names.len()];
        let mut baskets = 0_u64;
        self.for_each_basket(&keep, |basket| {
            baskets += 1;
            for &id in basket {
                counts[id as usize] += 1;
            }
        });
        let min_count = min_support.min_count(baskets);
        let (frequent, pairs) = self.count_pairs(&counts, min_count, &keep);
        let pairs = pairs
            .into_iter()
            .map(|(i, j, count)| PairCount {
                a: ItemId(frequent[i as usize]),
                b: ItemId(frequent[j as usize]),
                count,
            })
            .collect();
        CoPurchaseModel::new(
            Arc::clone(&self.interner),
            counts,
            baskets,
            min_count,
            pairs,
        )
    }

    fn for_each_basket(&self, keep: &impl Fn(usize) -> bool, mut f: impl FnMut(&[u32])) {
        let mut start = 0;
        for (i, &end) in self.ends.iter().enumerate() {
            if keep(i) {
                f(&self.items[start..end]);
            }
            start = end;
        }
    }

    /// Second pass: counts pairs of frequent items. Returns the frequent items' ids (a
    /// rank indexes this list) and the pairs of ranks `(i, j, count)`, `i < j`, reaching
    /// `min_count`.
    fn count_pairs(
        &self,
        counts: &[u32],
        min_count: u32,
        keep: &impl Fn(usize) -> bool,
    ) -> (Vec<u32>, Vec<(u32, u32, u32)>) {
        let frequent: Vec<u32> = (0..counts.len())
            .filter(|&i| counts[i] >= min_count)
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        let mut rank = vec![u32::MAX; counts.len()];
        for (r, &id) in frequent.iter().enumerate() {
            rank[id as usize] = u32::try_from(r).unwrap_or(u32::MAX);
        }
        let mut counter = PairCounter::new(frequent.len());
        let mut local: Vec<u32> = Vec::new();
        self.for_each_basket(keep, |basket| {
            local.clear();
            local.extend(
                basket
                    .iter()
                    .map(|&id| rank[id as usize])
                    .filter(|&r| r != u32::MAX),
            );
            local.sort_unstable();
            counter.add(&local);
        });
        let pairs = counter.into_frequent(min_count);
        (frequent, pairs)
    }

    /// How many itemsets of any size reach `min_support`: Eclat on bitsets of the
    /// frequent items' baskets, started from the exact pair counts and extending a set
    /// only with items it forms a frequent pair with (every subset of a frequent set is
    /// frequent). Not needed to recommend; it checks the miner against the reference
    /// count of all frequent itemsets.
    pub fn count_frequent_itemsets(&self, min_support: MinSupport) -> u64 {
        let all = |_: usize| true;
        let mut counts = vec![0_u32; self.interner.names.len()];
        for &id in &self.items {
            counts[id as usize] += 1;
        }
        let min_count = min_support.min_count(self.ends.len() as u64);
        let (frequent, pairs) = self.count_pairs(&counts, min_count, &all);
        let f = frequent.len();
        let mut rank = vec![usize::MAX; counts.len()];
        for (r, &id) in frequent.iter().enumerate() {
            rank[id as usize] = r;
        }
        let words = self.ends.len().div_ceil(64);
        let mut sets = vec![vec![0_u64; words]; f];
        let mut b = 0;
        self.for_each_basket(&all, |basket| {
            for &id in basket {
                if let Some(set) = sets.get_mut(rank[id as usize]) {
                    set[b / 64] |= 1 << (b % 64);
                }
            }
            b += 1;
        });
        let mut pair_ok = vec![false; f * f];
        let mut later: Vec<Vec<usize>> = vec![Vec::new(); f];
        for &(i, j, _) in &pairs {
            let (i, j) = (i as usize, j as usize);
            pair_ok[i * f + j] = true;
            pair_ok[j * f + i] = true;
            later[i].push(j);
        }
        let mut found = (f + pairs.len()) as u64;
        for (i, js) in later.iter().enumerate() {
            let children: Vec<(usize, Vec<u64>)> =
                js.iter().map(|&j| (j, and(&sets[i], &sets[j]))).collect();
            found += eclat(&children, min_count, &pair_ok, f);
        }
        found
    }
}

fn and(x: &[u64], y: &[u64]) -> Vec<u64> {
    x.iter().zip(y).map(|(a, b)| a & b).collect()
}

/// Counts the frequent extensions of a prefix whose frequent one-item extensions are
/// `siblings` (last item, baskets); `pair_ok` is the f×f frequent-pair matrix.
fn eclat(siblings: &[(usize, Vec<u64>)], min_count: u32, pair_ok: &[bool], f: usize) -> u64 {
    let mut found = 0;
    for (k, (i, prefix)) in siblings.iter().enumerate() {
        let children: Vec<(usize, Vec<u64>)> = siblings[k + 1..]
            .iter()
            .filter(|(j, _)| pair_ok[i * f + j])
            .map(|(j, other)| (*j, and(prefix, other)))
            .filter(|(_, set)| set.iter().map(|w| w.count_ones()).sum::<u32>() >= min_count)
            .collect();
        found += children.len() as u64 + eclat(&children, min_count, pair_ok, f);
    }
    found
}

/// Pair counts of the frequent items: a dense upper triangle while it fits in a few
/// tens of megabytes, a hash map beyond that (hundreds of thousands of frequent items).
enum PairCounter {
    Dense {
        n: usize,
        row: Vec<usize>,
        counts: Vec<u32>,
    },
    Sparse(FxHashMap<(u32, u32), u32>),
}

/// The largest triangle kept dense: 16 Mi counters, 64 MB.
const DENSE_LIMIT: usize = 1 << 24;

impl PairCounter {
    fn new(n: usize) -> Self {
        let cells = n * n.saturating_sub(1) / 2;
        if cells > DENSE_LIMIT {
            return PairCounter::Sparse(FxHashMap::default());
        }
        // row[i] is where the pairs (i, i+1..n) start in the triangle.
        let row = (0..n).map(|i| i * (2 * n - i - 1) / 2).collect();
        PairCounter::Dense {
            n,
            row,
            counts: vec![0; cells],
        }
    }

    /// Counts every pair of `sorted`, a basket's frequent ranks in increasing order.
    fn add(&mut self, sorted: &[u32]) {
        match self {
            PairCounter::Dense { row, counts, .. } => {
                for (k, &i) in sorted.iter().enumerate() {
                    // j > i, so row[i] + j - i - 1 never underflows; add before subtracting.
                    let base = row[i as usize];
                    for &j in &sorted[k + 1..] {
                        counts[base + j as usize - i as usize - 1] += 1;
                    }
                }
            }
            PairCounter::Sparse(map) => {
                for (k, &i) in sorted.iter().enumerate() {
                    for &j in &sorted[k + 1..] {
                        *map.entry((i, j)).or_insert(0) += 1;
                    }
                }
            }
        }
    }

    fn into_frequent(self, min_count: u32) -> Vec<(u32, u32, u32)> {
        match self {
            PairCounter::Dense { n, row, counts } => {
                let mut out = Vec::new();
                for i in 0..n {
                    for j in i + 1..n {
                        let c = counts[row[i] + j - i - 1];
                        if c >= min_count {
                            out.push((rank(i), rank(j), c));
                        }
                    }
                }
                out
            }
            PairCounter::Sparse(map) => map
                .into_iter()
                .filter(|&(_, c)| c >= min_count)
                .map(|((i, j), c)| (i, j, c))
                .collect(),
        }
    }
}

fn rank(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// How many baskets hold both items of a frequent pair; `a < b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairCount {
    pub a: ItemId,
    pub b: ItemId,
    pub count: u32,
}

/// A frequent co-purchase partner of an item, seen from that item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// The other item.
    pub item: ItemId,
    /// Baskets holding both.
    pub count: u32,
    /// Share of all baskets holding both.
    pub support: f64,
    /// Share of the baskets with the anchor item that also hold this one.
    pub confidence: f64,
    /// How much more often the two are bought together than if independent.
    pub lift: f64,
}

/// Support, confidence both ways and lift of one pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairStats {
    pub count: u32,
    pub support: f64,
    /// P(b | a).
    pub confidence_ab: f64,
    /// P(a | b).
    pub confidence_ba: f64,
    pub lift: f64,
}

/// An immutable co-purchase model: safe to share between threads and read without locks.
#[derive(Debug, Clone)]
pub struct CoPurchaseModel {
    interner: Arc<Interner>,
    counts: Vec<u32>,
    baskets: u64,
    min_count: u32,
    /// Frequent pairs, most baskets first.
    pairs: Vec<PairCount>,
    /// Neighbours of item i are `neighbours[starts[i]..starts[i + 1]]`, highest lift first.
    starts: Vec<usize>,
    neighbours: Vec<Neighbour>,
}

impl Default for CoPurchaseModel {
    /// The model of no baskets: it knows no item and recommends nothing.
    fn default() -> Self {
        ModelBuilder::new().snapshot(MinSupport::Count(1))
    }
}

impl CoPurchaseModel {
    fn new(
        interner: Arc<Interner>,
        counts: Vec<u32>,
        baskets: u64,
        min_count: u32,
        mut pairs: Vec<PairCount>,
    ) -> Self {
        pairs.sort_unstable_by(|x, y| y.count.cmp(&x.count).then((x.a, x.b).cmp(&(y.a, y.b))));
        let items = counts.len();
        let mut degree = vec![0_usize; items + 1];
        for p in &pairs {
            degree[p.a.index() + 1] += 1;
            degree[p.b.index() + 1] += 1;
        }
        let mut starts = degree;
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut fill = starts.clone();
        let n = baskets.max(1) as f64;
        let empty = Neighbour {
            item: ItemId(0),
            count: 0,
            support: 0.0,
            confidence: 0.0,
            lift: 0.0,
        };
        let mut neighbours = vec![empty; starts.last().copied().unwrap_or(0)];
        for p in &pairs {
            let (ca, cb) = (
                f64::from(counts[p.a.index()]),
                f64::from(counts[p.b.index()]),
            );
            let c = f64::from(p.count);
            let lift = n * c / (ca * cb);
            for (from, to, c_from) in [(p.a, p.b, ca), (p.b, p.a, cb)] {
                neighbours[fill[from.index()]] = Neighbour {
                    item: to,
                    count: p.count,
                    support: c / n,
                    confidence: c / c_from,
                    lift,
                };
                fill[from.index()] += 1;
            }
        }
        for i in 0..items {
            neighbours[starts[i]..starts[i + 1]].sort_unstable_by(|x, y| {
                y.lift
                    .total_cmp(&x.lift)
                    .then(y.count.cmp(&x.count))
                    .then(x.item.cmp(&y.item))
            });
        }
        CoPurchaseModel {
            interner,
            counts,
            baskets,
            min_count,
            pairs,
            starts,
            neighbours,
        }
    }

    /// How many baskets the model was mined from.
    pub fn basket_count(&self) -> u64 {
        self.baskets
    }

    /// The minimum basket count of a frequent item or pair in this model.
    pub fn min_count(&self) -> u32 {
        self.min_count
    }

    /// The id of an item name, if any basket held it.
    pub fn item_id(&self, name: &str) -> Option<ItemId> {
        // Items interned after this snapshot have ids beyond its counts: unknown here.
        let id = self.interner.index.get(name).copied()?;
        ((id as usize) < self.counts.len()).then_some(ItemId(id))
    }

    /// The name of an item.
    pub fn name(&self, item: ItemId) -> &str {
        self.interner
            .names
            .get(item.index())
            .map_or("", String::as_str)
    }

    /// Exact number of baskets holding the item.
    pub fn item_count(&self, item: ItemId) -> u32 {
        self.counts.get(item.index()).copied().unwrap_or(0)
    }

    /// Share of baskets holding the item.
    pub fn support(&self, item: ItemId) -> f64 {
        f64::from(self.item_count(item)) / self.baskets.max(1) as f64
    }

    /// The items reaching the minimum support, in id order.
    pub fn frequent_items(&self) -> impl Iterator<Item = ItemId> + '_ {
        (0..self.counts.len())
            .filter(|&i| self.counts[i] >= self.min_count)
            .filter_map(|i| u32::try_from(i).ok().map(ItemId))
    }

    /// Every item in descending count (ties by id): the most-popular ranking.
    pub fn items_by_popularity(&self) -> Vec<ItemId> {
        let mut items: Vec<ItemId> = (0..self.counts.len())
            .filter_map(|i| u32::try_from(i).ok().map(ItemId))
            .collect();
        items.sort_by(|x, y| self.item_count(*y).cmp(&self.item_count(*x)).then(x.cmp(y)));
        items
    }

    /// The frequent pairs, most baskets first.
    pub fn frequent_pairs(&self) -> &[PairCount] {
        &self.pairs
    }

    /// The frequent partners of `item`, highest lift first.
    pub fn neighbours(&self, item: ItemId) -> &[Neighbour] {
        match (
            self.starts.get(item.index()),
            self.starts.get(item.index() + 1),
        ) {
            (Some(&s), Some(&e)) => &self.neighbours[s..e],
            _ => &[],
        }
    }

    /// Support, confidence and lift of a pair, if it is frequent.
    pub fn pair(&self, a: ItemId, b: ItemId) -> Option<PairStats> {
        let n = self.neighbours(a).iter().find(|n| n.item == b)?;
        Some(PairStats {
            count: n.count,
            support: n.support,
            confidence_ab: n.confidence,
            confidence_ba: f64::from(n.count) / f64::from(self.item_count(b).max(1)),
            lift: n.lift,
        })
    }
}

/// The model readers use now. A rebuild swaps a whole new snapshot in under a write
/// lock held only for a pointer store, so a reader gets the old or the new model,
/// never half of one, and never waits on a rebuild.
#[derive(Debug, Default)]
pub struct ModelHolder {
    current: RwLock<Arc<CoPurchaseModel>>,
}

impl ModelHolder {
    /// A holder serving `model`.
    pub fn new(model: CoPurchaseModel) -> Self {
        ModelHolder {
            current: RwLock::new(Arc::new(model)),
        }
    }

    /// The current snapshot; it stays valid however many swaps follow.
    pub fn load(&self) -> Arc<CoPurchaseModel> {
        // A panic elsewhere cannot leave a half-written Arc behind, so a poisoned lock
        // still guards a whole model.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the snapshot for every later `load`.
    pub fn store(&self, model: CoPurchaseModel) {
        let fresh = Arc::new(model);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = fresh;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn repeated_items_count_once_and_stats_follow_the_definitions() {
        let mut b = ModelBuilder::new();
        b.add_basket(&["a", "b", "a"]);
        b.add_basket(&["a", "b"]);
        b.add_basket(&["a", "c"]);
        b.add_basket(&["c"]);
        let m = b.snapshot(MinSupport::Count(2));
        let (a, bb, c) = (
            m.item_id("a").unwrap(),
            m.item_id("b").unwrap(),
            m.item_id("c").unwrap(),
        );
        assert_eq!(
            (m.item_count(a), m.item_count(bb), m.item_count(c)),
            (3, 2, 2)
        );
        let s = m.pair(a, bb).unwrap();
        assert_eq!(s.count, 2);
        assert!((s.confidence_ab - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.confidence_ba - 1.0).abs() < 1e-12);
        assert!((s.lift - 4.0 * 2.0 / (3.0 * 2.0)).abs() < 1e-12);
        // a+c is together once, below the minimum of two.
        assert!(m.pair(a, c).is_none());
    }

    #[test]
    fn numeric_names_are_interned_by_value_but_keep_their_spelling() {
        let mut b = ModelBuilder::new();
        b.add_basket(&["7", "007", "milk", "1000000"]);
        b.add_basket(&["7", "007"]);
        let m = b.snapshot(MinSupport::Count(1));
        let (seven, padded) = (m.item_id("7").unwrap(), m.item_id("007").unwrap());
        assert_ne!(seven, padded);
        assert_eq!((m.item_count(seven), m.item_count(padded)), (2, 2));
        assert_eq!(m.name(seven), "7");
        assert_eq!(m.item_count(m.item_id("1000000").unwrap()), 1);
        assert_eq!(small_number("999999"), Some(999_999));
        assert_eq!(small_number("1000000"), None);
        assert_eq!(small_number("0"), Some(0));
        assert_eq!(small_number("1a"), None);
    }

    #[test]
    fn sparse_and_dense_counters_agree() {
        let mut dense = PairCounter::new(4);
        let mut sparse = PairCounter::Sparse(FxHashMap::default());
        for basket in [[0, 1, 3].as_slice(), &[1, 2, 3], &[0, 3]] {
            dense.add(basket);
            sparse.add(basket);
        }
        let mut d = dense.into_frequent(2);
        let mut s = sparse.into_frequent(2);
        d.sort_unstable();
        s.sort_unstable();
        assert_eq!(d, vec![(0, 3, 2), (1, 3, 2)]);
        assert_eq!(d, s);
    }

    #[test]
    fn holder_swaps_whole_snapshots_and_old_readers_keep_theirs() {
        let mut b = ModelBuilder::new();
        b.add_basket(&["x", "y"]);
        let holder = ModelHolder::new(b.snapshot(MinSupport::Count(1)));
        let before = holder.load();
        // Incremental: keep adding to the same builder, snapshot again, swap.
        b.add_basket(&["x", "z"]);
        holder.store(b.snapshot(MinSupport::Count(1)));
        let after = holder.load();
        assert_eq!(before.basket_count(), 1);
        assert!(before.item_id("z").is_none());
        assert_eq!(after.basket_count(), 2);
        assert_eq!(after.frequent_pairs().len(), 2);
    }

    #[test]
    fn concurrent_readers_only_ever_see_whole_snapshots() {
        // Snapshot k holds k baskets {x, y}: its pair count must equal its basket count.
        let holder = Arc::new(ModelHolder::default());
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let holder = Arc::clone(&holder);
                std::thread::spawn(move || {
                    for _ in 0..2_000 {
                        let m = holder.load();
                        let pairs: u64 =
                            m.frequent_pairs().iter().map(|p| u64::from(p.count)).sum();
                        assert_eq!(pairs, m.basket_count());
                    }
                })
            })
            .collect();
        let mut b = ModelBuilder::new();
        for _ in 0..200 {
            b.add_basket(&["x", "y"]);
            holder.store(b.snapshot(MinSupport::Count(1)));
        }
        for r in readers {
            r.join().unwrap();
        }
        assert_eq!(holder.load().basket_count(), 200);
    }
}
