//! The broker part: where it listens (behind the proxy on the gateway, or on loopback) and
//! the provider it asks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use super::{BrokerMode, Part, PartState, Session, SessionError};
use crate::broker::{AccessPolicy, Broker, BrokerError, BrokerState};
use crate::docker::BrokerRoute;

impl Session {
    /// The broker where nginx can reach it: the gateway address (Linux), or loopback with
    /// host.docker.internal when containers cannot reach this host's bridge (Docker Desktop).
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
        let port = self.store.current().broker.port;
        self.parts.set(
            Part::Broker,
            PartState::Starting(format!("listening on {}:{port}", plan.gateway)),
        );
        let gateway = SocketAddr::from((plan.gateway, port));
        let result = if engine.desktop {
            self.start_desktop_broker(port).await
        } else {
            let route = BrokerRoute {
                host: plan.gateway.to_string(),
                port,
                via_host_gateway: false,
            };
            let policy = self.proxy_policy(Some(IpAddr::V4(plan.proxy_ip)));
            match self.start_broker(gateway, policy).await {
                Err(BrokerError::Bind { source, .. })
                    if source.kind() == std::io::ErrorKind::AddrNotAvailable =>
                {
                    self.parts.notice(format!(
                        "the network's gateway {} is not an address of this machine (the engine at {} runs in a VM or elsewhere): trying loopback with host.docker.internal",
                        plan.gateway, engine.host
                    ));
                    self.start_desktop_broker(port).await
                }
                other => other.map(|broker| (broker, route)),
            }
        };
        match result {
            Ok((broker, route)) => {
                let addr = broker.local_addr;
                self.broker = Some((broker, BrokerMode::Proxy { route }));
                self.parts
                    .set(Part::Broker, PartState::Up(addr.to_string()));
                Ok(())
            }
            Err(err) => {
                self.parts
                    .set(Part::Broker, PartState::Failed(err.to_string()));
                Err(err.into())
            }
        }
    }

    async fn start_desktop_broker(&self, port: u16) -> Result<(Broker, BrokerRoute), BrokerError> {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        // Through Docker Desktop's port forwarding the peer address is not the proxy's:
        // the secret alone admits the proxy.
        let broker = self.start_broker(loopback, self.proxy_policy(None)).await?;
        let route = BrokerRoute {
            host: "host.docker.internal".to_string(),
            port,
            via_host_gateway: true,
        };
        Ok((broker, route))
    }

    fn proxy_policy(&self, proxy_ip: Option<IpAddr>) -> AccessPolicy {
        AccessPolicy::Proxy {
            proxy_ip,
            secret: self.run.secret.clone(),
            host_ip: self.plan.as_ref().map(|plan| IpAddr::V4(plan.gateway)),
        }
    }

    async fn start_broker(
        &self,
        addr: SocketAddr,
        access: AccessPolicy,
    ) -> Result<Broker, BrokerError> {
        let mut state = BrokerState::new(self.store.clone(), self.provider.clone(), access);
        state.recorder = self.recorder.clone();
        state.log_each_request = self.options.log_each_request;
        let directory: Arc<dyn crate::broker::CallerDirectory> = self.directory.clone();
        state.callers = Some(directory);
        Broker::start(addr, Arc::new(state)).await
    }

    /// The broker alone on 127.0.0.1:[broker] port, for SDKs on this host.
    pub(super) async fn start_loopback_broker(&mut self) {
        if let Some((broker, _)) = self.broker.take() {
            broker.stop().await;
        }
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
