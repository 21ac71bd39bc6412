//! Bringing the parts up and down, in the order they depend on each other:
//! engine -> network -> (no live other run) -> broker (unix socket) -> image -> proxies
//! (proxies.rs).

use super::control_socket::ControlSocket;
use std::net::Ipv4Addr;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::{
    monitor, BrokerMode, Part, PartState, Parts, ReportSocket, RunIdentity, Session, SessionError,
    SessionEvent, SessionOptions,
};
use crate::broker::{BrokerError, Recorder};
use crate::config::ConfigStore;
use crate::docker::{self, host, CallerBook, DockerError, NetworkPlan};

impl Session {
    pub(super) fn new(
        store: ConfigStore,
        mut options: SessionOptions,
        events: UnboundedSender<SessionEvent>,
    ) -> Session {
        let parts = Parts::new(events);
        let config = store.current();
        let built = crate::provider::build_provider(&store);
        for warning in built.warnings {
            parts.notice(warning);
        }
        let mut recorder = Recorder::new(config.broker.record_capacity);
        let mut log_error = None;
        if let Some(path) = options.log_requests.take() {
            match Recorder::new(config.broker.record_capacity).with_log_file(&path) {
                Ok(with_file) => recorder = with_file,
                Err(source) => {
                    let err = BrokerError::RequestLog { path, source };
                    parts.notice(format!("requests are not logged to a file: {err}"));
                    log_error = Some(err);
                }
            }
        }
        let watcher = store.spawn_watcher();
        let recorder = Arc::new(recorder);
        // `up`'s request lines follow the recorder, not a broker: they outlive restarts.
        if let Some(format) = options.request_lines {
            crate::broker::spawn_request_lines(&recorder, format);
        }
        let report_socket = match ReportSocket::start(&recorder) {
            Ok(socket) => Some(socket),
            Err(err) => {
                parts.notice(format!("`imds-spoof report` cannot ask this run: {err}"));
                None
            }
        };
        // `imds-spoof mfa CODE` hands codes to this run's credentials.
        let control_socket = built.builtin.as_ref().and_then(|builtin| {
            ControlSocket::start(builtin.credentials().clone())
                .map_err(|err| {
                    parts.notice(format!("`imds-spoof mfa` cannot reach this run: {err}"))
                })
                .ok()
        });
        let callers = CallerBook::new();
        let directory = super::callers::Directory::new(callers.clone(), parts.clone());
        Session {
            store,
            options,
            parts,
            run: RunIdentity::new(),
            recorder,
            provider: built.provider,
            builtin: built.builtin,
            directory,
            callers,
            engine: None,
            plan: None,
            broker: None,
            socket_dir: None,
            proxies: Arc::default(),
            stopping_proxy: Arc::default(),
            tasks: vec![watcher],
            monitor: None,
            prefetcher: None,
            log_error,
            report_socket,
            control_socket,
            task_metadata: std::sync::OnceLock::new(),
        }
    }

    /// Engine, network, broker behind the proxy, proxy: the whole chain.
    pub(super) async fn bring_up(&mut self) -> Result<(), SessionError> {
        self.bring_network().await?;
        self.refuse_live_other_run().await?;
        self.bring_proxy_broker().await?;
        self.bring_proxy().await
    }

    pub(super) async fn ensure_engine(&mut self) -> Result<docker::Engine, SessionError> {
        if let Some(engine) = &self.engine {
            return Ok(engine.clone());
        }
        self.parts.set(
            Part::Network,
            PartState::Starting("connecting to Docker".to_string()),
        );
        match docker::connect().await {
            Ok(engine) => {
                tracing::info!("{}", engine.whereabouts());
                self.engine = Some(engine.clone());
                Ok(engine)
            }
            Err(err) => {
                let why = err.to_string();
                self.parts
                    .set(Part::Network, PartState::Unavailable(why.clone()));
                self.parts.set(Part::Proxy, PartState::Unavailable(why));
                Err(err.into())
            }
        }
    }

