//! The session itself: one run of network, broker and proxies, started, watched and
//! stopped as a whole. Its steps are spread over `steps.rs`, `broker.rs` and `proxies.rs`
//! (each an `impl Session` block of its own).

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::broker::{Broker, BrokerError, Endpoint, Recorder};
use crate::config::ConfigStore;
use crate::docker::{self, CallerBook, Engine, NetworkPlan};
use crate::provider::{BuiltinProvider, Provider};

use super::events::{Part, PartState, SessionError, SessionEvent, SessionOptions};
use super::parts::Parts;
use super::report_socket::ReportSocket;
use super::task_metadata::TaskMetadataReader;
use super::{callers, running_proxies, socket};

/// This run's identity: labels on the proxy, and the secret only nginx and the broker know.
#[derive(Clone)]
pub(crate) struct RunIdentity {
    pub id: String,
    pub secret: String,
    pub process: crate::docker::host::ProcessMark,
}

impl RunIdentity {
    pub(super) fn new() -> RunIdentity {
        RunIdentity {
            id: random_hex(6),
            secret: random_hex(24),
            process: crate::docker::host::ProcessMark::current(),
        }
    }
}

fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the broker listens and whom it admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BrokerMode {
    Loopback,
    /// Behind the proxy; `route` is how nginx reaches us.
    Proxy {
        route: crate::docker::BrokerRoute,
    },
}

pub struct Session {
    pub(super) store: ConfigStore,
    pub(super) options: SessionOptions,
    pub(super) parts: Parts,
    pub(super) run: RunIdentity,
    pub(super) recorder: Arc<Recorder>,
    pub(super) provider: Arc<dyn Provider>,
    pub(super) builtin: Option<Arc<BuiltinProvider>>,
    pub(super) callers: Arc<CallerBook>,
    /// The broker's view of the book: which addresses can be containers at all.
    pub(super) directory: Arc<callers::Directory>,
    pub(super) engine: Option<Engine>,
    pub(super) plan: Option<NetworkPlan>,
    pub(super) broker: Option<(Broker, BrokerMode)>,
    /// The directory of the broker's unix socket, bind-mounted into the proxy; removed when
    /// the session is dropped.
    pub(super) socket_dir: Option<socket::SocketDir>,
    /// The proxy containers of this run (IMDS and the doors that are on); the monitor
    /// drops one that dies.
    pub(super) proxies: running_proxies::Proxies,
    /// Set while we remove the proxy ourselves, so its death is not reported as a failure.
    pub(super) stopping_proxy: Arc<AtomicBool>,
    pub(super) tasks: Vec<JoinHandle<()>>,
    pub(super) monitor: Option<JoinHandle<()>>,
    /// Fetches assumed-role sessions for containers as they join (`prefetch.rs`).
    pub(super) prefetcher: Option<super::prefetch::Prefetcher>,
    /// The request log could not be opened (reported as a notice; fatal for `up`).
    pub(super) log_error: Option<BrokerError>,
    /// This run's readiness for `imds-spoof report`; removed with the session.
    pub(super) report_socket: Option<ReportSocket>,
    pub(super) control_socket: Option<super::control_socket::ControlSocket>,
    /// Task metadata of the callers' containers (made with the engine connection; its
    /// stats cache lives as long as the session).
    pub(super) task_metadata: std::sync::OnceLock<Arc<TaskMetadataReader>>,
}

impl Session {
    /// Starts everything it can and never fails wholesale: with no Docker engine the broker
    /// runs on loopback (127.0.0.1:[broker] port) and the Docker parts report Unavailable.
    pub async fn start(
        store: ConfigStore,
        options: SessionOptions,
        events: UnboundedSender<SessionEvent>,
    ) -> Session {
        let mut session = Session::new(store, options, events);
        if !session.options.start_docker {
            session.parts.set(Part::Network, PartState::Stopped);
            session.parts.set(Part::Proxy, PartState::Stopped);
            session.start_loopback_broker().await;
            return session;
        }
        if let Err(err) = session.bring_up().await {
            // Without Docker (or our network) the dashboard still serves SDKs on this host.
            if session.broker.is_none() && !matches!(err, SessionError::Broker(_)) {
                session.start_loopback_broker().await;
            }
        }
        session
    }

    /// Like [`Session::start`], but the first failure ends the start (what was started is
    /// cleaned up) and is returned: `imds-spoof up` exits with it.
    pub async fn start_strict(
        store: ConfigStore,
        options: SessionOptions,
        events: UnboundedSender<SessionEvent>,
    ) -> Result<Session, SessionError> {
        let mut session = Session::new(store, options, events);
        if let Some(err) = session.log_error.take() {
            return Err(SessionError::Broker(err));
        }
        match session.bring_up().await {
            Ok(()) => Ok(session),
            Err(err) => {
                session.shutdown().await;
                Err(err)
            }
        }
    }

    /// The recorder of the running broker (its ring, and a queue of records per reader).
    pub fn recorder(&self) -> Arc<Recorder> {
        self.recorder.clone()
    }

