//! One exchange as recorded: what was asked, by whom, and what was answered; and its
//! masked copy for records and logs.

use std::borrow::Cow;
use std::net::IpAddr;

use serde::Serialize;

use super::mask::{mask, mask_json_secrets, mask_token_header};
use super::text::{HeaderList, SharedText};
use crate::config::Door;
use crate::config::IdentityOrigin;

/// How the caller spoke to IMDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImdsVersion {
    V1,
    V2,
    TokenRequest,
}

impl ImdsVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ImdsVersion::V1 => "v1",
            ImdsVersion::V2 => "v2",
            ImdsVersion::TokenRequest => "token",
        }
    }
}

/// One request and what it was answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExchangeRecord {
    pub id: u64,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub time: String,
    pub caller_ip: Option<IpAddr>,
    /// Container name; None when the caller is not (yet) known.
    pub caller_container: Option<String>,
    pub identity: String,
    /// Why the caller got that identity: a rule, its label, or the active identity.
    pub identity_origin: IdentityOrigin,
    /// Which endpoint the request came through (IMDS, ECS, EKS); records written before
    /// there were doors read as IMDS.
    #[serde(default)]
    pub door: Door,
    pub method: Cow<'static, str>,
    pub path: String,
    pub version: ImdsVersion,
    /// 0 when no answer was sent (hang, dropped connection, hop limit).
    pub status: u16,
    pub latency_us: u64,
    pub request_headers: HeaderList,
    pub response_headers: HeaderList,
    /// The start of the response body (bounded by the broker's record_body_limit).
    pub response_body: SharedText,
    pub body_truncated: bool,
    pub provider_error: Option<String>,
    /// The injected fault that shaped this answer, if any.
    pub fault: Option<String>,
}

impl ExchangeRecord {
    /// How the request spoke: the IMDS version (`v1`, `v2`, `token`), or the door's name
    /// for the container endpoints (`ecs`, `eks`), which have no IMDS version.
    pub fn protocol(&self) -> &'static str {
        match self.door {
            Door::Imds => self.version.as_str(),
            door => door.as_str(),
        }
    }

    /// A copy safe to write to logs: tokens and secret keys replaced by `****`.
    pub fn masked(&self) -> ExchangeRecord {
        let mut copy = self.clone();
        copy.request_headers = mask_token_header(&self.request_headers);
        copy.response_headers = mask_token_header(&self.response_headers);
        let body = if copy.version == ImdsVersion::TokenRequest && copy.status == 200 {
            // A cut token's last characters are from its middle: nothing of it is shown.
            if copy.body_truncated {
                "****".to_string()
            } else {
                mask(&copy.response_body)
            }
        } else {
            mask_json_secrets(&copy.response_body)
        };
        // Task metadata bodies carry log driver options, which may hold secrets.
        copy.response_body = SharedText::from(super::log_options::mask_log_options(&body));
        copy
    }
}

#[cfg(test)]
impl ExchangeRecord {
    /// A plain answered v1 `GET /`, for tests to adjust with struct update syntax.
    pub(crate) fn sample(id: u64) -> ExchangeRecord {
        ExchangeRecord {
            id,
            time: String::new(),
            caller_ip: None,
            caller_container: None,
            identity: "default".into(),
            identity_origin: IdentityOrigin::Active,
            door: Door::Imds,
            method: "GET".into(),
            path: "/".into(),
            version: ImdsVersion::V1,
            status: 200,
            latency_us: 1,
            request_headers: HeaderList::default(),
            response_headers: HeaderList::default(),
            response_body: SharedText::default(),
            body_truncated: false,
            provider_error: None,
            fault: None,
        }
    }
}
