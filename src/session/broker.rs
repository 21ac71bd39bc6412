//! The broker part: where it listens (behind the proxy on a unix socket mounted into it, on
//! loopback for Docker Desktop, or on loopback alone) and the provider it asks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::socket::SocketDir;
use super::{BrokerMode, Part, PartState, Session, SessionError};
use crate::broker::{AccessPolicy, Broker, BrokerError, BrokerState};
use crate::config::Arrangement;
use crate::docker::BrokerRoute;

impl Session {
    /// The broker where nginx can reach it: on a unix socket bind-mounted into the proxy
    /// (local Linux engine), so the proxy→broker leg never crosses the bridge; or on loopback
    /// with host.docker.internal when the engine runs elsewhere (Docker Desktop).
    pub(super) async fn bring_proxy_broker(&mut self) -> Result<(), SessionError> {
        let (Some(engine), Some(plan)) = (self.engine.clone(), self.plan.clone()) else {
            return Err(SessionError::Other("the network is not up".to_string()));
        };
        if let Some((_, BrokerMode::Proxy { .. })) = &self.broker {
            return Ok(());
        }
        if let Some((broker, _)) = self.broker.take() {
            broker.stop().await;
        }
        let settings = self.store.current().broker.clone();
        let desktop = match settings.arrangement {
            Arrangement::Desktop => true,
            Arrangement::Socket => false,
            Arrangement::Auto => engine.desktop,
        };
        let listen = SocketAddr::new(settings.desktop_listen, settings.port);
        let result = if desktop {
            self.parts.set(
                Part::Broker,
                PartState::Starting(format!("listening on {listen}")),
            );
            self.start_desktop_broker(listen).await
        } else if settings.arrangement == Arrangement::Auto
            && !engine.is_local()
            && !is_local_address(plan.gateway)
        {
            // The gateway is not ours: the engine's bridge (and so the proxy's filesystem)
            // is in a VM or on another machine, where a socket of ours cannot be mounted.
            self.parts.notice(format!(
                "the network's gateway {} is not an address of this machine (the engine at {} runs in a VM or elsewhere): trying loopback with {}",
                plan.gateway, engine.host, engine.host_alias().0
            ));
            self.start_desktop_broker(listen).await
        } else {
            self.start_socket_broker()
        };
        match result {
            Ok((broker, route)) => {
                let endpoint = broker.endpoint.to_string();
                self.broker = Some((broker, BrokerMode::Proxy { route }));
                self.parts.set(Part::Broker, PartState::Up(endpoint));
                Ok(())
            }
            Err(err) => {
                self.parts
                    .set(Part::Broker, PartState::Failed(err.to_string()));
                Err(err.into())
            }
        }
    }

    /// The broker on a unix socket in this run's socket directory (made on first use and
    /// kept until the session ends: the proxy's bind mount holds on to that directory, so a
    /// restarted broker binds its socket there again).
    fn start_socket_broker(&mut self) -> Result<(Broker, BrokerRoute), BrokerError> {
        let dir = match self.socket_dir.take() {
            Some(dir) => dir,
            None => SocketDir::create(&self.run.id).map_err(BrokerError::SocketDir)?,
        };
        let socket = dir.socket();
        let route = BrokerRoute::Unix {
            dir: dir.dir().to_path_buf(),
        };
        self.socket_dir = Some(dir);
        self.parts.set(
            Part::Broker,
            PartState::Starting(format!("listening on unix:{}", socket.display())),
        );
        // A unix peer has no address: the secret alone admits the proxy.
        let state = self.broker_state(self.proxy_policy(None));
        Broker::start_unix(&socket, state).map(|broker| (broker, route))
    }

