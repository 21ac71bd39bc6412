//! The session side of the dashboard: a task that owns the run (network, proxy,
//! broker), carries out the dashboard's effects and reports back in plain messages.
//! This is the only module that knows the session's API.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::broker::Recorder;
use crate::config::ConfigStore;
use crate::session::{self, Session, SessionEvent, SessionOptions};

use super::action::{Effect, SessionUpdate};

/// How long quitting waits for the session to remove what it started.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// What the dashboard asks for beyond the configuration.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// False (`--no-start`): the broker alone, on loopback.
    pub start_docker: bool,
    /// Overrides `[proxy] image`.
    pub proxy_image: Option<String>,
    /// `--log-requests FILE`: every exchange as a JSON line.
    pub log_requests: Option<std::path::PathBuf>,
}

/// A message from the session task.
pub enum FromSession {
    Update(SessionUpdate),
    /// The running broker's recorder (again after the broker restarted).
    Recorder(Arc<Recorder>),
}

enum Command {
    Effect(Effect),
    Shutdown(oneshot::Sender<()>),
}

/// Handle on the session task.
pub struct SessionTask {
    commands: mpsc::UnboundedSender<Command>,
    updates: mpsc::UnboundedReceiver<FromSession>,
    task: tokio::task::JoinHandle<()>,
}

impl SessionTask {
    pub fn spawn(store: ConfigStore, options: RunOptions) -> SessionTask {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (update_tx, updates) = mpsc::unbounded_channel();
        let task = tokio::spawn(run_session(store, options, command_rx, update_tx));
        SessionTask {
            commands,
            updates,
            task,
        }
    }

    pub async fn next(&mut self) -> Option<FromSession> {
        self.updates.recv().await
    }

    pub fn try_next(&mut self) -> Option<FromSession> {
        self.updates.try_recv().ok()
    }

    pub fn send(&self, effect: Effect) {
        let _ = self.commands.send(Command::Effect(effect));
    }

    /// Stops the broker and removes the proxy; waits for it (bounded).
    pub async fn shutdown(self) {
        let (done, finished) = oneshot::channel();
        if self.commands.send(Command::Shutdown(done)).is_ok() {
            let _ = tokio::time::timeout(SHUTDOWN_TIMEOUT, finished).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

type Updates = mpsc::UnboundedSender<FromSession>;

fn report(updates: &Updates, update: SessionUpdate) {
    let _ = updates.send(FromSession::Update(update));
}

fn translate(event: SessionEvent) -> SessionUpdate {
    match event {
        SessionEvent::Part(part, state) => SessionUpdate::Part(part, state),
        SessionEvent::Pull {
            image,
            current,
            total,
        } => SessionUpdate::Pull {
            image,
            current,
            total,
        },
        SessionEvent::Containers(containers) => SessionUpdate::Containers(containers),
        SessionEvent::UnresolvedCaller(text) => SessionUpdate::Warning(text),
        SessionEvent::Notice(text) => SessionUpdate::Notice(text),
    }
}

/// Lists the engine's containers for the containers pane, or tells it why not.
async fn refresh_containers(session: &mut Session, updates: &Updates) {
    if let Err(why) = session.refresh_containers().await {
        report(updates, SessionUpdate::ContainersUnavailable(why));
    }
}

/// Passes every change of the credentials refresher's states on to the dashboard.
async fn forward_refresh(
    mut states: tokio::sync::watch::Receiver<crate::provider::RefreshStates>,
    updates: Updates,
) {
    loop {
        let current = states.borrow_and_update().clone();
        report(&updates, SessionUpdate::CredentialRefresh(current));
        if states.changed().await.is_err() {
            return;
        }
    }
}

/// Owns the session: starts it, carries out effects one after the other, shuts it down.
/// Session events are forwarded by a task of their own, so progress (image pulls) shows
/// while a long operation is under way.
async fn run_session(
    store: ConfigStore,
    options: RunOptions,
    mut commands: mpsc::UnboundedReceiver<Command>,
    updates: Updates,
) {
    let (events_tx, mut events) = mpsc::unbounded_channel::<SessionEvent>();
    let forward_to = updates.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            report(&forward_to, translate(event));
        }
    });
    let session_options = SessionOptions {
        proxy_image: options.proxy_image,
        request_lines: None,
        log_requests: options.log_requests,
        start_docker: options.start_docker,
    };
    // `[doors]` switched in the settings (or in the file): start or remove those proxies.
    let mut config_changes = store.subscribe();
    let mut doors = store.current().doors.clone();
    let mut session = Session::start(store, session_options, events_tx).await;
    let _ = updates.send(FromSession::Recorder(session.recorder()));
    report(
        &updates,
        SessionUpdate::BrokerAddress(session.broker_addr()),
    );
    refresh_containers(&mut session, &updates).await;
    let refresh = session
        .credential_refresh()
        .map(|states| tokio::spawn(forward_refresh(states, updates.clone())));
    loop {
        let command = tokio::select! {
            command = commands.recv() => command,
            Ok(()) = config_changes.changed() => {
                let now = config_changes.borrow_and_update().doors.clone();
                if now != doors {
                    doors = now;
                    session.apply_doors().await;
                }
                continue;
            }
        };
        let Some(command) = command else {
            break;
        };
        match command {
            Command::Effect(effect) => {
                execute(&mut session, effect, &updates).await;
                report(
                    &updates,
                    SessionUpdate::BrokerAddress(session.broker_addr()),
                );
            }
            Command::Shutdown(done) => {
                session.shutdown().await;
                let _ = done.send(());
                // Let the last part states reach the screen before the channel closes.
                tokio::time::sleep(Duration::from_millis(20)).await;
                forwarder.abort();
                if let Some(refresh) = refresh {
                    refresh.abort();
                }
                return;
            }
        }
    }
    session.shutdown().await;
    forwarder.abort();
}

