//! The configuration as plain data: what the TOML file holds, with defaults.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the identity answered to callers that do not pick one by label.
    #[serde(default = "default_identity_name")]
    pub active_identity: String,
    #[serde(default)]
    pub imds: ImdsSettings,
    #[serde(default)]
    pub network: NetworkSettings,
    #[serde(default)]
    pub doors: DoorSettings,
    #[serde(default)]
    pub proxy: ProxySettings,
    #[serde(default)]
    pub broker: BrokerSettings,
    #[serde(default)]
    pub provider: ProviderSettings,
    #[serde(default, rename = "fault")]
    pub faults: Vec<Fault>,
    #[serde(default, rename = "identity")]
    pub identities: Vec<Identity>,
    #[serde(default)]
    pub containers: ContainerSettings,
    /// Which identity a container plays, by name or compose service (docs/architecture.md, "Containers are instances").
    #[serde(default, rename = "container")]
    pub container_rules: Vec<ContainerRule>,
    /// Which identity an EKS Pod Identity token's service account gets (docs/architecture.md, "Three doors").
    #[serde(default, rename = "service_account")]
    pub service_accounts: Vec<ServiceAccountRule>,
}

fn default_identity_name() -> String {
    "default".to_string()
}

impl Config {
    /// The identity with this name, if any.
    pub fn identity(&self, name: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|identity| identity.name == name)
    }

    /// The identity answered when a caller does not choose one.
    pub fn active(&self) -> Option<&Identity> {
        self.identity(&self.active_identity)
    }
}

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
pub const DEFAULT_PROXY_IMAGE: &str = "nginx:1.27.5-alpine";

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
}

impl Default for BrokerSettings {
    fn default() -> Self {
        Self {
            port: 1338,
            record_body_limit: 4096,
            record_capacity: 10_000,
            allow_host: false,
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

/// The endpoint a request comes through (docs/architecture.md, "Three doors"): IMDS, ECS task credentials or EKS
/// Pod Identity. Records carry it; a `[[fault]]` may name one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Door {
    #[default]
    Imds,
    Ecs,
    Eks,
}

impl Door {
    pub const ALL: [Door; 3] = [Door::Imds, Door::Ecs, Door::Eks];

    pub fn as_str(self) -> &'static str {
        match self {
            Door::Imds => "imds",
            Door::Ecs => "ecs",
            Door::Eks => "eks",
        }
    }
}

/// A fault injected into answers whose path starts with `path_prefix`, at one door or all.
// Read through `FaultTable`: serde cannot deny unknown keys next to a `flatten`, and a
// misspelt `path_prefix` must not turn "1 % of one path" into "every request fails".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FaultTable")]
pub struct Fault {
    /// Requests whose path (version prefix included) starts with this; "" or "/" means all.
    #[serde(default)]
    pub path_prefix: String,
    /// Only requests through this door (`imds`, `ecs`, `eks`); absent: every door.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door: Option<Door>,
    /// Share of matching requests affected, from 0.0 to 1.0 (error rate, throttling).
    #[serde(default = "always")]
    pub probability: f64,
    #[serde(flatten)]
    pub kind: FaultKind,
}

fn always() -> f64 {
    1.0
}

impl Fault {
    /// Does this fault concern a request for `path`? A plain prefix match, so
    /// `/latest/meta-data/iam/` covers everything below it and `""` or `/` covers all.
    pub fn matches(&self, path: &str) -> bool {
        path.starts_with(&self.path_prefix)
    }

