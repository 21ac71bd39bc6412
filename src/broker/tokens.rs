//! IMDSv2 session tokens: opaque strings valid until their TTL ends, from any caller.
//!
//! The store reads the time through a `now` function (the monotonic clock unless
//! [`TokenStore::with_clock`] says otherwise), so expiry is tested on a clock the test moves
//! instead of by waiting out real seconds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::RngCore;

/// Sweep expired tokens once the table grows past this many.
const SWEEP_ABOVE: usize = 4096;

/// Where a store reads the current time.
type Clock = Box<dyn Fn() -> Instant + Send + Sync>;

pub struct TokenStore {
    tokens: Mutex<HashMap<String, Instant>>,
    now: Clock,
}

impl Default for TokenStore {
    fn default() -> Self {
        Self::with_clock(Instant::now)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    Valid,
    /// Never issued (garbage) or issued and expired: EC2 answers 401 to both.
    Invalid,
}

impl TokenStore {
    /// A store that reads the time from `now` (which must never go backwards).
    pub fn with_clock(now: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        Self {
            tokens: Mutex::default(),
            now: Box::new(now),
        }
    }

    /// Issues a token valid for `ttl`. 40 random bytes in base64, like EC2's 56-character tokens.
    pub fn issue(&self, ttl: Duration) -> String {
        let mut bytes = [0u8; 40];
        rand::rng().fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::STANDARD.encode(bytes);
        let now = (self.now)();
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if tokens.len() > SWEEP_ABOVE {
            tokens.retain(|_, expires| *expires > now);
        }
        tokens.insert(token.clone(), now + ttl);
        token
    }

    pub fn check(&self, token: &str) -> TokenCheck {
        let now = (self.now)();
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        match tokens.get(token) {
            Some(expires) if *expires > now => TokenCheck::Valid,
            _ => TokenCheck::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    /// A clock that moves only when the test advances it.
    fn manual_clock() -> (
        Arc<Mutex<Instant>>,
        impl Fn() -> Instant + Send + Sync + 'static,
    ) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let reader = now.clone();
        (now, move || *reader.lock().expect("clock lock"))
    }

    #[test]
    fn tokens_expire_and_garbage_is_invalid() {
        let (clock, now) = manual_clock();
        let store = TokenStore::with_clock(now);
        let token = store.issue(Duration::from_millis(30));
        assert_eq!(token.len(), 56);
        assert_eq!(store.check(&token), TokenCheck::Valid);
        assert_eq!(store.check("garbage"), TokenCheck::Invalid);
        *clock.lock().expect("clock lock") += Duration::from_millis(29);
        assert_eq!(
            store.check(&token),
            TokenCheck::Valid,
            "before its TTL ends"
        );
        *clock.lock().expect("clock lock") += Duration::from_millis(1);
        assert_eq!(
            store.check(&token),
            TokenCheck::Invalid,
            "when its TTL ends"
        );
    }

    #[test]
    fn expired_tokens_are_swept_once_the_table_is_large() {
        let (clock, now) = manual_clock();
        let store = TokenStore::with_clock(now);
        let old: Vec<String> = (0..=SWEEP_ABOVE)
            .map(|_| store.issue(Duration::from_secs(1)))
            .collect();
        *clock.lock().expect("clock lock") += Duration::from_secs(1);
        let fresh = store.issue(Duration::from_secs(60));
        let kept = store.tokens.lock().expect("tokens lock").len();
        assert_eq!(kept, 1, "expired tokens kept after a sweep");
        assert_eq!(store.check(&fresh), TokenCheck::Valid);
        assert_eq!(store.check(&old[0]), TokenCheck::Invalid);
    }

    #[test]
    fn tokens_are_distinct() {
        let store = TokenStore::default();
        let a = store.issue(Duration::from_secs(60));
        let b = store.issue(Duration::from_secs(60));
        assert_ne!(a, b);
    }
}
