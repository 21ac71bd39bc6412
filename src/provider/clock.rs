//! The wall clock behind cache expiry and background refresh, as a seam: tests move a
//! [`ManualClock`] instead of sleeping, while helper programs still run in real time
//! (tokio's paused time would fire their timeouts at once).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;
use tokio::sync::watch;

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Wall time, because credentials expire at a wall-clock `Expiration`.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
    /// `now()` in nanoseconds since the Unix epoch, for a hot path that compares with a
    /// deadline converted once: building an `OffsetDateTime` costs more than the look-up
    /// such a comparison guards.
    fn unix_nanos(&self) -> i128 {
        self.now().unix_timestamp_nanos()
    }
    /// Resolves once `now() >= deadline`.
    fn sleep_until(&self, deadline: OffsetDateTime) -> Sleep;
}

/// Longest single sleep of the system clock. Tokio sleeps on the monotonic clock, which
/// stands still while a laptop is suspended; waking up to look at the wall clock keeps a
/// refresh due during the suspension from waiting hours past it.
const WALL_CLOCK_CHECK: Duration = Duration::from_secs(30);

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn unix_nanos(&self) -> i128 {
        match SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            Ok(since) => i128::try_from(since.as_nanos()).unwrap_or(i128::MAX),
            Err(before) => -i128::try_from(before.duration().as_nanos()).unwrap_or(i128::MAX),
        }
    }

    fn sleep_until(&self, deadline: OffsetDateTime) -> Sleep {
        Box::pin(async move {
            loop {
                let left = deadline - OffsetDateTime::now_utc();
                let Ok(left) = Duration::try_from(left) else {
                    return;
                };
                if left.is_zero() {
                    return;
                }
                tokio::time::sleep(left.min(WALL_CLOCK_CHECK)).await;
            }
        })
    }
}

/// A clock that moves only when told to; sleepers wake when it passes their deadline.
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<OffsetDateTime>>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(watch::channel(start).0),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now += by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: OffsetDateTime) -> Sleep {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as any clone of the clock; if it is gone, so is
            // everyone who could move time, and the sleep never ends, like a real one
            // to a deadline far away.
            if now.wait_for(|now| *now >= deadline).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_tells_the_same_time_in_both_forms() {
        let before = OffsetDateTime::now_utc().unix_timestamp_nanos();
        let nanos = SystemClock.unix_nanos();
        let after = SystemClock.now().unix_timestamp_nanos();
        assert!(
            before <= nanos && nanos <= after,
            "{before} {nanos} {after}"
        );
        let manual = ManualClock::new(OffsetDateTime::UNIX_EPOCH + Duration::from_secs(5));
        assert_eq!(manual.unix_nanos(), 5_000_000_000);
    }

    #[tokio::test]
    async fn manual_sleepers_wake_when_time_passes_their_deadline() {
        let start = OffsetDateTime::UNIX_EPOCH;
        let clock = ManualClock::new(start);
        let sleeper = tokio::spawn(clock.sleep_until(start + Duration::from_secs(60)));
        clock.advance(Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_secs(30));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(clock.now(), start + Duration::from_secs(60));
    }

    #[tokio::test]
    async fn system_sleep_to_the_past_returns_at_once() {
        let past = OffsetDateTime::now_utc() - Duration::from_secs(5);
        tokio::time::timeout(Duration::from_secs(1), SystemClock.sleep_until(past))
            .await
            .unwrap();
    }
}
