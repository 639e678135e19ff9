//! Short-lived in-process copies of what the database says, for reads that every request
//! makes and that change rarely (a token's key standing, a merchant's catalog).
//!
//! A write through this server calls [`FreshCache::invalidate`], which makes every copy
//! stale at once; the time-to-live bounds how long a write made elsewhere (another server
//! instance, the CLI) can go unseen.

use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A bounded cache whose entries live at most `ttl` and die together on `invalidate`.
pub struct FreshCache<K, V> {
    /// Bumped by every invalidation; an entry loaded under an older one is not served.
    generation: AtomicU64,
    entries: moka::sync::Cache<K, (u64, V)>,
}

impl<K, V> std::fmt::Debug for FreshCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FreshCache")
            .field("generation", &self.generation)
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl<K, V> FreshCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Holds at most `capacity` entries, each for at most `ttl`.
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        FreshCache {
            generation: AtomicU64::new(0),
            entries: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// Makes every cached value stale, including any whose load is under way.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }

    /// The cached value of `key`, or what `load` returns (cached unless it fails).
    pub async fn get_or_load<E, F>(&self, key: K, load: F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        // Read before loading: a write that lands during the load bumps the generation
        // past this one, so the value cached below is not served again.
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((loaded_under, value)) = self.entries.get(&key)
            && loaded_under == generation
        {
            return Ok(value);
        }
        let value = load.await?;
        self.entries.insert(key, (generation, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn load(value: u32) -> Result<u32, ()> {
        Ok(value)
    }

    #[tokio::test]
    async fn serves_the_cached_value_until_invalidated() {
        let cache = FreshCache::new(Duration::from_secs(60), 10);
        assert_eq!(cache.get_or_load(1, load(10)).await, Ok(10));
        assert_eq!(cache.get_or_load(1, load(11)).await, Ok(10));
        cache.invalidate();
        assert_eq!(cache.get_or_load(1, load(12)).await, Ok(12));
    }

    #[tokio::test]
    async fn a_failed_load_is_not_cached() {
        let cache = FreshCache::new(Duration::from_secs(60), 10);
        assert_eq!(
            cache.get_or_load(1, async { Err("down") }).await,
            Err("down")
        );
        assert_eq!(
            cache.get_or_load(1, async { Ok(5) }).await,
            Ok::<_, &str>(5)
        );
    }

    #[tokio::test]
    async fn a_value_loaded_across_an_invalidation_is_not_served_again() {
        let cache = FreshCache::new(Duration::from_secs(60), 10);
        let stale = cache.get_or_load(1, async {
            // A write lands while the old value is being read.
            cache.invalidate();
            Ok::<_, ()>(1)
        });
        assert_eq!(stale.await, Ok(1));
        assert_eq!(cache.get_or_load(1, load(2)).await, Ok(2));
    }

    #[tokio::test]
    async fn entries_expire_after_their_time_to_live() {
        let cache = FreshCache::new(Duration::from_millis(20), 10);
        assert_eq!(cache.get_or_load(1, load(1)).await, Ok(1));
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(cache.get_or_load(1, load(2)).await, Ok(2));
    }
}