    /// Does this fault concern a request for `path` through `door`?
    pub fn applies(&self, door: Door, path: &str) -> bool {
        self.door.is_none_or(|only| only == door) && self.matches(path)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FaultKind {
    /// Delay the answer by this many milliseconds.
    Latency { ms: u64 },
    /// Answer this status (500, 503, 404, ...) instead of the real answer.
    Status { status: u16 },
    /// Accept the request and never answer.
    Hang,
    /// Close the connection without an answer.
    Drop,
    /// Serve credentials JSON that does not parse.
    MalformedCredentials,
    /// Serve credentials whose Expiration is already past.
    ExpiredCredentials,
}

/// A `[[fault]]` table as written: every key any kind takes, and no other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultTable {
    #[serde(default)]
    path_prefix: String,
    door: Option<Door>,
    #[serde(default = "always")]
    probability: f64,
    kind: FaultKindName,
    ms: Option<u64>,
    status: Option<u16>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum FaultKindName {
    Latency,
    Status,
    Hang,
    Drop,
    MalformedCredentials,
    ExpiredCredentials,
}

impl TryFrom<FaultTable> for Fault {
    type Error = String;

    fn try_from(table: FaultTable) -> Result<Self, String> {
        let (kind, name) = match table.kind {
            FaultKindName::Latency => (
                FaultKind::Latency {
                    ms: table.ms.ok_or("a latency fault needs `ms`")?,
                },
                "latency",
            ),
            FaultKindName::Status => (
                FaultKind::Status {
                    status: table.status.ok_or("a status fault needs `status`")?,
                },
                "status",
            ),
            FaultKindName::Hang => (FaultKind::Hang, "hang"),
            FaultKindName::Drop => (FaultKind::Drop, "drop"),
            FaultKindName::MalformedCredentials => {
                (FaultKind::MalformedCredentials, "malformed-credentials")
            }
            FaultKindName::ExpiredCredentials => {
                (FaultKind::ExpiredCredentials, "expired-credentials")
            }
        };
        for (key, present, owner) in [
            ("ms", table.ms.is_some(), "latency"),
            ("status", table.status.is_some(), "status"),
        ] {
            if present && name != owner {
                return Err(format!("`{key}` is not a setting of a {name} fault"));
            }
        }
        Ok(Fault {
            path_prefix: table.path_prefix,
            door: table.door,
            probability: table.probability,
            kind,
        })
    }
}

/// One simulated EC2 instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub name: String,
    pub instance_id: String,
    pub instance_type: String,
    pub ami_id: String,
    pub account_id: String,
    pub region: String,
    pub availability_zone: String,
    #[serde(default)]
    pub availability_zone_id: String,
    #[serde(default = "default_life_cycle")]
    pub instance_life_cycle: String,
    #[serde(default = "default_architecture")]
    pub architecture: String,
    pub local_ipv4: Ipv4Addr,
    #[serde(default)]
    pub local_hostname: String,
    #[serde(default)]
    pub public_ipv4: Option<Ipv4Addr>,
    #[serde(default)]
    pub public_hostname: String,
    pub mac: String,
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub subnet_id: String,
    #[serde(default)]
    pub subnet_cidr: String,
    #[serde(default)]
    pub vpc_id: String,
    #[serde(default)]
    pub vpc_cidr: String,
    #[serde(default)]
    pub interface_id: String,
    #[serde(default)]
    pub reservation_id: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Raw user-data, served as is; absent means 404.
    #[serde(default)]
    pub user_data: Option<String>,
    #[serde(default)]
    pub key_name: String,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub events: Events,
    /// `[identity.ecs]`: the ECS task its containers report in task metadata v4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<super::ecs_task::EcsTaskSettings>,
}

fn default_life_cycle() -> String {
    "on-demand".to_string()
}

fn default_architecture() -> String {
    "x86_64".to_string()
}

impl Identity {
    /// The identity's `[identity.ecs]` settings, defaults when it has none.
    pub fn ecs_task(&self) -> std::borrow::Cow<'_, super::ecs_task::EcsTaskSettings> {
        match &self.ecs {
            Some(settings) => std::borrow::Cow::Borrowed(settings),
            None => std::borrow::Cow::Owned(Default::default()),
        }
    }

    /// `local-hostname`, derived from the private IP as EC2 does in us-east-1 when unset.
    pub fn effective_local_hostname(&self) -> String {
        if !self.local_hostname.is_empty() {
            return self.local_hostname.clone();
        }
        let ip = self.local_ipv4.to_string().replace('.', "-");
        if self.region == "us-east-1" {
            format!("ip-{ip}.ec2.internal")
        } else {
            format!("ip-{ip}.{}.compute.internal", self.region)
        }
    }

