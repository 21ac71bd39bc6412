//! A cache where concurrent misses for one key share a single computation, and share its
//! failure too: a hanging helper costs every waiter one timeout, not one each.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use super::clock::{Clock, SystemClock};

/// How long a failure is answered from the cache before a request may run the helper
/// again: a client retrying in a tight loop must not turn into a helper run per retry.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(1);

/// A computed value and when it stops being fresh (time to compute again) and valid
/// (no longer to be served at all, e.g. past the credentials' Expiration).
#[derive(Debug, Clone, PartialEq)]
pub struct Kept<V> {
    pub value: V,
    pub fresh_until: OffsetDateTime,
    pub valid_until: OffsetDateTime,
}

/// How old a cached value a caller takes rather than waiting for a computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Only a fresh value; a stale one is computed again.
    Fresh,
    /// Any value not past its validity (someone else refreshes it in the background).
    Valid,
}

/// What the cache knows about one key, for status displays.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyStatus<V, E> {
    pub kept: Option<Kept<V>>,
    /// The last computation's error, when the last computation failed, and when.
    pub failure: Option<(E, OffsetDateTime)>,
    pub computing: bool,
}

pub struct SingleFlightCache<K, V, E> {
    slots: Mutex<HashMap<K, Arc<Slot<V, E>>>>,
    clock: Arc<dyn Clock>,
    backoff: Duration,
    /// Moves whenever a kept value or failure changes or is forgotten: whoever keeps a
    /// copy of an answer elsewhere knows it is still the cache's while this stands still.
    generation: AtomicU64,
}

/// A fresh cached value as [`SingleFlightCache::get_or_compute_noting`] found it: the
/// same value is the cache's answer until `until`, as long as the generation read
/// before the look-up has not moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreshHit {
    pub generation: u64,
    pub until: OffsetDateTime,
}

/// A key's slot, in a module of its own so that its outcome can be read freely but changed
/// only through [`Slot::write`], which moves the cache's generation: nothing can change a
/// kept value without the per-thread copies of answers (`served.rs`) noticing.
mod slot {
    use std::ops::Deref;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, MutexGuard};

    use time::OffsetDateTime;

    use super::Kept;

    /// One key: the lock a computation holds (callers arriving meanwhile queue on it) and
    /// the outcome, readable without waiting for the lock.
    pub(super) struct Slot<V, E> {
        pub(super) flight: tokio::sync::Mutex<()>,
        outcome: Mutex<Outcome<V, E>>,
    }

    pub(super) struct Outcome<V, E> {
        pub(super) kept: Option<Kept<V>>,
        /// Set when the last computation failed; cleared by a success.
        pub(super) failure: Option<(E, OffsetDateTime)>,
        /// Computations finished so far; a waiter that sees it move shares that result.
        pub(super) runs: u64,
    }

    /// A slot's outcome, read-only.
    pub(super) struct Read<'a, V, E>(MutexGuard<'a, Outcome<V, E>>);

    impl<V, E> Deref for Read<'_, V, E> {
        type Target = Outcome<V, E>;
        fn deref(&self) -> &Outcome<V, E> {
            &self.0
        }
    }

    impl<V, E> Default for Slot<V, E> {
        fn default() -> Self {
            Self {
                flight: tokio::sync::Mutex::new(()),
                outcome: Mutex::new(Outcome {
                    kept: None,
                    failure: None,
                    runs: 0,
                }),
            }
        }
    }

    impl<V, E> Slot<V, E> {
        fn lock(&self) -> MutexGuard<'_, Outcome<V, E>> {
            self.outcome
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
        }

        pub(super) fn read(&self) -> Read<'_, V, E> {
            Read(self.lock())
        }

        /// Changes the outcome and moves `generation`, while the outcome is still locked:
        /// the only way to change it.
        pub(super) fn write<R>(
            &self,
            generation: &AtomicU64,
            change: impl FnOnce(&mut Outcome<V, E>) -> R,
        ) -> R {
            let mut outcome = self.lock();
            let result = change(&mut outcome);
            generation.fetch_add(1, Ordering::AcqRel);
            result
        }
    }
}

use slot::Slot;

impl<K, V, E> Default for SingleFlightCache<K, V, E> {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock), FAILURE_BACKOFF)
    }
}

