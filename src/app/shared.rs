//! What the panes share: the configuration, the session's news, the modal input and
//! question, the footer message, the work asked of the session.

use std::net::SocketAddr;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::config::{Config, ConfigStore, Identity};

use super::action::{Effect, Part, PartState, Tab};
use super::form::Input;

/// How long a footer message stays.
const MESSAGE_SECONDS: i64 = 8;

/// Image pull in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullProgress {
    pub image: String,
    pub current: u64,
    pub total: u64,
}

/// A line in the footer for a few seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub is_error: bool,
    pub at: OffsetDateTime,
    /// Stays until a key acknowledges it instead of fading after a few seconds.
    pub sticky: bool,
}

/// A question the user answers with y or n.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    DeleteIdentity(String),
}

/// What every pane may read and change: the configuration, the session's news,
/// the modal input and question, the footer message, the work asked of the session.
pub struct Shared {
    pub(crate) store: ConfigStore,
    pub(crate) config_errors: watch::Receiver<Option<String>>,
    pub(crate) tab: Tab,
    pub(crate) parts: [PartState; 3],
    pub(crate) pull: Option<PullProgress>,
    pub(crate) broker_addr: Option<SocketAddr>,
    pub(crate) reveal: bool,
    /// Identity shown in the identity and credentials panes (index into the config).
    pub(crate) identity_index: usize,
    pub(crate) input: Option<Input>,
    pub(crate) confirm: Option<Confirm>,
    pub(crate) message: Option<Message>,
    pub(crate) now: OffsetDateTime,
    pub(crate) size: (u16, u16),
    pub(crate) effects: Vec<Effect>,
    pub(crate) quit: bool,
    pub(crate) stopping: bool,
    /// Records the request-log file lost because its writer fell behind.
    pub(crate) log_dropped: u64,
}

impl Shared {
    pub(crate) fn new(store: ConfigStore, now: OffsetDateTime) -> Shared {
        let config = store.current();
        let identity_index = config
            .identities
            .iter()
            .position(|identity| identity.name == config.active_identity)
            .unwrap_or(0);
        Shared {
            config_errors: store.errors(),
            store,
            tab: Tab::Requests,
            parts: [PartState::Stopped, PartState::Stopped, PartState::Stopped],
            pull: None,
            broker_addr: None,
            reveal: false,
            identity_index,
            input: None,
            confirm: None,
            log_dropped: 0,
            message: None,
            now,
            size: (80, 24),
            effects: Vec::new(),
            quit: false,
            stopping: false,
        }
    }

    pub fn config(&self) -> Arc<Config> {
        self.store.current()
    }

    /// Why the file on disk is not in force, while it is invalid.
    pub fn config_error(&self) -> Option<String> {
        self.config_errors.borrow().clone()
    }

    pub fn part(&self, part: Part) -> &PartState {
        &self.parts[part.index()]
    }

    /// Index of the shown identity, kept inside the configured ones.
    pub fn shown_index(&self) -> usize {
        let count = self.config().identities.len();
        self.identity_index.min(count.saturating_sub(1))
    }

    /// The identity the identity and credentials panes show.
    pub fn shown_identity(&self) -> Option<Identity> {
        self.config().identities.get(self.shown_index()).cloned()
    }

    /// Moves the shown identity by `step` in the list, stopping at either end.
    pub fn move_shown_identity(&mut self, step: isize) {
        let last = self.config().identities.len().saturating_sub(1);
        self.identity_index = self.shown_index().saturating_add_signed(step).min(last);
    }

    pub(crate) fn inform(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            is_error: false,
            at: self.now,
            sticky: false,
        });
    }

    pub(crate) fn complain(&mut self, text: impl Into<String>) {
        let text = text.into();
        tracing::warn!("{text}");
        self.message = Some(Message {
            text,
            is_error: true,
            at: self.now,
            sticky: false,
        });
    }

    /// Trouble nobody asked about (a caller that cannot be named): it must not fade
    /// before someone has seen it.
    pub(crate) fn warn(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: format!("⚠ {}", text.into()),
            is_error: true,
            at: self.now,
            sticky: true,
        });
    }

    pub(crate) fn on_tick(&mut self, now: OffsetDateTime) {
        self.now = now;
        if self.message.as_ref().is_some_and(|message| {
            !message.sticky && (now - message.at).whole_seconds() >= MESSAGE_SECONDS
        }) {
            self.message = None;
        }
    }
}