    /// `public-hostname`, derived from the public IP when unset.
    pub fn effective_public_hostname(&self) -> Option<String> {
        if !self.public_hostname.is_empty() {
            return Some(self.public_hostname.clone());
        }
        let ip = self.public_ipv4?.to_string().replace('.', "-");
        Some(if self.region == "us-east-1" {
            format!("ec2-{ip}.compute-1.amazonaws.com")
        } else {
            format!("ec2-{ip}.{}.compute.amazonaws.com", self.region)
        })
    }
}

/// The instance profile role and where its credentials come from.
// Read through `RoleTable`, for the same reason as `Fault`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RoleTable")]
pub struct Role {
    pub name: String,
    #[serde(flatten)]
    pub source: CredentialSource,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum CredentialSource {
    /// Keys written in the config. Expiration rolls forward unless set.
    Static {
        access_key_id: String,
        secret_access_key: String,
        #[serde(default)]
        session_token: Option<String>,
        /// `YYYY-MM-DDTHH:MM:SSZ`; when set (even in the past) it is served as is.
        #[serde(default)]
        expiration: Option<String>,
    },
    /// A profile of the host's AWS shared config and credentials files.
    Profile { profile: String },
    /// A `credential_process`-style command printing its JSON on stdout.
    Command {
        command: String,
        #[serde(default = "default_command_timeout_ms")]
        timeout_ms: u64,
    },
}

/// An `[identity.role]` table as written: every key any source takes, and no other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleTable {
    name: String,
    source: SourceName,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    expiration: Option<String>,
    profile: Option<String>,
    command: Option<String>,
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum SourceName {
    Static,
    Profile,
    Command,
}

impl TryFrom<RoleTable> for Role {
    type Error = String;

    fn try_from(table: RoleTable) -> Result<Self, String> {
        let (source, name, own): (CredentialSource, &str, &[&str]) = match table.source {
            SourceName::Static => (
                CredentialSource::Static {
                    access_key_id: table
                        .access_key_id
                        .clone()
                        .ok_or("source = \"static\" needs `access_key_id`")?,
                    secret_access_key: table
                        .secret_access_key
                        .clone()
                        .ok_or("source = \"static\" needs `secret_access_key`")?,
                    session_token: table.session_token.clone(),
                    expiration: table.expiration.clone(),
                },
                "static",
                &[
                    "access_key_id",
                    "secret_access_key",
                    "session_token",
                    "expiration",
                ],
            ),
            SourceName::Profile => (
                CredentialSource::Profile {
                    profile: table
                        .profile
                        .clone()
                        .ok_or("source = \"profile\" needs `profile`")?,
                },
                "profile",
                &["profile"],
            ),
            SourceName::Command => (
                CredentialSource::Command {
                    command: table
                        .command
                        .clone()
                        .ok_or("source = \"command\" needs `command`")?,
                    timeout_ms: table.timeout_ms.unwrap_or_else(default_command_timeout_ms),
                },
                "command",
                &["command", "timeout_ms"],
            ),
        };
        let present = [
            ("access_key_id", table.access_key_id.is_some()),
            ("secret_access_key", table.secret_access_key.is_some()),
            ("session_token", table.session_token.is_some()),
            ("expiration", table.expiration.is_some()),
            ("profile", table.profile.is_some()),
            ("command", table.command.is_some()),
            ("timeout_ms", table.timeout_ms.is_some()),
        ];
        if let Some((key, _)) = present
            .iter()
            .find(|(key, present)| *present && !own.contains(key))
        {
            return Err(format!("`{key}` is not a setting of source = \"{name}\""));
        }
        Ok(Role {
            name: table.name,
            source,
        })
    }
}

fn default_command_timeout_ms() -> u64 {
    5_000
}

/// Instance events a developer can trigger to exercise their handling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Events {
    /// Spot interruption: `terminate`, `stop` or `hibernate`, with `spot_time`.
    pub spot_action: Option<String>,
    /// `YYYY-MM-DDTHH:MM:SSZ` of the spot interruption.
    pub spot_time: Option<String>,
    /// Notice time of a rebalance recommendation.
    pub rebalance_notice_time: Option<String>,
    /// Auto Scaling target lifecycle state; absent outside an ASG.
    pub lifecycle_state: Option<String>,
    pub maintenance: Vec<MaintenanceEvent>,
}

/// A scheduled maintenance event as listed under `events/maintenance/scheduled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceEvent {
    pub code: String,
    pub description: String,
    pub event_id: String,
    pub not_before: String,
    pub not_after: String,
    #[serde(default)]
    pub not_before_deadline: Option<String>,
    #[serde(default = "default_event_state")]
    pub state: String,
}

fn default_event_state() -> String {
    "active".to_string()
}

