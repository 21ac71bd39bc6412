//! A cache where concurrent misses for one key share a single computation.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Values kept until their own deadline. A miss holds the key's async lock while it
/// computes, so callers arriving meanwhile wait for that result instead of running again.
pub struct SingleFlightCache<K, V> {
    slots: Mutex<HashMap<K, Slot<V>>>,
}

/// One key's value and the instant it stops being fresh, behind the lock misses wait on.
type Slot<V> = Arc<tokio::sync::Mutex<Option<(V, Instant)>>>;

impl<K, V> Default for SingleFlightCache<K, V> {
    fn default() -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> SingleFlightCache<K, V> {
    /// The cached value for `key` if still fresh, else the result of `compute`, which
    /// returns the value and the instant it stops being fresh. Errors are not cached.
    pub async fn get_or_compute<E, F, Fut>(&self, key: &K, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(V, Instant), E>>,
    {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(|poison| poison.into_inner());
            slots.entry(key.clone()).or_default().clone()
        };
        let mut entry = slot.lock().await;
        if let Some((value, fresh_until)) = entry.as_ref() {
            if Instant::now() < *fresh_until {
                return Ok(value.clone());
            }
        }
        let (value, fresh_until) = compute().await?;
        *entry = Some((value.clone(), fresh_until));
        Ok(value)
    }

    /// Forgets every cached value (after a configuration change).
    pub fn clear(&self) {
        self.slots
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_misses_share_one_computation() {
        let cache: Arc<SingleFlightCache<&str, u32>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let cache = cache.clone();
            let runs = runs.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute(&"k", || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok::<_, ()>((7, Instant::now() + Duration::from_secs(60)))
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(7));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn stale_values_and_errors_recompute() {
        let cache: SingleFlightCache<u8, u32> = SingleFlightCache::default();
        let stale = cache
            .get_or_compute(&1, || async { Ok::<_, ()>((1, Instant::now())) })
            .await;
        assert_eq!(stale, Ok(1));
        let failed = cache
            .get_or_compute(&1, || async { Err::<(u32, Instant), _>("no") })
            .await;
        assert_eq!(failed, Err("no"));
        let fresh = cache
            .get_or_compute(&1, || async {
                Ok::<_, ()>((2, Instant::now() + Duration::from_secs(9)))
            })
            .await;
        assert_eq!(fresh, Ok(2));
    }
}
