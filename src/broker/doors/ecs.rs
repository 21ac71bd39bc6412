//! ECS task credentials (docs/protocol.md §7): `GET /v2/credentials/<id>`. Task metadata
//! (`/v4/…`) at the same door is `task_metadata.rs`'s.
//!
//! The id is [`CALLER_ID`], the caller's own identity chosen as for IMDS (rule > label >
//! active), or an identity's name. Behind the proxy a name is served only when it is the
//! identity the caller plays anyway; on `serve`'s loopback any configured identity. No id
//! is the agent's `NoIdInRequest`, an id it will not serve its `InvalidIdInRequest`, both
//! 400 JSON. On `serve`'s loopback every request
//! must carry the run's container token in `Authorization` (FULL_URI style).

use std::ops::ControlFlow;

use axum::http::{Method, StatusCode};
use serde::Serialize;

use super::credentials::{self, Failure};
use super::host::{admit_checked_host, bare_host, host_port};
use super::route::{switched_off, ECS_ADDRESS};
use super::{faults, replies};
use crate::broker::access::{self, AccessPolicy, Caller};
use crate::broker::exchange::Exchange;
use crate::broker::identify::identify;
use crate::broker::outcome::{Outcome, Step};
use crate::broker::BrokerState;
use crate::config::{Config, IdentityOrigin};

/// The id that means "whoever is calling".
pub const CALLER_ID: &str = "self";

const NO_ID: &str = "NoIdInRequest";
const INVALID_ID: &str = "InvalidIdInRequest";

/// What the path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Asked<'a> {
    NoId,
    Caller,
    Identity(&'a str),
    /// Not a credentials path at all.
    Elsewhere,
}

fn asked(path: &str) -> Asked<'_> {
    let Some(rest) = path.strip_prefix(super::ECS_CREDENTIALS_PATH) else {
        return Asked::Elsewhere;
    };
    let id = rest.trim_start_matches('/').trim_end_matches('/');
    match id {
        _ if !rest.is_empty() && !rest.starts_with('/') => Asked::Elsewhere,
        "" => Asked::NoId,
        CALLER_ID => Asked::Caller,
        id => Asked::Identity(id),
    }
}

/// The document ECS serves (field order as the agent's).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EcsCredentials<'a> {
    role_arn: &'a str,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: &'a str,
    account_id: &'a str,
}

pub async fn decide(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Outcome {
    Outcome::of(steps(state, config, exchange).await)
}

async fn steps(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Step<Outcome> {
    if let Some(off) = switched_off(config, exchange) {
        return ControlFlow::Break(off);
    }
    let caller = admit(state, config, exchange)?;
    // Task metadata hands out no credentials: no container token on loopback.
    if super::task_metadata::is_task_metadata_path(&exchange.path) {
        return ControlFlow::Break(
            super::task_metadata::decide(state, config, exchange, &caller).await,
        );
    }
    check_container_token(state, exchange)?;
    if exchange.method != Method::GET && exchange.method != Method::HEAD {
        return ControlFlow::Break(answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use GET",
        ));
    }
    // A caller that cannot be identified gets no one's credentials (`[containers]
    // unresolved`), in the agent's words for credentials it does not have yet.
    if identify(state, config, exchange, &caller).await.is_break() {
        return ControlFlow::Break(answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "CredentialsUninitialized",
            "CredentialsV2Request: Credentials uninitialized for ID",
        ));
    }
    let asked_for = asked(&exchange.path);
    match asked_for {
        Asked::Elsewhere => return ControlFlow::Break(Outcome::Answer(replies::go_not_found())),
        Asked::NoId => {
            return ControlFlow::Break(answer(
                StatusCode::BAD_REQUEST,
                NO_ID,
                "CredentialsV2Request: No ID in the request",
            ))
        }
        Asked::Identity(name) if !may_name(state, config, exchange, name) => {
            return ControlFlow::Break(answer(
                StatusCode::BAD_REQUEST,
                INVALID_ID,
                "CredentialsV2Request: Credentials not found",
            ))
        }
        // Behind the proxy the name is the caller's own identity (checked above): its
        // origin stays the rule, label or active choice that made it so.
        Asked::Identity(_) if matches!(state.access, AccessPolicy::Proxy { .. }) => {}
        Asked::Identity(name) => {
            exchange.identity = name.to_string();
            exchange.identity_origin = IdentityOrigin::Path;
        }
        Asked::Caller => {}
    }
    let plan = faults::gate(config, exchange, |status| {
        error_reply(status, status.canonical_reason().unwrap_or("error"))
    })
    .await?;
    ControlFlow::Continue(match credentials::fetch(state, config, exchange).await {
        Ok(found) => {
            let body = credentials::rendered(&found, credentials::Shape::Ecs, |found| {
                let document = EcsCredentials {
                    role_arn: &found.role_arn,
                    access_key_id: &found.access_key_id,
                    secret_access_key: &found.secret_access_key,
                    token: &found.token,
                    expiration: &found.expiration,
                    account_id: &found.account_id,
                };
                serde_json::to_string(&document).unwrap_or_default()
            });
            Outcome::Answer(replies::json(credentials::shape(&plan, exchange, body)))
        }
        // A task without a role has no credentials id the agent would know.
        Err(Failure::NoRole(reason)) => {
            exchange.provider_error = Some(reason);
            answer(
                StatusCode::BAD_REQUEST,
                INVALID_ID,
                "CredentialsV2Request: Credentials not found",
            )
        }
        Err(Failure::Provider(reason)) => {
            tracing::error!(identity = %exchange.identity, "ECS credentials failed: {reason}");
            exchange.provider_error = Some(reason);
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "CredentialsUninitialized",
                "CredentialsV2Request: Credentials uninitialized for ID",
            )
        }
    })
}

