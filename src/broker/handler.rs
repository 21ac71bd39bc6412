//! One IMDS request from start to answer: admission, tokens, faults, provider, record.

// Each step returns the answer that ends the exchange as its error: an `Outcome` moves once
// per request, and boxing it would allocate on the hot path.
#![allow(clippy::result_large_err)]

use std::borrow::Cow;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Response, StatusCode};
use bytes::Bytes;
use futures_util::FutureExt;

use crate::config::{Config, DisabledBehaviour, Door, FaultKind, IdentityOrigin, TokenMode};
use crate::provider::{ProviderAnswer, ProviderRequest};

use super::access::{self, Caller};
use super::connection::{Connection, PeerAddr};
use super::doors;
use super::exchange::{record, Exchange};
use super::extended;
use super::faults::{self, FaultPlan};
use super::limits;
use super::pacer::Pace;
use super::record::ImdsVersion;
use super::responses::{self, TOKEN_HEADER_NAME, TOKEN_TTL_HEADER};
use super::token_path::{self, is_token_path};
use super::tokens::{self, TokenCheck};
use super::BrokerState;

use super::identify::identify;
use super::outcome::Outcome;

/// The handler as a router mounts it: the connection, if any, in the request's extensions.
pub async fn handle(State(state): State<Arc<BrokerState>>, request: Request) -> Response<Body> {
    let connection = request.extensions().get::<Arc<Connection>>().cloned();
    answer(state, request, connection).await
}

/// One exchange on `connection`. The server's connections call this directly: the body
/// is never read, and handing the connection over in the request's extensions cost an
/// allocation per request.
pub(super) async fn answer<B>(
    state: Arc<BrokerState>,
    mut request: axum::http::Request<B>,
    connection: Option<Arc<Connection>>,
) -> Response<Body> {
    let started = Instant::now();
    let peer = connection
        .as_ref()
        .and_then(|connection| connection.peer)
        .or_else(|| request.extensions().get::<PeerAddr>().map(|peer| peer.0))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let config = state.store.current();
    let mut exchange = Exchange {
        started,
        peer,
        local: connection.as_ref().and_then(|connection| connection.local),
        method: request.method().clone(),
        path: request.uri().path().to_string(),
        // Taken, not cloned: the request is dropped right after.
        headers: std::mem::take(request.headers_mut()),
        door: Door::Imds,
        caller: None,
        caller_container: None,
        identity: config.active_identity.clone(),
        identity_origin: IdentityOrigin::Active,
        on_network: false,
        version: ImdsVersion::V1,
        provider_error: None,
        fault: None,
    };
    drop(request);
    exchange.door = doors::door_of(&state.access, &exchange.headers, &exchange.path);

    let outcome = match exchange.door {
        Door::Imds => decide(&state, &config, &mut exchange).await,
        Door::Ecs => doors::ecs::decide(&state, &config, &mut exchange).await,
        Door::Eks => doors::eks::decide(&state, &config, &mut exchange).await,
    };
    match outcome {
        Outcome::Answer(response) => {
            // The body is recorded from the answer as built: no second collection.
            record(&state, &config, exchange, Some(&response));
            response.map(Body::from)
        }
        outcome @ (Outcome::NoAnswer | Outcome::Drop) => {
            record(&state, &config, exchange, None);
            if matches!(outcome, Outcome::Drop) {
                if let Some(connection) = &connection {
                    connection.control.close_now();
                }
            }
            wait_forever(&state).await;
            responses::error(StatusCode::SERVICE_UNAVAILABLE).map(Body::from)
        }
    }
}

/// Waits until the server shuts down; the connection's end drops this future first.
async fn wait_forever(state: &BrokerState) {
    state.shutdown.cancelled().await;
}

