//! `[[fault]]`: what goes wrong on purpose, and at which door.

use serde::{Deserialize, Serialize};

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