impl<K, V, E> SingleFlightCache<K, V, E> {
    /// A cache reading `clock`, answering failures for `backoff` after they happen.
    pub fn new(clock: Arc<dyn Clock>, backoff: Duration) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            clock,
            backoff,
            generation: AtomicU64::new(0),
        }
    }

    /// The current generation (see [`FreshHit`]).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Changes the map of slots; when `change` says it dropped any, moves the generation
    /// (a slot added empty keeps no value, and moves nothing).
    fn edit_slots(&self, change: impl FnOnce(&mut HashMap<K, Arc<Slot<V, E>>>) -> bool) {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if change(&mut slots) {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone, E: Clone> SingleFlightCache<K, V, E> {
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn slot(&self, key: &K) -> Arc<Slot<V, E>> {
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        // Looked up first: the key is cloned only for a new slot.
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        slots.entry(key.clone()).or_default().clone()
    }

    /// The cached value for `key` if `accept` takes it, else the outcome of the run in
    /// progress, else the result of a new run of `compute`. A failure is shared with
    /// everyone who waited for that run and answered for [`FAILURE_BACKOFF`] after.
    pub async fn get_or_compute<F, Fut>(&self, key: &K, accept: Accept, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Kept<V>, E>>,
    {
        self.get_or_compute_noting(key, accept, compute).await.0
    }

    /// As [`SingleFlightCache::get_or_compute`], also telling whether the answer was a
    /// fresh cached value and until when (None: stale, computed, or a failure), in the
    /// same look-up.
    pub async fn get_or_compute_noting<F, Fut>(
        &self,
        key: &K,
        accept: Accept,
        compute: F,
    ) -> (Result<V, E>, Option<FreshHit>)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Kept<V>, E>>,
    {
        // Read first: a change after it moves it, so the hit is never reported as
        // lasting past a change it did not see.
        let generation = self.generation();
        let slot = self.slot(key);
        let seen = {
            let outcome = slot.read();
            let now = self.clock.now();
            if let Some(value) = usable(&outcome.kept, accept, now) {
                let hit = outcome
                    .kept
                    .as_ref()
                    .filter(|kept| outcome.failure.is_none() && now < kept.fresh_until)
                    .map(|kept| FreshHit {
                        generation,
                        until: kept.fresh_until,
                    });
                return (Ok(value), hit);
            }
            if let Some((error, failed_at)) = &outcome.failure {
                if now < *failed_at + self.backoff {
                    return (Err(error.clone()), None);
                }
            }
            outcome.runs
        };
        (self.run_or_join(&slot, seen, compute).await, None)
    }

    /// Computes `key` again whatever is cached, unless a run finishes while this one
    /// waits for it (then that run's outcome is this one's). For background refresh.
    pub async fn refresh<F, Fut>(&self, key: &K, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Kept<V>, E>>,
    {
        let slot = self.slot(key);
        let seen = slot.read().runs;
        self.run_or_join(&slot, seen, compute).await
    }

    async fn run_or_join<F, Fut>(&self, slot: &Slot<V, E>, seen: u64, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Kept<V>, E>>,
    {
        let _flight = slot.flight.lock().await;
        {
            let outcome = slot.read();
            // A run finished while we waited: it started after we asked, so its
            // outcome is as new as one of our own would be, fresh or not.
            if outcome.runs != seen {
                if let Some((error, _)) = &outcome.failure {
                    return Err(error.clone());
                }
                if let Some(kept) = &outcome.kept {
                    return Ok(kept.value.clone());
                }
            }
        }
        let result = compute().await;
        let now = self.clock.now();
        slot.write(&self.generation, |outcome| {
            outcome.runs += 1;
            match result {
                Ok(kept) => {
                    let value = kept.value.clone();
                    outcome.kept = Some(kept);
                    outcome.failure = None;
                    Ok(value)
                }
                Err(error) => {
                    // The last good value stays: it may still be valid while retries fail.
                    outcome.failure = Some((error.clone(), now));
                    Err(error)
                }
            }
        })
    }

    /// What is known about `key` now, without waiting.
    pub fn status(&self, key: &K) -> KeyStatus<V, E> {
        let slot = self
            .slots
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(key)
            .cloned();
        let Some(slot) = slot else {
            return KeyStatus {
                kept: None,
                failure: None,
                computing: false,
            };
        };
        let computing = slot.flight.try_lock().is_err();
        let outcome = slot.read();
        KeyStatus {
            kept: outcome.kept.clone(),
            failure: outcome.failure.clone(),
            computing,
        }
    }

    /// Forgets `key` unless a run for it is in progress: for values that are not kept
    /// after their run, so the map does not grow with every distinct request.
    pub fn forget_if_idle(&self, key: &K) {
        self.edit_slots(|slots| {
            let idle = slots
                .get(key)
                .is_some_and(|slot| slot.flight.try_lock().is_ok());
            idle && slots.remove(key).is_some()
        });
    }

    /// The keys with a slot (a value, a failure or a run).
    pub fn keys(&self) -> Vec<K> {
        self.slots
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// Forgets keys `keep` says no to (sources no longer configured).
    pub fn retain(&self, mut keep: impl FnMut(&K) -> bool) {
        self.edit_slots(|slots| {
            let before = slots.len();
            slots.retain(|key, _| keep(key));
            slots.len() != before
        });
    }

    /// Forgets every cached value and failure. A run in progress still finishes for
    /// those waiting on it, into a slot no longer in the cache.
    pub fn clear(&self) {
        self.edit_slots(|slots| {
            slots.clear();
            true
        });
    }
}

fn usable<V: Clone>(kept: &Option<Kept<V>>, accept: Accept, now: OffsetDateTime) -> Option<V> {
    let kept = kept.as_ref()?;
    let until = match accept {
        Accept::Fresh => kept.fresh_until,
        Accept::Valid => kept.valid_until,
    };
    (now < until).then(|| kept.value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn manual() -> (ManualClock, SingleFlightCache<&'static str, u32, String>) {
        let clock = ManualClock::new(OffsetDateTime::UNIX_EPOCH);
        let cache = SingleFlightCache::new(Arc::new(clock.clone()), FAILURE_BACKOFF);
        (clock, cache)
    }

    fn kept(value: u32, now: OffsetDateTime, fresh: u64, valid: u64) -> Kept<u32> {
        Kept {
            value,
            fresh_until: now + Duration::from_secs(fresh),
            valid_until: now + Duration::from_secs(valid),
        }
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_computation() {
        let cache: Arc<SingleFlightCache<&str, u32, ()>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let cache = cache.clone();
            let runs = runs.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_compute(&"k", Accept::Fresh, || async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(kept(7, OffsetDateTime::now_utc(), 60, 60))
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
    async fn concurrent_waiters_share_one_failure() {
        let cache: Arc<SingleFlightCache<&str, u32, String>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let (cache, runs) = (cache.clone(), runs.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_compute(&"k", Accept::Fresh, || async {
                            runs.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            Err("hung".to_string())
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Err("hung".to_string()));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failure_is_answered_until_the_backoff_ends() {
        let (clock, cache) = manual();
        let failing = || async { Err::<Kept<u32>, _>("no".to_string()) };
        assert_eq!(
            cache.get_or_compute(&"k", Accept::Fresh, failing).await,
            Err("no".into())
        );
        let not_run = || async { unreachable!("ran during the back-off") };
        assert_eq!(
            cache.get_or_compute(&"k", Accept::Fresh, not_run).await,
            Err("no".into())
        );
        clock.advance(FAILURE_BACKOFF);
        let now = clock.now();
        let ok = cache
            .get_or_compute(
                &"k",
                Accept::Fresh,
                || async move { Ok(kept(2, now, 9, 9)) },
            )
            .await;
        assert_eq!(ok, Ok(2));
        assert!(cache.status(&"k").failure.is_none());
    }

    #[tokio::test]
    async fn fresh_hits_carry_the_generation_that_changes_move() {
        let (_clock, cache) = manual();
        let now = cache.clock().now();
        let computed = cache
            .get_or_compute_noting(
                &"k",
                Accept::Fresh,
                || async move { Ok(kept(1, now, 10, 20)) },
            )
            .await;
        assert_eq!(computed, (Ok(1), None), "a computed value is no hit");
        let generation = cache.generation();
        let not_run = || async { unreachable!("a fresh value was cached") };
        let (value, hit) = cache
            .get_or_compute_noting(&"k", Accept::Fresh, not_run)
            .await;
        assert_eq!(value, Ok(1));
        assert_eq!(
            hit,
            Some(FreshHit {
                generation,
                until: now + Duration::from_secs(10)
            })
        );
        cache.retain(|_| true);
        assert_eq!(cache.generation(), generation, "nothing was forgotten");
        cache.retain(|_| false);
        assert_ne!(cache.generation(), generation);
        let generation = cache.generation();
        cache.clear();
        assert_ne!(cache.generation(), generation);
    }

    #[tokio::test]
    async fn stale_values_are_served_to_valid_takers_only() {
        let (clock, cache) = manual();
        let now = clock.now();
        let first = cache
            .get_or_compute(
                &"k",
                Accept::Fresh,
                || async move { Ok(kept(1, now, 10, 20)) },
            )
            .await;
        assert_eq!(first, Ok(1));
        clock.advance(Duration::from_secs(15));
        let not_run = || async { unreachable!("a valid value was cached") };
        assert_eq!(
            cache.get_or_compute(&"k", Accept::Valid, not_run).await,
            Ok(1)
        );
        let now = clock.now();
        let fresh = cache
            .get_or_compute(
                &"k",
                Accept::Fresh,
                || async move { Ok(kept(2, now, 10, 20)) },
            )
            .await;
        assert_eq!(fresh, Ok(2));
        // A failed refresh keeps the last good value for those who take valid ones.
        let failed = cache
            .refresh(&"k", || async { Err("down".to_string()) })
            .await;
        assert_eq!(failed, Err("down".into()));
        let status = cache.status(&"k");
        assert_eq!(status.kept.map(|kept| kept.value), Some(2));
        assert_eq!(status.failure.map(|(error, _)| error), Some("down".into()));
        assert_eq!(
            cache.get_or_compute(&"k", Accept::Valid, not_run).await,
            Ok(2)
        );
    }
}