    /// Who is calling, as the broker asks it (benchmarks and diagnostics).
    pub fn caller_directory(&self) -> Arc<dyn crate::broker::CallerDirectory> {
        self.directory.clone()
    }

    /// What the ECS door reads task metadata from (None until the engine is connected).
    pub fn task_metadata(&self) -> Option<Arc<dyn crate::broker::TaskMetadataSource>> {
        let reader = self.task_metadata.get()?.clone();
        Some(reader)
    }

    /// Where the broker listens now: a TCP address or a unix socket.
    pub fn broker_endpoint(&self) -> Option<Endpoint> {
        self.broker
            .as_ref()
            .map(|(broker, _)| broker.endpoint.clone())
    }

    /// The broker's TCP address (loopback, Docker Desktop); None when it listens on a unix
    /// socket behind the proxy or not at all. [`Session::broker_endpoint`] says where.
    pub fn broker_addr(&self) -> Option<SocketAddr> {
        self.broker
            .as_ref()
            .and_then(|(broker, _)| broker.local_addr())
    }

    /// The state a part is in now.
    pub fn part_state(&self, part: Part) -> PartState {
        self.parts.get(part)
    }

    /// The doors beside IMDS answering now (ECS, EKS): their containers and addresses.
    pub fn doors(&self) -> Vec<crate::docker::ProxyEndpoint> {
        self.proxies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|proxy| proxy.endpoint.door != crate::config::Door::Imds)
            .map(|proxy| proxy.endpoint.clone())
            .collect()
    }

    /// This run's id (the `imds-spoof.run` label of what it creates).
    pub fn run_id(&self) -> &str {
        &self.run.id
    }

    /// Where each identity's fetched credentials stand (command and profile sources), as
    /// the built-in provider's background refresher reports it; None for an external one.
    pub fn credential_refresh(
        &self,
    ) -> Option<tokio::sync::watch::Receiver<crate::provider::RefreshStates>> {
        self.builtin
            .as_ref()
            .map(|builtin| builtin.refresh_states())
    }

    /// Cached credentials of command sources are dropped ("rotate" in the dashboard).
    /// Spends an MFA code on the device `serial` (`imds-spoof mfa CODE` does the same over
    /// the control socket).
    pub async fn submit_mfa(&self, code: &str, serial: &str) -> Result<String, String> {
        match &self.builtin {
            Some(builtin) => builtin.credentials().submit_mfa(code, Some(serial)).await,
            None => Err("an external provider answers: it has no MFA".to_string()),
        }
    }

    pub fn forget_cached_credentials(&self) {
        if let Some(builtin) = &self.builtin {
            builtin.credentials().forget_cached();
        }
    }

    pub async fn start_part(&mut self, part: Part) {
        let result = match part {
            Part::Network => self.bring_network().await,
            Part::Proxy => self.bring_up().await,
            Part::Broker => self.restart_broker().await,
        };
        if let Err(err) = result {
            tracing::debug!("start {}: {err}", part.name());
        }
    }

    pub async fn stop_part(&mut self, part: Part) {
        match part {
            Part::Proxy => self.stop_proxy().await,
            Part::Broker => {
                if let Some((broker, _)) = self.broker.take() {
                    broker.stop().await;
                }
                self.parts.set(Part::Broker, PartState::Stopped);
            }
            Part::Network => self.stop_network().await,
        }
    }

    /// Emits `Containers` with every container the engine knows (but ours).
    /// Without a started network (`--no-start`) it connects to the engine by itself, so
    /// the list still shows; Err says why the engine could not be asked.
    pub async fn refresh_containers(&mut self) -> Result<(), String> {
        let engine = match &self.engine {
            Some(engine) => engine.clone(),
            None => {
                let engine = docker::connect().await.map_err(|err| err.to_string())?;
                self.engine = Some(engine.clone());
                engine
            }
        };
        let network = match &self.plan {
            Some(plan) => plan.name.clone(),
            None => self.store.current().network.name.clone(),
        };
        docker::list_containers(&engine, &network, false)
            .await
            .map(|list| self.parts.send(SessionEvent::Containers(list)))
            .map_err(|err| err.to_string())
    }

    pub async fn attach(&self, container_id: &str) -> Result<(), String> {
        self.connect_container(container_id, true).await
    }

    pub async fn detach(&self, container_id: &str) -> Result<(), String> {
        self.connect_container(container_id, false).await
    }

    /// Stops the broker and removes the proxy (the network stays: compose files use it).
    pub async fn shutdown(mut self) {
        self.stop_proxy().await;
        if let Some(monitor) = self.monitor.take() {
            monitor.abort();
        }
        for task in self.tasks.drain(..) {
            task.abort();
        }
        if let Some((broker, _)) = self.broker.take() {
            broker.stop().await;
            self.parts.set(Part::Broker, PartState::Stopped);
        }
        // After the proxy that mounted it and the broker that listened in it.
        self.socket_dir.take();
        self.report_socket.take();
        self.control_socket.take();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some(monitor) = &self.monitor {
            monitor.abort();
        }
    }
}
