//! What the dashboard can be asked to do, and what it asks of the session in return.

/// The panes behind the tab bar, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tab {
    Requests,
    Identity,
    Credentials,
    Settings,
    Events,
    Containers,
    Logs,
}

impl Tab {
    pub const ALL: [Tab; 7] = [
        Tab::Requests,
        Tab::Identity,
        Tab::Credentials,
        Tab::Settings,
        Tab::Events,
        Tab::Containers,
        Tab::Logs,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Requests => "Requests",
            Tab::Identity => "Identity",
            Tab::Credentials => "Credentials",
            Tab::Settings => "Settings",
            Tab::Events => "Events",
            Tab::Containers => "Containers",
            Tab::Logs => "Logs",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|tab| *tab == self).unwrap_or(0)
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn previous(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

// The dashboard shows the session's own view of parts and containers.
pub use crate::session::{ContainerInfo as ContainerRow, Part, PartState};

/// News from the session side, already translated out of the session's own types.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionUpdate {
    Part(Part, PartState),
    /// Image pull progress: bytes done/total over all layers (total 0 = unknown).
    Pull {
        image: String,
        current: u64,
        total: u64,
    },
    Containers(Vec<ContainerRow>),
    /// The engine could not be asked for its containers: why.
    ContainersUnavailable(String),
    /// Where the broker listens now (None while it is down).
    BrokerAddress(Option<std::net::SocketAddr>),
    /// Something worth a line in the footer (also in the log pane).
    Notice(String),
    /// Something going wrong without anyone asking (a caller that cannot be named):
    /// stays in the footer until a key acknowledges it.
    Warning(String),
    /// An operation the user asked for failed.
    Failed(String),
    /// Where each identity's fetched credentials stand (background refresh).
    CredentialRefresh(crate::provider::RefreshStates),
}

/// Work the dashboard hands to the session task; it never awaits Docker itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    StartPart(Part),
    StopPart(Part),
    StartAll,
    StopAll,
    RefreshContainers,
    Attach {
        id: String,
        name: String,
    },
    Detach {
        id: String,
        name: String,
    },
    /// Drop cached command credentials so the next request runs the source again.
    ForgetCachedCredentials,
    /// Spend an MFA code on the device `serial` (the running broker's credentials).
    SubmitMfa {
        code: String,
        serial: String,
    },
}

/// Everything a key (through the keymap) can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    ToggleHelp,
    NextTab,
    PreviousTab,
    GoTab(Tab),
    ToggleReveal,
    TogglePart(Part),
    StartAll,
    StopAll,
    // Movement inside the focused pane.
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    /// Enter: edit, toggle, trigger or attach, depending on the pane.
    Activate,
    /// Esc: leave the detail view, clear the filter, close the help.
    Back,
    // Requests.
    StartFilter,
    TogglePause,
    ClearExchanges,
    ToggleDetail,
    /// `y`: copies a command that asks the selected request again (OSC 52).
    CopyCommand,
    // Identity.
    MakeActive,
    NewIdentity,
    DuplicateIdentity,
    DeleteIdentity,
    // Credentials.
    ExpireNow,
    ChooseSource,
    EnterMfa,
    // Settings.
    Increase,
    Decrease,
    // Events.
    ClearEvent,
    // Containers.
    /// `r`: the containers list asked again, or credentials refreshed (new fake keys,
    /// fetched credentials fetched again).
    Refresh,
    /// Open the identity picker for the selected container.
    PickIdentity,
    /// Switch between the containers and the IMDSv2 readiness of every caller.
    ToggleReadiness,
    // Text input.
    InputChar(char),
    InputBackspace,
    InputDelete,
    InputLeft,
    InputRight,
    InputHome,
    InputEnd,
    InputClear,
    Submit,
    Cancel,
    // Confirmation prompts.
    Confirm,
}
