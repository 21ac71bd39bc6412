//! The parts' states, shared by the session and its background tasks (the monitor, the
//! caller directory): setting one logs it and tells the session's owner.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::UnboundedSender;

use super::events::{Part, PartState, SessionEvent};

/// Part states, shared with the background tasks that notice changes.
#[derive(Clone)]
pub(crate) struct Parts {
    states: Arc<Mutex<HashMap<Part, PartState>>>,
    events: UnboundedSender<SessionEvent>,
}

impl Parts {
    pub fn new(events: UnboundedSender<SessionEvent>) -> Parts {
        Parts {
            states: Arc::new(Mutex::new(HashMap::new())),
            events,
        }
    }
}

impl Parts {
    pub fn set(&self, part: Part, state: PartState) {
        match &state {
            PartState::Failed(why) | PartState::Unavailable(why) => {
                tracing::warn!("{}: {why}", part.name())
            }
            PartState::Up(detail) => tracing::info!("{} up: {detail}", part.name()),
            PartState::Starting(what) => tracing::info!("{}: {what}", part.name()),
            PartState::Stopped => tracing::info!("{} stopped", part.name()),
        }
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(part, state.clone());
        let _ = self.events.send(SessionEvent::Part(part, state));
    }

    pub fn get(&self, part: Part) -> PartState {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&part)
            .cloned()
            .unwrap_or(PartState::Stopped)
    }

    pub fn notice(&self, text: String) {
        tracing::warn!("{text}");
        let _ = self.events.send(SessionEvent::Notice(text));
    }

    /// Tells the user, and the dashboard as a standing warning, that a caller went unnamed.
    pub fn warn_unresolved(&self, text: String) {
        tracing::warn!("{text}");
        let _ = self.events.send(SessionEvent::UnresolvedCaller(text));
    }

    pub fn send(&self, event: SessionEvent) {
        let _ = self.events.send(event);
    }
}

/// True while the session removes its proxy itself: a proxy that dies then is no failure.
pub(crate) fn stopping(flag: &AtomicBool) -> bool {
    flag.load(Ordering::SeqCst)
}