/// Whether the caller may ask for identity `name` by name. On ECS a task's credentials
/// id is an unguessable id handed only to that task; here the id is an identity's short
/// name, so behind the proxy a container may name only the identity it plays (rule >
/// label > active, already in `exchange.identity`). Any other name, configured or not,
/// gets the unknown-id answer byte for byte: no container reads another identity's keys,
/// nor learns which names exist. On `serve`'s loopback (one host, token-guarded) every
/// configured identity can be named.
fn may_name(state: &BrokerState, config: &Config, exchange: &Exchange, name: &str) -> bool {
    match state.access {
        AccessPolicy::Proxy { .. } => name == exchange.identity && config.identity(name).is_some(),
        AccessPolicy::Loopback { .. } => config.identity(name).is_some(),
    }
}

/// Loopback: IMDS's Host rule (the listen address, `localhost:PORT`). Behind the proxy:
/// Host must be the ECS address on port 80 (the agent is not known to check Host at all,
/// unverified; we do, against DNS rebinding), then the proxy's secret as for IMDS.
fn admit(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Step<Caller> {
    let admitted = match &state.access {
        AccessPolicy::Loopback { .. } => access::admit(
            &state.access,
            exchange.peer,
            exchange.local,
            &exchange.headers,
            config.broker.allow_host,
        )
        .map_err(|refusal| refusal.to_string()),
        AccessPolicy::Proxy { .. } => {
            let host = exchange
                .headers
                .get(axum::http::header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            let ecs_host = bare_host(host).parse() == Ok(ECS_ADDRESS)
                && host_port(host).is_none_or(|port| port == 80);
            if ecs_host {
                admit_checked_host(&state.access, config, exchange)
                    .map_err(|refusal| refusal.to_string())
            } else {
                Err(format!(
                    "Host header {host:?} is not the ECS address (DNS rebinding?)"
                ))
            }
        }
    };
    match admitted {
        Ok(caller) => ControlFlow::Continue(caller),
        Err(reason) => {
            tracing::warn!(peer = %exchange.peer, "ECS request refused: {reason}");
            ControlFlow::Break(answer(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Access denied",
            ))
        }
    }
}

/// On loopback, the run's container token must be the `Authorization` (never credentials
/// without it); behind the proxy the caller is known by its address and no token is asked.
fn check_container_token(state: &BrokerState, exchange: &Exchange) -> Step {
    if !matches!(state.access, AccessPolicy::Loopback { .. }) {
        return ControlFlow::Continue(());
    }
    let presented = exchange
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .map(|value| value.as_bytes());
    let valid = match (&state.doors.container_token, presented) {
        (Some(expected), Some(presented)) => {
            access::constant_time_eq(presented, expected.as_bytes())
        }
        _ => false,
    };
    if valid {
        return ControlFlow::Continue(());
    }
    let message = match (&state.doors.container_token, presented) {
        (None, _) => "no container token on this server: use imds-spoof serve",
        (Some(_), None) => "Authorization header missing: set AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE to the file serve wrote",
        (Some(_), Some(_)) => "Authorization header is not this server's container token",
    };
    ControlFlow::Break(answer(StatusCode::FORBIDDEN, "AccessDenied", message))
}

fn error_reply(status: StatusCode, message: &str) -> axum::http::Response<bytes::Bytes> {
    let code: String = status
        .canonical_reason()
        .unwrap_or("Error")
        .split_whitespace()
        .collect();
    replies::ecs_error(status, &code, message)
}

fn answer(status: StatusCode, code: &str, message: &str) -> Outcome {
    Outcome::Answer(replies::ecs_error(status, code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_an_identity_the_caller_or_nothing() {
        assert_eq!(asked("/v2/credentials"), Asked::NoId);
        assert_eq!(asked("/v2/credentials/"), Asked::NoId);
        assert_eq!(asked("/v2/credentials/self"), Asked::Caller);
        assert_eq!(asked("/v2/credentials/worker"), Asked::Identity("worker"));
        assert_eq!(asked("/v2/credentials/worker/"), Asked::Identity("worker"));
        assert_eq!(asked("/v2/credentials/a/b"), Asked::Identity("a/b"));
        assert_eq!(asked("/v2/credentialsx"), Asked::Elsewhere);
        assert_eq!(asked("/v4/task"), Asked::Elsewhere);
    }
}
