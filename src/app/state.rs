//! The dashboard's state: what the panes share, and the panes themselves. Input
//! changes it through `update`; drawing only reads it.

use std::net::SocketAddr;
use std::sync::Arc;

use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::broker::ExchangeRecord;
use crate::config::{Config, ConfigStore, Identity};

use super::action::{Effect, Part, PartState, SessionUpdate, Tab};
use super::exchanges::ExchangeList;
use super::form::Input;
use super::panes::containers::ContainersPane;
use super::panes::credentials::CredentialsPane;
use super::panes::events::EventsPane;
use super::panes::help::HelpPane;
use super::panes::identity::IdentityPane;
use super::panes::logs::LogsPane;
use super::panes::requests::RequestsPane;
use super::panes::settings::SettingsPane;

/// Exchanges the dashboard keeps when the configuration does not say.
pub const DEFAULT_KEPT: usize = 10_000;
/// How long a footer message stays.
const MESSAGE_SECONDS: i64 = 8;

/// Everything the dashboard reacts to.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Tick(OffsetDateTime),
    Exchange(Arc<ExchangeRecord>),
    Session(SessionUpdate),
}

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
}

/// The shared state and one component per pane, each owning its cursors and scroll.
pub struct App {
    pub(crate) shared: Shared,
    pub(crate) requests: RequestsPane,
    pub(crate) identity: IdentityPane,
    pub(crate) credentials: CredentialsPane,
    pub(crate) settings: SettingsPane,
    pub(crate) events: EventsPane,
    pub(crate) containers: ContainersPane,
    pub(crate) logs: LogsPane,
    pub(crate) help: HelpPane,
}

impl Shared {
    fn new(store: ConfigStore, now: OffsetDateTime) -> Shared {
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
        });
    }

    pub(crate) fn complain(&mut self, text: impl Into<String>) {
        let text = text.into();
        tracing::warn!("{text}");
        self.message = Some(Message {
            text,
            is_error: true,
            at: self.now,
        });
    }

    fn on_tick(&mut self, now: OffsetDateTime) {
        self.now = now;
        if self
            .message
            .as_ref()
            .is_some_and(|message| (now - message.at).whole_seconds() >= MESSAGE_SECONDS)
        {
            self.message = None;
        }
    }
}

impl App {
    /// A dashboard over this configuration; `now` is the clock until the first tick.
    pub fn new(store: ConfigStore, now: OffsetDateTime) -> App {
        let kept = match store.current().broker.record_capacity {
            0 => DEFAULT_KEPT,
            capacity => capacity,
        };
        App {
            shared: Shared::new(store, now),
            requests: RequestsPane::new(ExchangeList::new(kept)),
            identity: IdentityPane::default(),
            credentials: CredentialsPane::default(),
            settings: SettingsPane::default(),
            events: EventsPane::default(),
            containers: ContainersPane::default(),
            logs: LogsPane::default(),
            help: HelpPane::default(),
        }
    }

    pub fn config(&self) -> Arc<Config> {
        self.shared.config()
    }

    pub fn store(&self) -> &ConfigStore {
        &self.shared.store
    }

    /// Why the file on disk is not in force, while it is invalid.
    pub fn config_error(&self) -> Option<String> {
        self.shared.config_error()
    }

    pub fn tab(&self) -> Tab {
        self.shared.tab
    }

    pub fn part(&self, part: Part) -> &PartState {
        self.shared.part(part)
    }

    pub fn exchanges(&self) -> &ExchangeList {
        &self.requests.exchanges
    }

    pub fn reveal(&self) -> bool {
        self.shared.reveal
    }

    pub fn input(&self) -> Option<&Input> {
        self.shared.input.as_ref()
    }

    pub fn message(&self) -> Option<&Message> {
        self.shared.message.as_ref()
    }

    pub fn should_quit(&self) -> bool {
        self.shared.quit
    }

    /// Shown while the session shuts down after quit.
    pub fn set_stopping(&mut self) {
        self.shared.stopping = true;
    }

    /// Session work asked for since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.shared.effects)
    }

    pub fn set_size(&mut self, width: u16, height: u16) {
        self.shared.size = (width, height);
        self.requests.resized(&self.shared);
    }

    /// The identity the identity and credentials panes show.
    pub fn shown_identity(&self) -> Option<Identity> {
        self.shared.shown_identity()
    }

    pub(crate) fn on_tick(&mut self, now: OffsetDateTime) {
        self.shared.on_tick(now);
    }

    /// The exchanges now come from another recorder (its ids start over).
    pub fn follow_new_recorder(&mut self) {
        self.requests.exchanges.restart_ids();
    }

    /// A new exchange from the broker.
    pub fn push_exchange(&mut self, record: Arc<ExchangeRecord>) {
        self.credentials.note_exchange(&record);
        self.requests.exchanges.push(record);
    }

    pub(crate) fn on_session(&mut self, update: SessionUpdate) {
        let shared = &mut self.shared;
        match update {
            SessionUpdate::Part(part, state) => {
                if part == Part::Proxy && !matches!(state, PartState::Starting(_)) {
                    shared.pull = None;
                }
                shared.parts[part.index()] = state;
            }
            SessionUpdate::Pull {
                image,
                current,
                total,
            } => {
                shared.pull = Some(PullProgress {
                    image,
                    current,
                    total,
                });
            }
            SessionUpdate::Containers(containers) => self.containers.set_rows(containers),
            SessionUpdate::BrokerAddress(addr) => shared.broker_addr = addr,
            SessionUpdate::Notice(text) => shared.inform(text),
            SessionUpdate::Failed(text) => shared.complain(text),
        }
    }
}
