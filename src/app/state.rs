//! The dashboard's state: what the panes share, and the panes themselves. Input
//! changes it through `update`; drawing only reads it.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use time::OffsetDateTime;

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
use super::shared::PullProgress;
use super::shared::{Message, Shared};

/// Exchanges the dashboard keeps when the configuration does not say.
pub const DEFAULT_KEPT: usize = 10_000;

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

    /// Draws without colours (`NO_COLOR`, monochrome terminals).
    pub fn set_monochrome(&mut self, monochrome: bool) {
        self.shared.monochrome = monochrome;
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

    /// Text the last updates put on the clipboard, for the terminal to receive.
    pub fn take_clipboard(&mut self) -> Option<String> {
        self.shared.clipboard.take()
    }

    /// Session work asked for since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.shared.effects)
    }

    /// How many records the request log has dropped so far (shown while non-zero).
    pub fn set_log_dropped(&mut self, dropped: u64) {
        self.shared.log_dropped = dropped;
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
        self.containers.note_exchange(&record);
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
                shared.note_part_state();
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
            SessionUpdate::Containers(containers) => {
                self.containers.list_changed(&containers);
                shared.set_containers(containers);
            }
            SessionUpdate::ContainersUnavailable(why) => self.containers.set_unavailable(why),
            SessionUpdate::BrokerAddress(addr) => shared.broker_addr = addr,
            SessionUpdate::Notice(text) => shared.inform(text),
            SessionUpdate::Warning(text) => shared.warn(text),
            SessionUpdate::Failed(text) => shared.complain(text),
            SessionUpdate::CredentialRefresh(states) => {
                for item in self.credentials.set_refresh(states) {
                    shared.warn(item);
                }
            }
        }
    }
}
