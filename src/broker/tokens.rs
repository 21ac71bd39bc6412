//! IMDSv2 session tokens: opaque strings valid until their TTL ends, from any caller.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use rand::RngCore;

/// Sweep expired tokens once the table grows past this many.
const SWEEP_ABOVE: usize = 4096;

#[derive(Default)]
pub struct TokenStore {
    tokens: Mutex<HashMap<String, Instant>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    Valid,
    /// Never issued (garbage) or issued and expired: EC2 answers 401 to both.
    Invalid,
}

impl TokenStore {
    /// Issues a token valid for `ttl`. 40 random bytes in base64, like EC2's 56-character tokens.
    pub fn issue(&self, ttl: Duration) -> String {
        let mut bytes = [0u8; 40];
        rand::rng().fill_bytes(&mut bytes);
        let token = base64::engine::general_purpose::STANDARD.encode(bytes);
        let now = Instant::now();
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
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        match tokens.get(token) {
            Some(expires) if *expires > Instant::now() => TokenCheck::Valid,
            _ => TokenCheck::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_garbage_is_invalid() {
        let store = TokenStore::default();
        let token = store.issue(Duration::from_millis(30));
        assert_eq!(token.len(), 56);
        assert_eq!(store.check(&token), TokenCheck::Valid);
        assert_eq!(store.check("garbage"), TokenCheck::Invalid);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(store.check(&token), TokenCheck::Invalid);
    }

    #[test]
    fn tokens_are_distinct() {
        let store = TokenStore::default();
        let a = store.issue(Duration::from_secs(60));
        let b = store.issue(Duration::from_secs(60));
        assert_ne!(a, b);
    }
}
