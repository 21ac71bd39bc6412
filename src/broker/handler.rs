//! One IMDS request from start to answer: admission, tokens, faults, provider, record.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Response, StatusCode};
use bytes::Bytes;
use time::OffsetDateTime;

use crate::config::{Config, DisabledBehaviour, FaultKind, TokenMode};
use crate::provider::{ProviderAnswer, ProviderRequest};

use super::access::{self, Caller, CALLER_HEADER, SECRET_HEADER};
use super::faults::{self, FaultPlan};
use super::record::{ExchangeRecord, ImdsVersion};
use super::responses::{self, TOKEN_HEADER, TOKEN_TTL_HEADER};
use super::server::{ConnectionControl, PeerAddr};
use super::tokens::TokenCheck;
use super::BrokerState;

/// Paths longer than this are refused like EC2 refuses them, before any lookup.
const MAX_PATH_LEN: usize = 2048;
const TOKEN_PATH_SUFFIX: &str = "/api/token";

/// What the handler decided, before it becomes a response.
enum Outcome {
    Answer(Response<Body>),
    /// Send nothing: the connection stays open until the caller gives up.
    NoAnswer,
    /// Close the connection without a byte.
    Drop,
}

/// The facts of one exchange gathered while it is handled.
struct Exchange {
    caller: Option<Caller>,
    caller_container: Option<String>,
    identity: String,
    version: ImdsVersion,
    provider_error: Option<String>,
    fault: Option<String>,
}

