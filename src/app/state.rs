//! The dashboard's state. Input changes it through `update`; drawing only reads it.

use std::net::SocketAddr;
use std::sync::Arc;

use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::broker::ExchangeRecord;
use crate::config::{Config, ConfigStore, Identity};

use super::action::{ContainerRow, Effect, Part, PartState, SessionUpdate, Tab};
use super::exchanges::ExchangeList;
use super::form::Input;

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

/// The most recent provider failure on a credentials path, shown in the credentials pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsFailure {
    pub time: String,
    pub identity: String,
    pub error: String,
}

pub struct App {
    pub(crate) store: ConfigStore,
    pub(crate) config_errors: watch::Receiver<Option<String>>,
    pub(crate) tab: Tab,
    pub(crate) parts: [PartState; 3],
    pub(crate) pull: Option<PullProgress>,
    pub(crate) broker_addr: Option<SocketAddr>,
    pub(crate) exchanges: ExchangeList,
    pub(crate) detail_focused: bool,
    pub(crate) detail_scroll: u16,
    pub(crate) reveal: bool,
    /// Identity shown in the identity and credentials panes (index into the config).
    pub(crate) identity_index: usize,
    pub(crate) identity_field: usize,
    pub(crate) credential_row: usize,
    pub(crate) setting_row: usize,
    /// Status used when the error rate is switched on.
    pub(crate) error_status: u16,
    pub(crate) event_row: usize,
    pub(crate) containers: Option<Vec<ContainerRow>>,
    pub(crate) container_row: usize,
    pub(crate) log_state: tui_logger::TuiWidgetState,
    pub(crate) input: Option<Input>,
    pub(crate) confirm: Option<Confirm>,
    pub(crate) help_scroll: Option<u16>,
    pub(crate) message: Option<Message>,
    pub(crate) credentials_failure: Option<CredentialsFailure>,
    pub(crate) now: OffsetDateTime,
    pub(crate) size: (u16, u16),
    pub(crate) effects: Vec<Effect>,
    pub(crate) quit: bool,
    pub(crate) stopping: bool,
}

impl App {
    /// A dashboard over this configuration; `now` is the clock until the first tick.
    pub fn new(store: ConfigStore, now: OffsetDateTime) -> App {
        let config = store.current();
        let kept = match config.broker.record_capacity {
            0 => DEFAULT_KEPT,
            capacity => capacity,
        };
        let identity_index = config
            .identities
            .iter()
            .position(|identity| identity.name == config.active_identity)
            .unwrap_or(0);
        App {
            config_errors: store.errors(),
            store,
            tab: Tab::Requests,
            parts: [PartState::Stopped, PartState::Stopped, PartState::Stopped],
            pull: None,
            broker_addr: None,
            exchanges: ExchangeList::new(kept),
            detail_focused: false,
            detail_scroll: 0,
            reveal: false,
            identity_index,
            identity_field: 0,
            credential_row: 0,
            setting_row: 0,
            error_status: 500,
            event_row: 0,
            containers: None,
            container_row: 0,
            log_state: tui_logger::TuiWidgetState::new()
                .set_default_display_level(tui_logger::LevelFilter::Info),
            input: None,
            confirm: None,
            help_scroll: None,
            message: None,
            credentials_failure: None,
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

    pub fn store(&self) -> &ConfigStore {
        &self.store
    }

    /// Why the file on disk is not in force, while it is invalid.
    pub fn config_error(&self) -> Option<String> {
        self.config_errors.borrow().clone()
    }

    pub fn tab(&self) -> Tab {
        self.tab
    }

    pub fn part(&self, part: Part) -> &PartState {
        &self.parts[part.index()]
    }

    pub fn exchanges(&self) -> &ExchangeList {
        &self.exchanges
    }

    pub fn reveal(&self) -> bool {
        self.reveal
    }

    pub fn input(&self) -> Option<&Input> {
        self.input.as_ref()
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Shown while the session shuts down after quit.
    pub fn set_stopping(&mut self) {
        self.stopping = true;
    }

    /// Session work asked for since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    pub fn set_size(&mut self, width: u16, height: u16) {
        self.size = (width, height);
        let rows = self.table_rows();
        self.exchanges.scroll_into_view(rows);
    }

    /// The identity the identity and credentials panes show.
    pub fn shown_identity(&self) -> Option<Identity> {
        let config = self.config();
        let index = self
            .identity_index
            .min(config.identities.len().saturating_sub(1));
        config.identities.get(index).cloned()
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

    pub(crate) fn on_tick(&mut self, now: OffsetDateTime) {
        self.now = now;
        if self
            .message
            .as_ref()
            .is_some_and(|message| (now - message.at).whole_seconds() >= MESSAGE_SECONDS)
        {
            self.message = None;
        }
    }

    /// The exchanges now come from another recorder (its ids start over).
    pub fn follow_new_recorder(&mut self) {
        self.exchanges.restart_ids();
    }

    /// A new exchange from the broker.
    pub fn push_exchange(&mut self, record: Arc<ExchangeRecord>) {
        if let Some(error) = &record.provider_error {
            if record.path.contains("/security-credentials/") {
                self.credentials_failure = Some(CredentialsFailure {
                    time: record.time.clone(),
                    identity: record.identity.clone(),
                    error: error.clone(),
                });
            }
        }
        self.exchanges.push(record);
    }

    pub(crate) fn on_session(&mut self, update: SessionUpdate) {
        match update {
            SessionUpdate::Part(part, state) => {
                if part == Part::Proxy && !matches!(state, PartState::Starting(_)) {
                    self.pull = None;
                }
                self.parts[part.index()] = state;
            }
            SessionUpdate::Pull {
                image,
                current,
                total,
            } => {
                self.pull = Some(PullProgress {
                    image,
                    current,
                    total,
                });
            }
            SessionUpdate::Containers(containers) => {
                self.container_row = self.container_row.min(containers.len().saturating_sub(1));
                self.containers = Some(containers);
            }
            SessionUpdate::BrokerAddress(addr) => self.broker_addr = addr,
            SessionUpdate::Notice(text) => self.inform(text),
            SessionUpdate::Failed(text) => self.complain(text),
        }
    }
}
