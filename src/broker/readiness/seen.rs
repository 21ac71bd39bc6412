//! What readiness needs of one exchange, from a broker record or a log line.

use std::net::IpAddr;

use crate::broker::record::{ExchangeRecord, ImdsVersion};
use crate::broker::responses::TOKEN_HEADER;

/// What readiness needs of one exchange.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub time: &'a str,
    pub caller_ip: Option<IpAddr>,
    pub container: Option<&'a str>,
    pub path: &'a str,
    pub kind: Use,
    pub user_agent: Option<&'a str>,
}

impl<'a> Seen<'a> {
    /// The readiness facts of a broker record, read through its public fields.
    pub fn of_record(record: &'a ExchangeRecord) -> Seen<'a> {
        // One pass for both headers: this runs for every exchange.
        let (token, user_agent) = record.request_headers.find_two(TOKEN_HEADER, "user-agent");
        let token = token.is_some();
        Seen {
            time: &record.time,
            caller_ip: record.caller_ip,
            container: record.caller_container.as_deref(),
            path: &record.path,
            kind: Use::of(record.version, token),
            user_agent,
        }
    }
}

/// How a request spoke to IMDS, as readiness counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    V1,
    V2,
    Token,
}

impl Use {
    /// A token request stays one; any other request is v2 exactly when it carries a token
    /// (the recorded version says v1 for answers given before the token was looked at).
    pub fn of(version: ImdsVersion, carries_token: bool) -> Use {
        match version {
            ImdsVersion::TokenRequest => Use::Token,
            _ if carries_token => Use::V2,
            _ => Use::V1,
        }
    }
}
