//! What the panes share: the configuration, the session's news, the modal input and
//! question, the footer message, the work asked of the session.

use std::net::SocketAddr;
use std::sync::Arc;

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::config::{Config, ConfigStore, Identity};

use super::action::{ContainerRow, Effect, Part, PartState, Tab};
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

/// A question the user answers with y or n, asked before anything that cuts running
/// containers off or throws something away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    DeleteIdentity(String),
    DetachContainer { id: String, name: String },
    StopPart(Part),
    StopAll,
}

impl Confirm {
    /// The question, as the footer asks it.
    pub fn question(&self) -> String {
        match self {
            Confirm::DeleteIdentity(name) => {
                format!("Delete identity {name} from the configuration file?")
            }
            Confirm::DetachContainer { name, .. } => {
                format!("Detach {name} from the network? Its metadata requests will fail.")
            }
            Confirm::StopPart(Part::Broker) => {
                "Stop the broker? Containers get no answers until it starts again.".to_string()
            }
            Confirm::StopPart(part) => format!(
                "Stop the {}? Containers lose the metadata service until it starts again.",
                part.name()
            ),
            Confirm::StopAll => "Stop broker and proxy?".to_string(),
        }
    }
}

/// Parts the user asked to start or stop, and whether they should end up running: the
/// footer says so once they all have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awaited {
    pub parts: Vec<Part>,
    pub running: bool,
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
    /// No colours on screen (`NO_COLOR`): what they meant is kept by reverse and markers.
    pub(crate) monochrome: bool,
    /// Identity shown in the identity and credentials panes (index into the config).
    pub(crate) identity_index: usize,
    pub(crate) input: Option<Input>,
    pub(crate) confirm: Option<Confirm>,
    pub(crate) awaited: Option<Awaited>,
    /// The engine's containers as last listed (None until the first list).
    pub(crate) containers: Option<Vec<ContainerRow>>,
    /// Containers whose label or rule names no identity, already warned about.
    pub(crate) warned_unknown: std::collections::BTreeSet<String>,
    pub(crate) message: Option<Message>,
    pub(crate) now: OffsetDateTime,
    pub(crate) size: (u16, u16),
    pub(crate) effects: Vec<Effect>,
    /// Text to put on the clipboard (the terminal's, through OSC 52) after this update.
    pub(crate) clipboard: Option<String>,
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
            monochrome: false,
            identity_index,
            input: None,
            confirm: None,
            awaited: None,
            containers: None,
            warned_unknown: Default::default(),
            log_dropped: 0,
            message: None,
            now,
            size: (80, 24),
            effects: Vec::new(),
            clipboard: None,
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

    /// Shows another pane; secrets revealed in this one are masked again, so they do
    /// not stay on screen unasked.
    pub(crate) fn go_to(&mut self, tab: Tab) {
        if tab != self.tab && self.reveal {
            self.reveal = false;
            self.inform("secrets masked again (v reveals)");
        }
        self.tab = tab;
    }

    /// A new container list: a container on our network whose label or rule names no
    /// identity is warned about once (it silently plays another identity otherwise).
    pub(crate) fn set_containers(&mut self, containers: Vec<ContainerRow>) {
        let config = self.config();
        let mut warnings = Vec::new();
        for container in containers.iter().filter(|c| c.ip_on_network.is_some()) {
            let Some((origin, name)) = config.passed_over(&container.facts()) else {
                continue;
            };
            if self.warned_unknown.insert(container.name.clone()) {
                let (playing, playing_origin) = config.identity_for(&container.facts());
                warnings.push(format!(
                    "{}'s {} names identity {name:?}, which does not exist: it plays {playing} ({})",
                    container.name,
                    origin.as_str(),
                    playing_origin.as_str()
                ));
            }
        }
        self.containers = Some(containers);
        if let Some(last) = warnings.pop() {
            self.warn(last);
        }
    }

    /// How many running containers on our network play `identity` because a rule or a
    /// label says so.
    pub fn assigned_containers(&self, identity: &str) -> usize {
        let config = self.config();
        self.containers
            .iter()
            .flatten()
            .filter(|container| {
                container.running && container.ip_on_network.is_some() && {
                    let (playing, origin) = config.identity_for(&container.facts());
                    playing == identity && origin != crate::config::IdentityOrigin::Active
                }
            })
            .count()
    }

    /// Asks the session to start or stop `parts`; the footer says when they have.
    pub(crate) fn change_parts(&mut self, parts: Vec<Part>, running: bool) {
        let names: Vec<&str> = parts.iter().map(|part| part.name()).collect();
        let names = names.join(" and ");
        let effect = match (parts.as_slice(), running) {
            ([part], true) => Effect::StartPart(*part),
            ([part], false) => Effect::StopPart(*part),
            (_, true) => Effect::StartAll,
            (_, false) => Effect::StopAll,
        };
        self.inform(format!(
            "{} the {names}…",
            if running { "starting" } else { "stopping" }
        ));
        self.effects.push(effect);
        self.awaited = Some(Awaited { parts, running });
    }

    /// A part changed state: when every awaited part got where it was asked to go (or
    /// failed on the way), the footer says so in place of "starting…"/"stopping…".
    pub(crate) fn note_part_state(&mut self) {
        let Some(awaited) = &self.awaited else {
            return;
        };
        let settled = |part: &Part| match self.part(*part) {
            PartState::Up(_) => awaited.running,
            PartState::Stopped => !awaited.running,
            PartState::Failed(_) | PartState::Unavailable(_) => true,
            PartState::Starting(_) => false,
        };
        if !awaited.parts.iter().all(settled) {
            return;
        }
        let failed: Vec<&str> = awaited
            .parts
            .iter()
            .filter(|part| {
                matches!(
                    self.part(**part),
                    PartState::Failed(_) | PartState::Unavailable(_)
                )
            })
            .map(|part| part.name())
            .collect();
        let names: Vec<&str> = awaited.parts.iter().map(|part| part.name()).collect();
        let done = if awaited.running {
            "running"
        } else {
            "stopped"
        };
        let text = format!("{} {done}", names.join(" and "));
        self.awaited = None;
        if failed.is_empty() {
            self.inform(text);
        } else {
            self.complain(format!(
                "{} failed: the status bar says why (Logs has the whole story)",
                failed.join(" and ")
            ));
        }
    }

    /// Puts `text` on the clipboard and in the log (for terminals that ignore OSC 52).
    pub(crate) fn copy(&mut self, what: &str, text: String) {
        tracing::info!("copied {what}: {text}");
        self.inform(format!("copied {what} (also in Logs): {text}"));
        self.clipboard = Some(text);
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