    pub(super) async fn bring_network(&mut self) -> Result<(), SessionError> {
        let engine = self.ensure_engine().await?;
        let result = async {
            let plan = NetworkPlan::from_settings(&self.store.current().network)?;
            if docker::find_network(&engine, &plan.name).await?.is_none() {
                self.warn_if_imds_capture(&plan);
            }
            self.parts.set(
                Part::Network,
                PartState::Starting(format!("creating network {}", plan.name)),
            );
            let state = docker::ensure_network(&engine, &plan, &self.run.id).await?;
            Ok::<_, DockerError>((plan, state))
        }
        .await;
        match result {
            Ok((plan, state)) => {
                let how = if state.created { "created" } else { "reused" };
                // Docker is the usual engine; another is named where the network shows.
                let on = if engine.is_podman() {
                    format!(" on {}", engine.describe())
                } else {
                    String::new()
                };
                let ipv6 = plan
                    .ipv6
                    .as_ref()
                    .map(|ipv6| format!(", {}", ipv6.describe()))
                    .unwrap_or_default();
                self.parts.set(
                    Part::Network,
                    PartState::Up(format!(
                        "{} {} gateway {}{ipv6} ({how}){on}",
                        plan.name, plan.subnet, plan.gateway
                    )),
                );
                self.directory.set_network(Some(plan.clone()));
                self.plan = Some(plan);
                self.start_monitor(&engine);
                Ok(())
            }
            Err(err) => {
                self.parts
                    .set(Part::Network, PartState::Failed(err.to_string()));
                Err(err.into())
            }
        }
    }

    /// On an EC2 host the bridge can cut the host off from its own IMDS: say so first.
    fn warn_if_imds_capture(&self, plan: &NetworkPlan) {
        let evidence = host::ec2_evidence();
        let route = host::route_to(Ipv4Addr::new(169, 254, 169, 254));
        let subnet = plan.subnet.to_string();
        if let Some(warning) = host::imds_capture_warning(
            evidence.as_deref(),
            route.as_ref(),
            &subnet,
            plan.subnet.prefix,
            None,
        ) {
            self.parts.notice(warning);
        }
        if plan.ipv6.is_some() {
            if let Some(warning) = host::imds_ipv6_capture_warning(evidence.as_deref()) {
                self.parts.notice(warning);
            }
        }
    }

    fn start_monitor(&mut self, engine: &docker::Engine) {
        if self
            .monitor
            .as_ref()
            .is_some_and(|task| !task.is_finished())
        {
            return;
        }
        let Some(plan) = &self.plan else {
            return;
        };
        if let Some(builtin) = &self.builtin {
            self.prefetcher = Some(super::prefetch::spawn(
                self.callers.clone(),
                self.store.clone(),
                builtin.clone(),
            ));
        }
        self.monitor = Some(monitor::spawn(
            engine.clone(),
            plan.name.clone(),
            self.callers.clone(),
            self.parts.clone(),
            self.proxies.clone(),
            self.stopping_proxy.clone(),
        ));
    }

    pub(super) async fn stop_network(&mut self) {
        self.stop_proxy().await;
        self.prefetcher = None;
        let (Some(engine), Some(plan)) = (self.engine.clone(), self.plan.clone()) else {
            return;
        };
        match docker::remove_network(&engine, &plan.name, false).await {
            Ok(_) => {
                self.parts.set(Part::Network, PartState::Stopped);
                self.plan = None;
                self.callers.detach();
                self.directory.set_network(None);
                if let Some(monitor) = self.monitor.take() {
                    monitor.abort();
                }
                // No network, no proxy in front of the broker: serve this host instead.
                if matches!(self.broker, Some((_, BrokerMode::Proxy { .. }))) {
                    self.start_loopback_broker().await;
                }
            }
            Err(err) => self
                .parts
                .set(Part::Network, PartState::Failed(err.to_string())),
        }
    }

    pub(super) async fn connect_container(&self, id: &str, attach: bool) -> Result<(), String> {
        let (Some(engine), Some(plan)) = (&self.engine, &self.plan) else {
            return Err("the imds-spoof network is not up".to_string());
        };
        let result = if attach {
            docker::connect_container(engine, &plan.name, id).await
        } else {
            docker::disconnect_container(engine, &plan.name, id).await
        };
        let verb = if attach { "attach" } else { "detach" };
        result.map_err(|err| format!("cannot {verb} {id}: {err}"))?;
        monitor::emit_containers(engine, &plan.name, &self.parts).await;
        Ok(())
    }
}