pub async fn handle(State(state): State<Arc<BrokerState>>, request: Request) -> Response<Body> {
    let started = Instant::now();
    let peer = request
        .extensions()
        .get::<PeerAddr>()
        .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), |peer| peer.0);
    let control = request.extensions().get::<ConnectionControl>().cloned();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let headers = request.headers().clone();
    drop(request);

    let config = state.store.current();
    let mut exchange = Exchange {
        caller: None,
        caller_container: None,
        identity: config.active_identity.clone(),
        version: ImdsVersion::V1,
        provider_error: None,
        fault: None,
    };
    let outcome = decide(
        &state,
        &config,
        peer,
        &method,
        &path,
        &headers,
        &mut exchange,
    )
    .await;
    let response = match outcome {
        Outcome::Answer(response) => response,
        Outcome::NoAnswer | Outcome::Drop => {
            let dropped = matches!(outcome, Outcome::Drop);
            record(
                &state, &config, &exchange, &method, &path, &headers, None, started,
            );
            if dropped {
                if let Some(control) = &control {
                    control.close_now();
                }
            }
            wait_forever(&state).await;
            return responses::error(StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let response = Response::from_parts(parts, Body::from(body.clone()));
    record(
        &state,
        &config,
        &exchange,
        &method,
        &path,
        &headers,
        Some((&response, &body)),
        started,
    );
    response
}

/// Waits until the server shuts down; the connection's end drops this future first.
async fn wait_forever(state: &BrokerState) {
    state.shutdown.cancelled().await;
}

async fn decide(
    state: &BrokerState,
    config: &Config,
    peer: SocketAddr,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    exchange: &mut Exchange,
) -> Outcome {
    let caller = match access::admit(&state.access, peer, headers) {
        Ok(caller) => caller,
        Err(refusal) => {
            tracing::warn!(peer = %peer, "refused: {refusal}");
            return Outcome::Answer(responses::error(StatusCode::FORBIDDEN));
        }
    };
    let info = state
        .callers
        .as_ref()
        .map(|directory| directory.lookup(caller.ip))
        .unwrap_or_default();
    if let Some(label) = info.identity.filter(|name| config.identity(name).is_some()) {
        exchange.identity = label;
    }
    exchange.caller_container = info.container;
    exchange.caller = Some(caller.clone());

    if !config.imds.enabled {
        return match config.imds.disabled_behaviour {
            DisabledBehaviour::NoAnswer => Outcome::NoAnswer,
            DisabledBehaviour::Forbidden => {
                Outcome::Answer(responses::error(StatusCode::FORBIDDEN))
            }
        };
    }
    if path.len() > MAX_PATH_LEN {
        return Outcome::Answer(responses::error(StatusCode::URI_TOO_LONG));
    }

    let plan = faults::plan(&config.faults, path);
    if let Some(ms) = plan.latency_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(outcome) = early_fault(&plan, exchange) {
        return outcome;
    }

    if is_token_path(path) {
        exchange.version = ImdsVersion::TokenRequest;
        return token_request(state, config, method, headers, &caller);
    }
    if method != Method::GET && method != Method::HEAD {
        return Outcome::Answer(responses::method_not_allowed("GET, HEAD"));
    }
    match headers.get(TOKEN_HEADER) {
        Some(token) => {
            exchange.version = ImdsVersion::V2;
            let valid = token
                .to_str()
                .is_ok_and(|token| state.tokens.check(token) == TokenCheck::Valid);
            if !valid {
                return Outcome::Answer(responses::error(StatusCode::UNAUTHORIZED));
            }
        }
        None if config.imds.tokens == TokenMode::Required => {
            return Outcome::Answer(responses::error(StatusCode::UNAUTHORIZED));
        }
        None => exchange.version = ImdsVersion::V1,
    }

    let request = ProviderRequest {
        method: "GET".to_string(),
        path: path.to_string(),
        identity: exchange.identity.clone(),
        caller_ip: Some(caller.ip),
        caller_container: exchange.caller_container.clone(),
    };
    match state.provider.answer(&request).await {
        Ok(answer) => {
            let answer = faults::shape_credentials(&plan, path, answer, &mut exchange.fault);
            Outcome::Answer(provider_response(answer))
        }
        Err(err) => {
            tracing::error!(path, identity = %exchange.identity, "provider failed: {err}");
            exchange.provider_error = Some(err.to_string());
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
    exchange.fault = Some(name);
    Some(outcome)
}

fn is_token_path(path: &str) -> bool {
    path.strip_suffix(TOKEN_PATH_SUFFIX)
        .is_some_and(|version| crate::imds::tree::is_version(version.trim_start_matches('/')))
}

/// `PUT /latest/api/token`, with EC2's rules.
fn token_request(
    state: &BrokerState,
    config: &Config,
    method: &Method,
    headers: &HeaderMap,
    caller: &Caller,
) -> Outcome {
    if method != Method::PUT {
        return Outcome::Answer(responses::method_not_allowed("PUT"));
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
    let token = state.tokens.issue(Duration::from_secs(u64::from(ttl)));
    Outcome::Answer(responses::token(token, ttl))
}

fn provider_response(answer: ProviderAnswer) -> Response<Body> {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_success() || !answer.body.is_empty() {
        let content_type = if status.is_success() {
            "text/plain"
        } else {
            "text/html"
        };
        let mut response = responses::with_body(status, content_type, answer.body);
        for (name, value) in &answer.headers {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::try_from(name.as_str()),
                axum::http::HeaderValue::try_from(value.as_str()),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
        response
    } else {
        responses::error(status)
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    state: &BrokerState,
    config: &Config,
    exchange: &Exchange,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    response: Option<(&Response<Body>, &Bytes)>,
    started: Instant,
) {
    let limit = config.broker.record_body_limit;
    let (status, response_headers, body) = match response {
        Some((response, body)) => (
            response.status().as_u16(),
            header_pairs(response.headers()),
            body.clone(),
        ),
        None => (0, Vec::new(), Bytes::new()),
    };
    let truncated = body.len() > limit;
    let shown = &body[..body.len().min(limit)];
    let record = ExchangeRecord {
        id: state.recorder.next_id(),
        time: crate::imds::time::format_timestamp_millis(OffsetDateTime::now_utc()),
        caller_ip: exchange.caller.as_ref().map(|caller| caller.ip),
        caller_container: exchange.caller_container.clone(),
        identity: exchange.identity.clone(),
        method: method.to_string(),
        path: path.chars().take(512).collect(),
        version: exchange.version,
        status,
        latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        request_headers: header_pairs(headers)
            .into_iter()
            .filter(|(name, _)| name != CALLER_HEADER && name != SECRET_HEADER)
            .collect(),
        response_headers,
        response_body: String::from_utf8_lossy(shown).into_owned(),
        body_truncated: truncated,
        provider_error: exchange.provider_error.clone(),
        fault: exchange.fault.clone(),
    };
    if state.log_each_request {
        let masked = record.masked();
        tracing::info!(
            target: "imds_spoof::requests",
            caller = %masked.caller_ip.map(|ip| ip.to_string()).unwrap_or_default(),
            container = masked.caller_container.as_deref().unwrap_or("-"),
            identity = %masked.identity,
            "{} {} {} {} {}us",
            masked.method,
            masked.path,
            masked.version.as_str(),
            masked.status,
            masked.latency_us
        );
    }
    state.recorder.record(record);
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes())
                    .chars()
                    .take(256)
                    .collect(),
            )
        })
        .collect()
}
