//! IMDSv2 session tokens, bound to the caller that asked for them (a token of one instance
//! is refused on another). Their per-caller pace is `pacer.rs`'s.
//!
//! Tokens are stateless: expiry, a nonce and a MAC over both and the caller's binding,
//! under a key made for this broker. Issuing and checking cost the same whatever the number
//! of live tokens, and checking takes no lock at all, so one caller's flood of token
//! requests cannot slow another caller's reads.
//!
//! The store reads the time through a `now` function (the monotonic clock unless
//! [`TokenStore::with_clock`] says otherwise), so expiry is tested on a clock the test moves
//! instead of by waiting out real seconds.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Token bytes: expiry (ms after the store's epoch), nonce, truncated MAC. 40 bytes are 56
/// base64 characters, the length of EC2's tokens.
const EXPIRY_LEN: usize = 8;
const NONCE_LEN: usize = 8;
const MAC_LEN: usize = 24;
const TOKEN_LEN: usize = EXPIRY_LEN + NONCE_LEN + MAC_LEN;

/// Where a store reads the current time.
type Clock = Box<dyn Fn() -> Instant + Send + Sync>;

pub struct TokenStore {
    /// HMAC under this store's random key, with the key already absorbed: every issue and
    /// check starts from a copy instead of hashing the key again.
    keyed: Hmac<Sha256>,
    /// Expiries count from here.
    epoch: Instant,
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
    /// Never issued (garbage), issued to another caller, or expired: EC2 answers 401.
    Invalid,
}

impl TokenStore {
    /// A store that reads the time from `now` (which must never go backwards).
    pub fn with_clock(now: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        // A 32-byte key is always accepted by HMAC.
        let keyed = <Hmac<Sha256> as Mac>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Self {
            keyed,
            epoch: now(),
            now: Box::new(now),
        }
    }

    /// Issues a token valid for `ttl`, for the caller `binding` names (see [`binding`]).
    pub fn issue(&self, ttl: Duration, binding: &str) -> String {
        let expires = self.millis_now().saturating_add(millis(ttl));
        let mut bytes = [0u8; TOKEN_LEN];
        bytes[..EXPIRY_LEN].copy_from_slice(&expires.to_be_bytes());
        rand::rng().fill_bytes(&mut bytes[EXPIRY_LEN..EXPIRY_LEN + NONCE_LEN]);
        let mac = self.mac(&bytes[..EXPIRY_LEN + NONCE_LEN], binding);
        bytes[EXPIRY_LEN + NONCE_LEN..].copy_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Valid when this store issued `token` to the caller `binding` names and it has not
    /// expired.
    pub fn check(&self, token: &str, binding: &str) -> TokenCheck {
        let mut bytes = [0u8; TOKEN_LEN];
        let decoded = base64::engine::general_purpose::STANDARD.decode_slice(token, &mut bytes);
        if decoded != Ok(TOKEN_LEN) {
            return TokenCheck::Invalid;
        }
        let (head, tag) = bytes.split_at(EXPIRY_LEN + NONCE_LEN);
        if self.mac(head, binding).verify_truncated_left(tag).is_err() {
            return TokenCheck::Invalid;
        }
        let mut expiry = [0u8; EXPIRY_LEN];
        expiry.copy_from_slice(&head[..EXPIRY_LEN]);
        if u64::from_be_bytes(expiry) > self.millis_now() {
            TokenCheck::Valid
        } else {
            TokenCheck::Invalid
        }
    }

    fn mac(&self, head: &[u8], binding: &str) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(head);
        mac.update(binding.as_bytes());
        mac
    }

    fn millis_now(&self) -> u64 {
        millis((self.now)().saturating_duration_since(self.epoch))
    }
}

/// The binding of callers that are no container: the host as a whole.
pub const HOST_BINDING: &str = "host";

/// What a token is bound to: the caller's address and, when known, its container. A
/// token survives its container's change of identity, not a move to another container.
pub fn binding(ip: IpAddr, container: Option<&str>) -> String {
    match container {
        Some(name) => format!("{ip}|{name}"),
        None => ip.to_string(),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::{Arc, Mutex};

    /// A clock that moves only when the test advances it.
    fn manual_clock() -> (
        Arc<Mutex<Instant>>,
        impl Fn() -> Instant + Send + Sync + 'static,
    ) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let reader = now.clone();
        (now, move || *reader.lock().expect("clock lock"))
    }

    const A: &str = "169.254.0.7|app-a";
    const B: &str = "169.254.0.8|app-b";

    #[test]
    fn tokens_expire_and_garbage_is_invalid() {
        let (clock, now) = manual_clock();
        let store = TokenStore::with_clock(now);
        let token = store.issue(Duration::from_millis(30), A);
        assert_eq!(token.len(), 56);
        assert_eq!(store.check(&token, A), TokenCheck::Valid);
        assert_eq!(store.check("garbage", A), TokenCheck::Invalid);
        assert_eq!(store.check("", A), TokenCheck::Invalid);
        *clock.lock().expect("clock lock") += Duration::from_millis(29);
        assert_eq!(
            store.check(&token, A),
            TokenCheck::Valid,
            "before its TTL ends"
        );
        *clock.lock().expect("clock lock") += Duration::from_millis(1);
        assert_eq!(
            store.check(&token, A),
            TokenCheck::Invalid,
            "when its TTL ends"
        );
    }

    #[test]
    fn a_token_works_only_for_its_caller_and_its_store() {
        let store = TokenStore::default();
        let token = store.issue(Duration::from_secs(60), A);
        assert_eq!(store.check(&token, A), TokenCheck::Valid);
        assert_eq!(store.check(&token, B), TokenCheck::Invalid);
        let restarted = TokenStore::default();
        assert_eq!(restarted.check(&token, A), TokenCheck::Invalid);
        // One changed character anywhere is a forgery.
        let mut forged = token.into_bytes();
        forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).expect("ascii");
        assert_eq!(store.check(&forged, A), TokenCheck::Invalid);
    }

    #[test]
    fn tokens_are_distinct() {
        let store = TokenStore::default();
        let a = store.issue(Duration::from_secs(60), A);
        let b = store.issue(Duration::from_secs(60), A);
        assert_ne!(a, b);
    }

    #[test]
    fn bindings_name_the_address_and_the_container() {
        let ip: IpAddr = "169.254.0.7".parse().expect("ip");
        assert_eq!(binding(ip, Some("app-a")), A);
        assert_eq!(binding(ip, None), "169.254.0.7");
    }
}
