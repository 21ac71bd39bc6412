//! `PUT /latest/api/token`: the per-caller pace, EC2's token rules, and the binding a
//! token carries (the instance that asked).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};

use crate::broker::access::Caller;
use crate::broker::exchange::Exchange;
use crate::broker::faults;
use crate::broker::outcome::Outcome;
use crate::broker::pacer::Pace;
use crate::broker::record::ImdsVersion;
use crate::broker::responses::{self, TOKEN_TTL_HEADER};
use crate::broker::BrokerState;
use crate::config::Config;

use super::token_path;
use super::tokens;

/// A token request, answered by the token rules alone.
pub(super) async fn token_step(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
    caller: &Caller,
) -> Outcome {
    exchange.version = ImdsVersion::TokenRequest;
    // One caller's flood is slowed (then dropped) before it costs anyone else anything.
    match state
        .token_pace
        .pace(caller.ip, config.imds.token_puts_per_second, Instant::now())
    {
        Pace::Now => {}
        Pace::After(wait) => {
            faults::note(&mut exchange.fault, "token requests paced");
            tokio::time::sleep(wait).await;
        }
        Pace::Refuse => {
            faults::note(&mut exchange.fault, "token requests over pace: dropped");
            return Outcome::Drop;
        }
    }
    let binding = caller_binding(exchange);
    let outcome = token_request(
        state,
        config,
        &exchange.method,
        &exchange.path,
        &exchange.headers,
        caller,
        &binding,
    );
    if matches!(outcome, Outcome::NoAnswer) {
        // Recorded so the dashboard can say why the caller got nothing.
        faults::note(
            &mut exchange.fault,
            "hop limit 1: answer dropped before the container",
        );
    }
    outcome
}

/// `PUT /latest/api/token`, with EC2's rules.
fn token_request(
    state: &BrokerState,
    config: &Config,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    caller: &Caller,
    binding: &str,
) -> Outcome {
    if let Some(response) = token_path::token_refusal(method, path) {
        return Outcome::Answer(response);
    }
    // EC2 refuses tokens requested through a proxy, which it detects by this header.
    if headers.contains_key("x-forwarded-for") {
        return Outcome::Answer(responses::error(StatusCode::FORBIDDEN));
    }
    let ttl = headers
        .get(TOKEN_TTL_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u32>().ok())
        .filter(|ttl| (1..=config.imds.max_token_ttl).contains(ttl));
    let Some(ttl) = ttl else {
        return Outcome::Answer(responses::error(StatusCode::BAD_REQUEST));
    };
    // A hop limit of 1 lets the answer die one hop short of a bridged container.
    if caller.via_proxy && config.imds.hop_limit < 2 {
        return Outcome::NoAnswer;
    }
    let token = state
        .tokens
        .issue(Duration::from_secs(u64::from(ttl)), binding);
    Outcome::Answer(responses::token(token, ttl))
}

/// Tokens belong to the instance that asked: a container (its address and name), or
/// this host as a whole for callers that are no container (every local process of
/// `serve` is the same machine).
pub(super) fn caller_binding(exchange: &Exchange) -> Cow<'static, str> {
    match (&exchange.caller, &exchange.caller_container) {
        (Some(caller), Some(container)) => tokens::binding(caller.ip, Some(container)).into(),
        (Some(caller), None) if exchange.on_network => tokens::binding(caller.ip, None).into(),
        _ => Cow::Borrowed(tokens::HOST_BINDING),
    }
}