async fn execute(session: &mut Session, effect: Effect, updates: &Updates) {
    match effect {
        Effect::StartPart(part) => session.start_part(part).await,
        Effect::StopPart(part) => session.stop_part(part).await,
        // Bringing the proxy up brings what it needs (network, broker) up first.
        Effect::StartAll => session.start_part(session::Part::Proxy).await,
        // The network stays, as on quit: compose files refer to it.
        Effect::StopAll => {
            session.stop_part(session::Part::Proxy).await;
            session.stop_part(session::Part::Broker).await;
        }
        Effect::RefreshContainers => refresh_containers(session, updates).await,
        Effect::Attach { id, name } => {
            let result = session.attach(&id).await;
            connection_result(updates, result, format!("{name} attached to the network"));
            refresh_containers(session, updates).await;
        }
        Effect::Detach { id, name } => {
            let result = session.detach(&id).await;
            connection_result(updates, result, format!("{name} detached from the network"));
            refresh_containers(session, updates).await;
        }
        Effect::ForgetCachedCredentials => session.forget_cached_credentials(),
        Effect::SubmitMfa { code, serial } => match session.submit_mfa(&code, &serial).await {
            Ok(message) => report(updates, SessionUpdate::Notice(message)),
            Err(error) => report(updates, SessionUpdate::Failed(error)),
        },
    }
}

fn connection_result(updates: &Updates, result: Result<(), String>, done: String) {
    match result {
        Ok(()) => report(updates, SessionUpdate::Notice(done)),
        Err(err) => report(updates, SessionUpdate::Failed(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_that_cannot_be_named_is_a_warning() {
        let notice = "caller 169.254.0.9 on the network cannot be named (engine unreachable): answered as [containers] unresolved says";
        assert_eq!(
            translate(SessionEvent::UnresolvedCaller(notice.into())),
            SessionUpdate::Warning(notice.into())
        );
        assert_eq!(
            translate(SessionEvent::Notice("app-1 attached to the network".into())),
            SessionUpdate::Notice("app-1 attached to the network".into())
        );
    }
}
