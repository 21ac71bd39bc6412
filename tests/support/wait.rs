//! Waiting on conditions instead of sleeping, and time that moves only when a test says so.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often [`wait_until`] looks again.
const POLL: Duration = Duration::from_millis(50);

/// Checks `condition` until it holds (true) or `timeout` has passed (false). The condition
/// is checked once more at the deadline, so a slow machine only costs time, never a result.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match look(deadline, &mut condition) {
            Look::Holds => return true,
            Look::Again(pause) => std::thread::sleep(pause),
            Look::Last => return condition(),
        }
    }
}

/// What one look at the condition says to do next.
enum Look {
    Holds,
    /// Not yet: look again after this pause.
    Again(Duration),
    /// The deadline has passed: one last look decides.
    Last,
}

fn look(deadline: Instant, condition: &mut impl FnMut() -> bool) -> Look {
    if condition() {
        return Look::Holds;
    }
    match deadline.checked_duration_since(Instant::now()) {
        Some(left) if !left.is_zero() => Look::Again(POLL.min(left)),
        _ => Look::Last,
    }
}

/// The first `Some` that `probe` returns within `timeout`.
pub fn wait_for<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let mut found = None;
    wait_until(timeout, || {
        found = probe();
        found.is_some()
    });
    found
}

/// [`wait_until`] for async tests: the runtime keeps running while it waits, so a
/// condition that depends on the test's own server can come true.
pub async fn wait_until_async(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match look(deadline, &mut condition) {
            Look::Holds => return true,
            Look::Again(pause) => tokio::time::sleep(pause).await,
            Look::Last => return condition(),
        }
    }
}

/// The records of a `--log-requests` file once `done` holds for them; waits up to 10 s,
/// then fails the test with how many records had arrived.
pub fn wait_for_records(
    log: &Path,
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let read = || -> Vec<serde_json::Value> {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    };
    wait_until(Duration::from_secs(10), || done(&read()));
    let records = read();
    assert!(
        done(&records),
        "request log incomplete: {} records",
        records.len()
    );
    records
}

/// A monotonic clock that stands still until [`ManualClock::advance`] moves it; handed to
/// the code under test as a `now` function ([`ManualClock::reader`]).
#[derive(Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Instant>>,
}

impl ManualClock {
    pub fn new() -> Self {
        Self {
            now: Arc::new(Mutex::new(Instant::now())),
        }
    }

    pub fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().unwrap_or_else(|poison| poison.into_inner()) += by;
    }

    /// A `now` function reading this clock.
    pub fn reader(&self) -> impl Fn() -> Instant + Send + Sync + 'static {
        let clock = self.clone();
        move || clock.now()
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}
