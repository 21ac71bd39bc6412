//! EKS Pod Identity (docs/protocol.md §8): `GET /v1/credentials`, in the agent's order:
//! Host (403 text), then the token in `Authorization` (400 text), then the association of
//! its service account with an identity (403 text), then credentials as compact JSON.
//!
//! On `serve`'s loopback the Host may also name the listen address (`127.0.0.1:PORT`,
//! `localhost:PORT`), so `AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:PORT/v1/credentials`
//! works for host SDKs; any other Host is refused as the agent refuses it.

use std::ops::ControlFlow;

use axum::http::StatusCode;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::credentials::{self, Failure};
use super::host::{admit_checked_host, bare_host, names_loopback_listener};
use super::pod_token::{ServiceAccount, TokenError};
use super::route::{switched_off, EKS_ADDRESS, EKS_ADDRESS_V6, EKS_PATH};
use super::{faults, replies};
use crate::broker::exchange::Exchange;
use crate::broker::identify::identify;
use crate::broker::outcome::Outcome;
use crate::broker::BrokerState;
use crate::config::{Config, IdentityOrigin};

/// The document the agent serves (field order as its struct's).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EksCredentials<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    account_id: &'a str,
    expiration: &'a str,
}

pub async fn decide(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Outcome {
    if let Some(off) = switched_off(config, exchange) {
        return off;
    }
    let host = exchange
        .headers
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !host_allowed(state, exchange, &host) {
        let shown: String = bare_host(&host).chars().take(100).collect();
        return access_denied(&format!(
            "Called agent through invalid address, please use either [{EKS_ADDRESS} {EKS_ADDRESS_V6}] address not {shown}"
        ));
    }
    let caller = match admit_checked_host(&state.access, config, exchange) {
        Ok(caller) => caller,
        Err(refusal) => {
            tracing::warn!(peer = %exchange.peer, "EKS request refused: {refusal}");
            // The reason names no secret (access.rs) and tells a developer what to change,
            // e.g. `allow_host` for the host's own SDK.
            return access_denied(&refusal.to_string());
        }
    };
    if exchange.path != EKS_PATH {
        return Outcome::Answer(replies::go_not_found());
    }
    if identify(state, config, exchange, &caller).await.is_break() {
        return Outcome::Answer(replies::go_text_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "caller not identified",
        ));
    }
    let plan = match faults::gate(config, exchange, fault_reply).await {
        ControlFlow::Continue(plan) => plan,
        ControlFlow::Break(outcome) => return outcome,
    };
    let token = exchange
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let account = match state
        .doors
        .pod_tokens
        .verify(&token, OffsetDateTime::now_utc().unix_timestamp())
    {
        Ok(account) => account,
        Err(err) => return bad_token(&err),
    };
    let Some(identity) = config.identity_for_service_account(&account.namespace, &account.name)
    else {
        exchange.provider_error = Some(format!(
            "service account {account} is associated with no identity ([[service_account]])"
        ));
        return access_denied(&format!(
            "No Pod Identity association for service account {account}"
        ));
    };
    exchange.identity = identity.to_string();
    exchange.identity_origin = IdentityOrigin::Token;
    answer_credentials(state, config, exchange, &plan, &account).await
}

async fn answer_credentials(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
    plan: &crate::broker::faults::FaultPlan,
    account: &ServiceAccount,
) -> Outcome {
    match credentials::fetch(state, config, exchange).await {
        Ok(found) => {
            let body = credentials::rendered(&found, credentials::Shape::Eks, |found| {
                let expiration = go_rfc3339_nano(&found.expiration);
                let document = EksCredentials {
                    access_key_id: &found.access_key_id,
                    secret_access_key: &found.secret_access_key,
                    token: &found.token,
                    account_id: &found.account_id,
                    expiration: &expiration,
                };
                serde_json::to_string(&document).unwrap_or_default()
            });
            Outcome::Answer(replies::json(credentials::shape(plan, exchange, body)))
        }
        Err(Failure::NoRole(reason)) => {
            exchange.provider_error = Some(reason);
            access_denied(&format!(
                "the identity of service account {account} has no role"
            ))
        }
        Err(Failure::Provider(reason)) => {
            tracing::error!(identity = %exchange.identity, "EKS credentials failed: {reason}");
            exchange.provider_error = Some(reason);
            Outcome::Answer(replies::go_text_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "credentials unavailable",
            ))
        }
    }
}

