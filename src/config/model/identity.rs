//! `[[identity]]`: the instance each identity is, its role and where the role's
//! credentials come from, and its scheduled events.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

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
    pub ecs: Option<crate::config::ecs_task::EcsTaskSettings>,
}

fn default_life_cycle() -> String {
    "on-demand".to_string()
}

fn default_architecture() -> String {
    "x86_64".to_string()
}

impl Identity {
    /// The identity's `[identity.ecs]` settings, defaults when it has none.
    pub fn ecs_task(&self) -> std::borrow::Cow<'_, crate::config::ecs_task::EcsTaskSettings> {
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
    /// An STS session of `role_arn` for each caller (docs/credentials.md), assumed with the
    /// credentials of a profile or of another identity.
    #[serde(rename = "assume-role")]
    AssumeRole(AssumeRole),
}

/// `source = "assume-role"`: what to assume, with what, and how sessions are named.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssumeRole {
    pub role_arn: String,
    /// Whose credentials assume it: a profile, or another identity's role.
    #[serde(flatten)]
    pub base: AssumeBase,
    /// `{container}`, `{identity}` and `{instance_id}` are replaced; the result is cut to
    /// what STS allows. One session per (identity, session name).
    pub session_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Seconds, 900 (15 minutes) to 43200 (12 hours), as STS allows.
    pub duration: u32,
    /// An inline session policy (JSON), narrowing the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub session_tags: BTreeMap<String, String>,
    /// The MFA device the role requires (`arn:aws:iam::ACCOUNT:mfa/NAME`). A code is
    /// asked once (`imds-spoof mfa CODE`) for a `GetSessionToken` session that is then
    /// the base of every role assumed with the same base credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_serial: Option<String>,
    /// Seconds the MFA session lasts: 900 to 129600 (36 hours), as STS allows.
    pub mfa_duration: u32,
}

/// Where an assumed role's base credentials come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssumeBase {
    /// `from_profile = "NAME"`: a profile as `source = "profile"` resolves it.
    FromProfile(String),
    /// `from_identity = "NAME"`: that identity's role credentials.
    FromIdentity(String),
}

/// The default session name: the calling container's name, so CloudTrail shows it.
pub const DEFAULT_SESSION_NAME: &str = "{container}";
/// STS's default session length.
pub const DEFAULT_ASSUME_DURATION: u32 = 3600;
/// An MFA session lasts a working day unless `mfa_duration` says otherwise.
pub const DEFAULT_MFA_DURATION: u32 = 12 * 3600;

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
    role_arn: Option<String>,
    from_profile: Option<String>,
    from_identity: Option<String>,
    session_name: Option<String>,
    external_id: Option<String>,
    duration: Option<u32>,
    policy: Option<String>,
    session_tags: Option<BTreeMap<String, String>>,
    mfa_serial: Option<String>,
    mfa_duration: Option<u32>,
    /// Fields of sources the role used before (the dashboard's source menu moves them
    /// here), so switching back finds them; not read otherwise.
    #[allow(dead_code)]
    kept: Option<toml::Table>,
}

/// The source names a role takes, in the order the dashboard's menu lists them.
pub const SOURCE_NAMES: [&str; 4] = ["static", "profile", "command", "assume-role"];

/// The keys of an `[identity.role]` table that belong to the source `name`.
pub fn source_keys(name: &str) -> &'static [&'static str] {
    match name {
        "static" => &[
            "access_key_id",
            "secret_access_key",
            "session_token",
            "expiration",
        ],
        "profile" => &["profile"],
        "command" => &["command", "timeout_ms"],
        "assume-role" => &[
            "role_arn",
            "from_profile",
            "from_identity",
            "session_name",
            "external_id",
            "duration",
            "policy",
            "session_tags",
            "mfa_serial",
            "mfa_duration",
        ],
        _ => &[],
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum SourceName {
    Static,
    Profile,
    Command,
    #[serde(rename = "assume-role")]
    AssumeRole,
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
                source_keys("static"),
            ),
            SourceName::Profile => (
                CredentialSource::Profile {
                    profile: table
                        .profile
                        .clone()
                        .ok_or("source = \"profile\" needs `profile`")?,
                },
                "profile",
                source_keys("profile"),
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
                source_keys("command"),
            ),
            SourceName::AssumeRole => (
                CredentialSource::AssumeRole(assume_role(&table)?),
                "assume-role",
                source_keys("assume-role"),
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
            ("role_arn", table.role_arn.is_some()),
            ("from_profile", table.from_profile.is_some()),
            ("from_identity", table.from_identity.is_some()),
            ("session_name", table.session_name.is_some()),
            ("external_id", table.external_id.is_some()),
            ("duration", table.duration.is_some()),
            ("policy", table.policy.is_some()),
            ("session_tags", table.session_tags.is_some()),
            ("mfa_serial", table.mfa_serial.is_some()),
            ("mfa_duration", table.mfa_duration.is_some()),
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

/// The `assume-role` settings of a table, with the one base it must name.
fn assume_role(table: &RoleTable) -> Result<AssumeRole, String> {
    let base = match (&table.from_profile, &table.from_identity) {
        (Some(profile), None) => AssumeBase::FromProfile(profile.clone()),
        (None, Some(identity)) => AssumeBase::FromIdentity(identity.clone()),
        (Some(_), Some(_)) => {
            return Err("source = \"assume-role\" takes `from_profile` or `from_identity`, not both".into())
        }
        (None, None) => {
            return Err("source = \"assume-role\" needs `from_profile` or `from_identity`: whose credentials assume the role".into())
        }
    };
    Ok(AssumeRole {
        role_arn: table
            .role_arn
            .clone()
            .ok_or("source = \"assume-role\" needs `role_arn`")?,
        base,
        session_name: table
            .session_name
            .clone()
            .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_string()),
        external_id: table.external_id.clone(),
        duration: table.duration.unwrap_or(DEFAULT_ASSUME_DURATION),
        policy: table.policy.clone(),
        session_tags: table.session_tags.clone().unwrap_or_default(),
        mfa_serial: table.mfa_serial.clone(),
        mfa_duration: table.mfa_duration.unwrap_or(DEFAULT_MFA_DURATION),
    })
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