    /// The broker on `listen` (loopback on Docker Desktop), reached by the proxy through
    /// host.docker.internal.
    async fn start_desktop_broker(
        &self,
        listen: SocketAddr,
    ) -> Result<(Broker, BrokerRoute), BrokerError> {
        // Through Docker Desktop's port forwarding the peer address is not the proxy's:
        // the secret alone admits the proxy.
        let broker = self.start_broker(listen, self.proxy_policy(None)).await?;
        // Docker's name for the host is added to the proxy (host-gateway); Podman's
        // (host.containers.internal) it provides itself.
        let (host, via_host_gateway) = self
            .engine
            .as_ref()
            .map_or(("host.docker.internal", true), |engine| engine.host_alias());
        let route = BrokerRoute::Tcp {
            host: host.to_string(),
            port: listen.port(),
            via_host_gateway,
        };
        Ok((broker, route))
    }

    fn proxy_policy(&self, proxy_ip: Option<IpAddr>) -> AccessPolicy {
        AccessPolicy::Proxy {
            proxy_ip,
            secret: self.run.secret.clone(),
            host_ips: self.plan.as_ref().map(host_addresses).unwrap_or_default(),
        }
    }

    async fn start_broker(
        &self,
        addr: SocketAddr,
        access: AccessPolicy,
    ) -> Result<Broker, BrokerError> {
        Broker::start(addr, self.broker_state(access)).await
    }

    fn broker_state(&self, access: AccessPolicy) -> Arc<BrokerState> {
        let directory: Arc<dyn crate::broker::CallerDirectory> = self.directory.clone();
        let mut state = BrokerState::new(self.store.clone(), self.provider.clone(), access)
            .with_recorder(self.recorder.clone())
            .with_callers(directory);
        // Behind the proxy the engine is known: the ECS door reads callers' containers.
        if let Some(engine) = &self.engine {
            let reader = self
                .task_metadata
                .get_or_init(|| Arc::new(super::TaskMetadataReader::on(engine.clone())));
            let source: Arc<dyn crate::broker::TaskMetadataSource> = reader.clone();
            state = state.with_task_metadata(source);
        }
        Arc::new(state)
    }

    /// The broker alone on 127.0.0.1:[broker] port, for SDKs on this host.
    pub(super) async fn start_loopback_broker(&mut self) {
        if let Some((broker, _)) = self.broker.take() {
            broker.stop().await;
        }
        // No proxy mounts the socket directory now; the next proxy gets a fresh one.
        self.socket_dir = None;
        let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, self.store.current().broker.port));
        match self
            .start_broker(listen, AccessPolicy::Loopback { listen })
            .await
        {
            Ok(broker) => {
                self.broker = Some((broker, BrokerMode::Loopback));
                self.parts
                    .set(Part::Broker, PartState::Up(format!("{listen} (loopback)")));
            }
            Err(err) => self
                .parts
                .set(Part::Broker, PartState::Failed(err.to_string())),
        }
    }

    /// Starts the broker again where it belongs now.
    pub(super) async fn restart_broker(&mut self) -> Result<(), SessionError> {
        let behind_proxy = self.plan.is_some() && self.engine.is_some();
        if let Some((broker, _)) = self.broker.take() {
            broker.stop().await;
        }
        if behind_proxy {
            self.bring_proxy_broker().await
        } else {
            self.start_loopback_broker().await;
            Ok(())
        }
    }
}

/// The host's own addresses on the network: its gateways, IPv4 and IPv6.
fn host_addresses(plan: &crate::docker::NetworkPlan) -> Vec<IpAddr> {
    let mut ips = vec![IpAddr::V4(plan.gateway)];
    ips.extend(plan.ipv6.as_ref().map(|ipv6| IpAddr::V6(ipv6.gateway)));
    ips
}

/// Is `ip` an address of this machine (can we bind it)? The test that the engine's bridge
/// is on this host, not in a VM.
fn is_local_address(ip: Ipv4Addr) -> bool {
    match std::net::TcpListener::bind((ip, 0)) {
        Ok(_) => true,
        Err(err) => err.kind() != std::io::ErrorKind::AddrNotAvailable,
    }
}
