//! The service's own tables: `[imds]`, `[network]`, `[doors]`, `[proxy]`, `[broker]`,
//! `[provider]`.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// How IMDS itself behaves (the instance's metadata options on EC2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImdsSettings {
    /// HttpTokens: optional allows IMDSv1, required demands a session token.
    pub tokens: TokenMode,
    /// HttpPutResponseHopLimit: 1 drops token answers to bridged containers, as on EC2.
    pub hop_limit: u8,
    /// HttpEndpoint: when false the service refuses every request (see `disabled_behaviour`).
    pub enabled: bool,
    /// What a caller sees while `enabled = false`: EC2's 403 by default.
    pub disabled_behaviour: DisabledBehaviour,
    /// Upper bound for the token TTL a client may ask for, in seconds.
    pub max_token_ttl: u32,
    /// InstanceMetadataTags: serve `tags/instance/` when true.
    pub tags_in_metadata: bool,
    /// Serve `iam/security-credentials-extended/` (the role's credentials with `AccountId`,
    /// read first by JS v3 and Java v2); false answers 404 there, as older instances do.
    pub credentials_extended: bool,
    /// Token requests a second each caller may make (a second's worth at once); beyond it
    /// they are slowed, then dropped, as EC2 throttles per instance. 0: no limit.
    pub token_puts_per_second: u32,
}

impl Default for ImdsSettings {
    fn default() -> Self {
        Self {
            tokens: TokenMode::Optional,
            hop_limit: 2,
            enabled: true,
            disabled_behaviour: DisabledBehaviour::Forbidden,
            max_token_ttl: 21_600,
            tags_in_metadata: false,
            credentials_extended: true,
            token_puts_per_second: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenMode {
    Optional,
    Required,
}

impl TokenMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenMode::Optional => "optional",
            TokenMode::Required => "required",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisabledBehaviour {
    /// Accept the connection and never answer (the caller times out): an option for
    /// testing timeouts; EC2 itself answers 403.
    NoAnswer,
    /// Answer 403 with an empty body, as EC2 does with `HttpEndpoint=disabled` (re:Post;
    /// cloud-init reads it as "endpoint disabled"). The default.
    Forbidden,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkSettings {
    pub name: String,
    pub subnet: String,
    pub gateway: Ipv4Addr,
    pub proxy_ip: Ipv4Addr,
    /// A second, IPv6 subnet (fd00:ec2::/64) with IMDS at fd00:ec2::254.
    pub ipv6: bool,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            name: "imds-spoof".to_string(),
            subnet: "169.254.0.0/16".to_string(),
            gateway: Ipv4Addr::new(169, 254, 0, 1),
            proxy_ip: Ipv4Addr::new(169, 254, 169, 254),
            ipv6: false,
        }
    }
}

/// The container credential endpoints beside IMDS (docs/architecture.md, "Three doors"): each is a proxy container
/// of its own on the network while it is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DoorSettings {
    /// ECS task credentials at 169.254.170.2.
    pub ecs: bool,
    /// EKS Pod Identity at 169.254.170.23 (and [fd00:ec2::23] with IPv6).
    pub eks: bool,
}

impl Default for DoorSettings {
    fn default() -> Self {
        Self {
            ecs: true,
            eks: true,
        }
    }
}

/// The official nginx image, pinned so every user runs the same proxy.
pub const DEFAULT_PROXY_IMAGE: &str = "docker.io/library/nginx:1.27.5-alpine";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxySettings {
    pub image: String,
}

impl Default for ProxySettings {
    fn default() -> Self {
        Self {
            image: DEFAULT_PROXY_IMAGE.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerSettings {
    /// Loopback port of the broker: the dashboard without Docker, and Docker Desktop, where
    /// the proxy reaches it through host.docker.internal (on a local Linux engine the proxy
    /// reaches it through a unix socket instead).
    pub port: u16,
    /// Bytes of each response body kept in the exchange record.
    pub record_body_limit: usize,
    /// Exchanges kept in memory for the dashboard.
    pub record_capacity: usize,
    /// Answer the host itself (a caller from the network's gateway address). Off by
    /// default: a web page in the host's browser must not read credentials (docs/architecture.md, "Threat model").
    pub allow_host: bool,
    /// How the proxy reaches the broker: `auto` (a unix socket on a local engine, TCP
    /// through host.docker.internal on Docker Desktop), or one of them forced.
    pub arrangement: Arrangement,
    /// The address the broker listens on in the Desktop arrangement: loopback, where
    /// Docker Desktop forwards host.docker.internal. A Linux engine's host-gateway is the
    /// default bridge's address (often 172.17.0.1): set it to run the arrangement there.
    pub desktop_listen: std::net::IpAddr,
}

/// `[broker] arrangement`: how the proxy reaches the broker (docs/docker.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrangement {
    /// The socket on a local engine, Desktop's when the engine is Docker Desktop or its
    /// bridge is not on this machine.
    #[default]
    Auto,
    /// A unix socket bind-mounted into the proxy.
    Socket,
    /// TCP on `desktop_listen`, reached through host.docker.internal (host-gateway).
    Desktop,
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self {
            port: 1338,
            record_body_limit: 4096,
            record_capacity: 10_000,
            allow_host: false,
            arrangement: Arrangement::Auto,
            desktop_listen: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        }
    }
}

/// An external program that answers instead of the built-in provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProviderSettings {
    /// Program and arguments; empty means the built-in provider.
    pub command: Vec<String>,
    pub timeout_ms: u64,
    /// How long an external answer is reused for the same identity and path.
    pub cache_ms: u64,
}

impl Default for ProviderSettings {
    fn default() -> Self {
        Self {
            command: Vec::new(),
            timeout_ms: 2_000,
            cache_ms: 0,
        }
    }
}

/// `[engine]`: which container engine to use when the environment does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    /// The engine's API socket (`unix:///run/podman/podman.sock`), chosen over the usual
    /// sockets; `DOCKER_HOST` and `CONTAINER_HOST` still win, as they do for docker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
}

/// `[aws]`: how imds-spoof itself talks to AWS (STS for `assume-role`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsSettings {
    /// Every STS call goes here instead of AWS (an emulator: LocalStack, moto). Unset:
    /// `AWS_ENDPOINT_URL_STS`, then `AWS_ENDPOINT_URL`, then AWS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}
