//! The credentials answers a thread served last. SDKs poll the same credentials over and
//! over; while the resolver would answer the same, the next request for them is answered
//! from here, without the resolver's shared lock, hashing or rendering.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::config::Config;
use crate::memo::Memo;

use super::credentials::Reuse;

/// Answers kept per thread: enough for the identities of a busy network polled in turn.
const KEPT_PER_THREAD: usize = 8;

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// Whose answers these are: one per provider, so that providers (tests run several on
/// one thread) never see each other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner(u64);

impl Owner {
    pub fn new() -> Self {
        Self(NEXT_OWNER.fetch_add(1, Ordering::Relaxed))
    }
}

/// A credentials question: the same one is answered the same while the configuration
/// it was asked under is in force and the resolver says its answer is current.
pub struct Question<'a> {
    pub owner: Owner,
    pub config: &'a Arc<Config>,
    pub identity: &'a str,
    /// The `security-credentials-extended` rendering.
    pub extended: bool,
}

struct Served {
    owner: Owner,
    config: Arc<Config>,
    identity: Box<str>,
    extended: bool,
    reuse: Reuse,
    body: Bytes,
}

impl Served {
    fn answers(&self, question: &Question) -> bool {
        self.owner == question.owner
            && self.extended == question.extended
            && Arc::ptr_eq(&self.config, question.config)
            && *self.identity == *question.identity
    }
}

thread_local! {
    static SERVED: RefCell<Memo<Served, KEPT_PER_THREAD>> = const { RefCell::new(Memo::new()) };
}

/// The body this thread last served for `question`, if `is_current` still holds for it.
/// One that no longer holds is dropped at once (its secret with it).
pub fn recall(question: &Question, is_current: impl Fn(&Reuse) -> bool) -> Option<Bytes> {
    SERVED.with_borrow_mut(|served| {
        let kept = served.find(|kept| kept.answers(question))?;
        if is_current(&kept.reuse) {
            return Some(kept.body.clone());
        }
        served.forget(|kept| kept.answers(question));
        None
    })
}

/// Keeps `body` as this thread's answer to `question` while `reuse` is current.
pub fn keep(question: &Question, reuse: Reuse, body: Bytes) {
    SERVED.with_borrow_mut(|served| {
        served.remember(
            Served {
                owner: question.owner,
                config: question.config.clone(),
                identity: question.identity.into(),
                extended: question.extended,
                reuse,
                body,
            },
            |kept| kept.answers(question),
        );
    });
}