/// The steps' outcome, with the extended credentials paths' rule (`extended.rs`).
async fn decide(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Outcome {
    let outcome = decide_steps(state, config, exchange).await;
    extended::settle(config, exchange, outcome)
}

/// admit -> identify -> gate -> token -> provider: each step answers or passes on.
async fn decide_steps(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Outcome {
    let caller = match admit(state, config, exchange) {
        Ok(caller) => caller,
        Err(outcome) => return outcome,
    };
    if let Err(outcome) = identify(state, config, exchange, &caller).await {
        return outcome;
    }
    let plan = match gate(config, exchange).await {
        Ok(plan) => plan,
        Err(outcome) => return outcome,
    };
    if is_token_path(&exchange.path) {
        return token_step(state, config, exchange, &caller).await;
    }
    if let Err(outcome) = check_token(state, config, exchange) {
        return outcome;
    }
    ask_provider(state, exchange, &caller, &plan).await
}

/// Who may ask at all (the access policy: loopback Host check, proxy secret).
fn admit(state: &BrokerState, config: &Config, exchange: &Exchange) -> Result<Caller, Outcome> {
    access::admit(
        &state.access,
        exchange.peer,
        exchange.local,
        &exchange.headers,
        config.broker.allow_host,
    )
    .map_err(|refusal| {
        tracing::warn!(peer = %exchange.peer, "refused: {refusal}");
        Outcome::Answer(responses::error(StatusCode::FORBIDDEN))
    })
}

/// IMDS switched off, an over-long path, and the faults that act before any answer.
async fn gate(config: &Config, exchange: &mut Exchange) -> Result<FaultPlan, Outcome> {
    if !config.imds.enabled {
        return Err(match config.imds.disabled_behaviour {
            DisabledBehaviour::NoAnswer => {
                faults::note(&mut exchange.fault, "IMDS disabled: no answer");
                Outcome::NoAnswer
            }
            DisabledBehaviour::Forbidden => {
                Outcome::Answer(responses::error(StatusCode::FORBIDDEN))
            }
        });
    }
    if let Some(response) = limits::refusal(&exchange.path, &exchange.headers) {
        return Err(Outcome::Answer(response));
    }
    let plan = faults::plan(&config.faults, &exchange.path);
    if let Some(ms) = plan.latency_ms {
        faults::note(&mut exchange.fault, &format!("latency {ms} ms"));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    match early_fault(&plan, exchange) {
        Some(outcome) => Err(outcome),
        None => Ok(plan),
    }
}

/// A token request, answered by the token rules alone.
async fn token_step(
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

/// Tokens belong to the instance that asked: a container (its address and name), or
/// this host as a whole for callers that are no container (every local process of
/// `serve` is the same machine).
fn caller_binding(exchange: &Exchange) -> Cow<'static, str> {
    match (&exchange.caller, &exchange.caller_container) {
        (Some(caller), Some(container)) => tokens::binding(caller.ip, Some(container)).into(),
        (Some(caller), None) if exchange.on_network => tokens::binding(caller.ip, None).into(),
        _ => Cow::Borrowed(tokens::HOST_BINDING),
    }
}

/// A read: the method, then the token it carries (IMDSv2) or the lack of one (IMDSv1).
fn check_token(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
) -> Result<(), Outcome> {
    if let Some(response) = token_path::read_method_answer(&exchange.method) {
        return Err(Outcome::Answer(response));
    }
    match exchange.headers.get(TOKEN_HEADER_NAME) {
        Some(token) => {
            exchange.version = ImdsVersion::V2;
            let binding = caller_binding(exchange);
            let valid = token
                .to_str()
                .is_ok_and(|token| state.tokens.check(token, &binding) == TokenCheck::Valid);
            if !valid {
                return Err(Outcome::Answer(responses::error(StatusCode::UNAUTHORIZED)));
            }
        }
        None if config.imds.tokens == TokenMode::Required => {
            return Err(Outcome::Answer(responses::error(StatusCode::UNAUTHORIZED)));
        }
        None => exchange.version = ImdsVersion::V1,
    }
    Ok(())
}

/// The provider's answer, shaped by credential faults; its failure is EC2's 500.
async fn ask_provider(
    state: &BrokerState,
    exchange: &mut Exchange,
    caller: &Caller,
    plan: &FaultPlan,
) -> Outcome {
    // Lent to the provider and taken back after, rather than copied.
    let request = ProviderRequest {
        method: "GET".to_string(),
        path: std::mem::take(&mut exchange.path),
        identity: std::mem::take(&mut exchange.identity),
        caller_ip: Some(caller.ip),
        caller_container: exchange.caller_container.take(),
    };
    // A provider that panics still gets the caller EC2's 500, not a dropped connection.
    let answer = AssertUnwindSafe(state.provider.answer(&request))
        .catch_unwind()
        .await;
    exchange.path = request.path;
    exchange.identity = request.identity;
    exchange.caller_container = request.caller_container;
    let answer = answer
        .map_err(|_| "provider panicked".to_string())
        .and_then(|answer| answer.map_err(|err| err.to_string()))
        .and_then(|answer| {
            let answer =
                faults::shape_credentials(plan, &exchange.path, answer, &mut exchange.fault);
            provider_response(answer)
        });
    match answer {
        Ok(response) => Outcome::Answer(response),
        Err(reason) => {
            tracing::error!(path = %exchange.path, identity = %exchange.identity, "provider failed: {reason}");
            exchange.provider_error = Some(reason);
            Outcome::Answer(responses::error(StatusCode::INTERNAL_SERVER_ERROR))
        }
    }
}

/// Faults that replace the whole answer.
fn early_fault(plan: &FaultPlan, exchange: &mut Exchange) -> Option<Outcome> {
    let (outcome, name) = match plan.replacing.as_ref()? {
        FaultKind::Hang => (Outcome::NoAnswer, "hang".to_string()),
        FaultKind::Drop => (Outcome::Drop, "drop".to_string()),
        FaultKind::Status { status } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (
                Outcome::Answer(responses::error(status)),
                format!("status {}", status.as_u16()),
            )
        }
        _ => return None,
    };
    faults::note(&mut exchange.fault, &name);
    Some(outcome)
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

/// Headers a provider may not set: EC2's Server header, and the ones that frame the
/// response, which hyper derives from the body (a wrong one would corrupt the stream).
const RESERVED_HEADERS: &[&str] = &[
    "server",
    "content-length",
    "transfer-encoding",
    "connection",
];

/// The provider's answer as EC2 would send it; an answer no EC2 could give (a status
/// outside 200–599) is the provider's error, not something to pass on.
fn provider_response(answer: ProviderAnswer) -> Result<Response<Bytes>, String> {
    let status = StatusCode::from_u16(answer.status)
        .ok()
        .filter(|status| (200..=599).contains(&status.as_u16()))
        .ok_or_else(|| format!("provider answered status {}", answer.status))?;
    if !status.is_success() && answer.body.is_empty() {
        return Ok(responses::error(status));
    }
    let content_type = if status.is_success() {
        "text/plain"
    } else {
        "text/html"
    };
    let mut response = responses::with_body(status, content_type, answer.body);
    for (name, value) in &answer.headers {
        if RESERVED_HEADERS
            .iter()
            .any(|reserved| name.eq_ignore_ascii_case(reserved))
        {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name.as_str()),
            axum::http::HeaderValue::try_from(value.as_str()),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}
