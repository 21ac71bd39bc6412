//! Per-caller pacing, like a leaky bucket (GCRA): up to `rate` requests a second from one
//! caller, a burst on top, then each request waits for its turn, and one that would wait
//! longer than the pacer allows is refused. One caller's flood is slowed before it costs
//! its neighbours anything: a waiting request costs no CPU, and a client that waits for its
//! answers (every SDK and agent) is held to the pace.
//!
//! Two pacers use it: IMDSv2 token requests (`[imds] token_puts_per_second`, a second's
//! worth of burst; over the pace the connection is dropped, as EC2 does) and ECS task
//! metadata (the ECS agent's own default limit, 40 a second with a burst of 60; over the
//! pace the agent's 429).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Callers remembered at most before idle ones are swept.
const MAX_PACED_CALLERS: usize = 4096;

/// What a request from a caller must do to keep to its pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Now,
    After(Duration),
    /// Over the pace by more than the pacer's longest wait.
    Refuse,
}

/// How many requests beyond the pace pass at once.
#[derive(Debug, Clone, Copy)]
pub enum Burst {
    /// A second's worth, whatever the rate.
    OneSecond,
    Requests(u32),
}

/// Requests per caller address.
pub struct CallerPacer {
    /// Each caller's theoretical arrival time of its next request.
    next: Mutex<HashMap<IpAddr, Instant>>,
    burst: Burst,
    /// The longest a request waits for its turn before it is refused.
    max_delay: Duration,
}

impl CallerPacer {
    /// A pacer with `burst` whose requests wait at most `max_delay`.
    pub fn new(burst: Burst, max_delay: Duration) -> Self {
        Self {
            next: Mutex::new(HashMap::new()),
            burst,
            max_delay,
        }
    }

    /// IMDSv2 token requests: a second's worth of burst (the rate's own number), a second's
    /// wait at most, then dropped (docs/protocol.md §3: EC2 slows and drops, never 429).
    pub fn token_requests() -> Self {
        Self::new(Burst::OneSecond, Duration::from_secs(1))
    }

    /// ECS task metadata: the agent's default limit (40 a second, burst 60); a request
    /// waits up to a second for its turn, then gets the agent's 429.
    pub fn task_metadata() -> Self {
        Self::new(Burst::Requests(TASK_METADATA_BURST), Duration::from_secs(1))
    }

    /// Decides, at `now`, when `caller`'s request may be answered; `rate` 0 is no limit.
    pub fn pace(&self, caller: IpAddr, rate: u32, now: Instant) -> Pace {
        if rate == 0 {
            return Pace::Now;
        }
        let interval = Duration::from_secs(1) / rate;
        let burst = match self.burst {
            Burst::OneSecond => interval * rate,
            Burst::Requests(requests) => interval * requests,
        };
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        if next.len() >= MAX_PACED_CALLERS {
            next.retain(|_, at| *at > now);
        }
        let at = next.get(&caller).copied().unwrap_or(now).max(now);
        let wait = at.saturating_duration_since(now).saturating_sub(burst);
        if wait > self.max_delay {
            return Pace::Refuse;
        }
        next.insert(caller, at + interval);
        if wait.is_zero() {
            Pace::Now
        } else {
            Pace::After(wait)
        }
    }
}

/// The ECS agent's default task metadata limit (`ECS_TASK_METADATA_RPS_LIMIT=40,60`).
pub const TASK_METADATA_RATE: u32 = 40;
const TASK_METADATA_BURST: u32 = 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flooding_caller_is_slowed_then_dropped_and_others_are_not() {
        let pacer = CallerPacer::token_requests();
        let flood: IpAddr = "169.254.0.7".parse().expect("ip");
        let calm: IpAddr = "169.254.0.8".parse().expect("ip");
        let now = Instant::now();
        // A second's worth passes at once (burst), the next waits, far beyond is dropped.
        for _ in 0..=10 {
            assert_eq!(pacer.pace(flood, 10, now), Pace::Now);
        }
        assert_eq!(
            pacer.pace(flood, 10, now),
            Pace::After(Duration::from_millis(100))
        );
        for _ in 0..9 {
            pacer.pace(flood, 10, now);
        }
        assert_eq!(pacer.pace(flood, 10, now), Pace::Refuse);
        assert_eq!(pacer.pace(calm, 10, now), Pace::Now);
        assert_eq!(pacer.pace(flood, 0, now), Pace::Now, "rate 0 is no limit");
    }

    #[test]
    fn task_metadata_passes_the_agents_burst_then_keeps_its_rate() {
        let pacer = CallerPacer::task_metadata();
        let caller: IpAddr = "169.254.0.7".parse().expect("ip");
        let now = Instant::now();
        let paces: Vec<Pace> = (0..120)
            .map(|_| pacer.pace(caller, TASK_METADATA_RATE, now))
            .collect();
        let count = |wanted: fn(&Pace) -> bool| paces.iter().filter(|pace| wanted(pace)).count();
        // The burst of 60 and the one in hand pass at once, then a second's worth of turns
        // (one each 25 ms) wait, then the rest are refused.
        assert!(paces[..61].iter().all(|pace| *pace == Pace::Now));
        assert_eq!(paces[61], Pace::After(Duration::from_millis(25)));
        assert_eq!(count(|pace| matches!(pace, Pace::After(_))), 40);
        assert_eq!(count(|pace| *pace == Pace::Refuse), 120 - 61 - 40);
        // A second later the caller has its turns back.
        let later = now + Duration::from_secs(3);
        assert_eq!(pacer.pace(caller, TASK_METADATA_RATE, later), Pace::Now);
    }
}