/// The agent's two addresses (port and brackets stripped, compared as text, as the agent
/// does); on loopback also the listen address itself.
/// The agent compares the Host's text with its addresses' text.
const EKS_HOSTS: [&str; 2] = ["169.254.170.23", "fd00:ec2::23"];

fn host_allowed(state: &BrokerState, exchange: &Exchange, host: &str) -> bool {
    let bare = bare_host(host);
    EKS_HOSTS.contains(&bare) || names_loopback_listener(&state.access, exchange.local, host)
}

/// An RFC 3339 time as Go's `RFC3339Nano` writes it: UTC `Z`, up to nine fraction digits
/// with trailing zeros trimmed (none for whole seconds). Text that does not parse is
/// passed on as the provider gave it.
pub fn go_rfc3339_nano(rfc3339: &str) -> String {
    // Whole seconds in UTC (`YYYY-MM-DDTHH:MM:SSZ`, what sources nearly always give) are
    // already what Go writes (and text of that shape that is no time is passed on as is
    // below too).
    if is_whole_seconds_utc(rfc3339) {
        return rfc3339.to_string();
    }
    let Ok(at) = OffsetDateTime::parse(rfc3339, &Rfc3339) else {
        return rfc3339.to_string();
    };
    let at = at.to_offset(time::UtcOffset::UTC);
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if at.nanosecond() != 0 {
        let fraction = format!("{:09}", at.nanosecond());
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

/// `YYYY-MM-DDTHH:MM:SSZ` by shape: digits with `-`, `T`, `:` and `Z` in their places.
fn is_whole_seconds_utc(text: &str) -> bool {
    const SHAPE: &[u8; 20] = b"dddd-dd-ddTdd:dd:ddZ";
    text.len() == SHAPE.len()
        && text.bytes().zip(SHAPE).all(|(byte, &want)| match want {
            b'd' => byte.is_ascii_digit(),
            other => byte == other,
        })
}

fn fault_reply(status: StatusCode) -> axum::http::Response<bytes::Bytes> {
    let message = match status {
        StatusCode::TOO_MANY_REQUESTS => "Too Many Requests. Rate exceeded".to_string(),
        StatusCode::FORBIDDEN => "Access Denied. Injected fault".to_string(),
        status => status.canonical_reason().unwrap_or("error").to_string(),
    };
    replies::go_text_error(status, &message)
}

fn access_denied(reason: &str) -> Outcome {
    Outcome::Answer(replies::go_text_error(
        StatusCode::FORBIDDEN,
        &format!("Access Denied. {reason}"),
    ))
}

fn bad_token(err: &TokenError) -> Outcome {
    Outcome::Answer(replies::go_text_error(
        StatusCode::BAD_REQUEST,
        &err.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_texts_are_the_agents_addresses() {
        assert_eq!(
            EKS_HOSTS,
            [EKS_ADDRESS.to_string(), EKS_ADDRESS_V6.to_string()]
        );
    }

    #[test]
    fn expirations_are_written_as_go_writes_rfc3339_nano() {
        assert_eq!(
            go_rfc3339_nano("2026-09-01T12:00:00Z"),
            "2026-09-01T12:00:00Z"
        );
        assert_eq!(
            go_rfc3339_nano("2026-09-01T12:00:00.123456789Z"),
            "2026-09-01T12:00:00.123456789Z"
        );
        assert_eq!(
            go_rfc3339_nano("2026-09-01T12:00:00.120Z"),
            "2026-09-01T12:00:00.12Z"
        );
        assert_eq!(
            go_rfc3339_nano("2026-09-01T14:00:00.5+02:00"),
            "2026-09-01T12:00:00.5Z"
        );
        assert_eq!(go_rfc3339_nano("not a time"), "not a time");
    }
}