/// How callers on the network are treated as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContainerSettings {
    /// What a caller on our network gets when the engine cannot say which container it is.
    pub unresolved: UnresolvedPolicy,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnresolvedPolicy {
    /// EC2's 500, which SDKs retry: never someone else's credentials.
    #[default]
    Refuse,
    /// The active identity, as if the caller had no label (for engines that hide names).
    Active,
}

/// `[[container]]`: a container, by name or compose service, plays `identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerRule {
    /// The container's name (as `docker ps` shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `com.docker.compose.service` label: every replica of a compose service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_service: Option<String>,
    pub identity: String,
}

impl ContainerRule {
    /// Does this rule name this container?
    pub fn matches(&self, container: &ContainerFacts) -> bool {
        match (&self.name, &self.compose_service) {
            (Some(name), _) => container.name.as_deref() == Some(name.as_str()),
            (None, Some(service)) => container.compose_service.as_deref() == Some(service.as_str()),
            (None, None) => false,
        }
    }
}

/// What is known of a calling container, for choosing its identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerFacts {
    pub name: Option<String>,
    pub compose_service: Option<String>,
    /// The `imds-spoof.identity` label.
    pub identity_label: Option<String>,
}

/// Why a caller got the identity it got: shown next to it wherever it is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentityOrigin {
    /// A `[[container]]` rule of the configuration.
    Rule,
    /// The container's `imds-spoof.identity` label.
    Label,
    /// Nothing chose one: the configuration's `active_identity`.
    #[default]
    Active,
    /// The request's path named it (ECS `/v2/credentials/NAME`).
    Path,
    /// The request's token named it (an EKS Pod Identity service account).
    Token,
}

impl IdentityOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityOrigin::Rule => "rule",
            IdentityOrigin::Label => "label",
            IdentityOrigin::Active => "active",
            IdentityOrigin::Path => "path",
            IdentityOrigin::Token => "token",
        }
    }
}

impl Config {
    /// The identity a container plays: rule (by name, then by compose service) > label >
    /// active identity. A label naming no identity is passed over (the container still
    /// gets an answer, `doctor` says why).
    pub fn identity_for(&self, container: &ContainerFacts) -> (&str, IdentityOrigin) {
        // A rule for this very container wins over one for its whole compose service.
        let by_name = self
            .container_rules
            .iter()
            .find(|rule| rule.name.is_some() && rule.matches(container));
        let by_service = || {
            self.container_rules
                .iter()
                .find(|rule| rule.name.is_none() && rule.matches(container))
        };
        if let Some(rule) = by_name.or_else(by_service) {
            if self.identity(&rule.identity).is_some() {
                return (&rule.identity, IdentityOrigin::Rule);
            }
        }
        if let Some(identity) = container
            .identity_label
            .as_deref()
            .and_then(|label| self.identity(label))
        {
            return (&identity.name, IdentityOrigin::Label);
        }
        (&self.active_identity, IdentityOrigin::Active)
    }

    /// The rule naming this container by name, if any.
    pub fn rule_for_name(&self, name: &str) -> Option<&ContainerRule> {
        self.container_rules
            .iter()
            .find(|rule| rule.name.as_deref() == Some(name))
    }
}

/// The namespace of the service accounts `imds-spoof token --identity NAME` issues tokens
/// for: the account's name is the identity's, no `[[service_account]]` needed.
pub const IDENTITY_NAMESPACE: &str = "imds-spoof";

/// `[[service_account]]`: an EKS Pod Identity association, the service account
/// `namespace/name` (a token's subject) plays `identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccountRule {
    /// `namespace/name`, as `kubectl` names a service account.
    pub name: String,
    pub identity: String,
}

impl Config {
    /// The identity of the service account `namespace/name`: its `[[service_account]]`,
    /// or in [`IDENTITY_NAMESPACE`] the identity of that name.
    pub fn identity_for_service_account(&self, namespace: &str, name: &str) -> Option<&str> {
        if namespace == IDENTITY_NAMESPACE {
            return self.identity(name).map(|identity| identity.name.as_str());
        }
        self.service_accounts
            .iter()
            .find(|rule| {
                rule.name
                    .split_once('/')
                    .is_some_and(|(ns, sa)| ns == namespace && sa == name)
            })
            .map(|rule| rule.identity.as_str())
    }
}
