//! One IMDS request from start to answer: admission, tokens, faults, provider, record.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use bytes::Bytes;
use futures_util::FutureExt;
use time::OffsetDateTime;

use crate::config::{Config, DisabledBehaviour, FaultKind, TokenMode};
use crate::provider::{ProviderAnswer, ProviderRequest};

use super::access::{self, Caller, CALLER_HEADER, SECRET_HEADER};
use super::faults::{self, FaultPlan};
use super::record::{ExchangeRecord, ImdsVersion};
use super::responses::{self, TOKEN_HEADER, TOKEN_TTL_HEADER};
use super::server::{ConnectionControl, LocalAddr, PeerAddr};
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

pub async fn handle(State(state): State<Arc<BrokerState>>, mut request: Request) -> Response<Body> {
    let started = Instant::now();
    let peer = request
        .extensions()
        .get::<PeerAddr>()
        .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), |peer| peer.0);
    let local = request.extensions().get::<LocalAddr>().map(|local| local.0);
    let control = request.extensions().get::<ConnectionControl>().cloned();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    // Taken, not cloned: the request is dropped right after.
    let headers = std::mem::take(request.headers_mut());
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
        (peer, local),
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
    (peer, local): (SocketAddr, Option<SocketAddr>),
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    exchange: &mut Exchange,
) -> Outcome {
    let caller = match access::admit(&state.access, peer, local, headers) {
        Ok(caller) => caller,
        Err(refusal) => {
            tracing::warn!(peer = %peer, "refused: {refusal}");
            return Outcome::Answer(responses::error(StatusCode::FORBIDDEN));
        }
    };
    let info = match &state.callers {
        Some(directory) => directory.resolve(caller.ip).await,
        None => Default::default(),
    };
    if let Some(label) = info.identity.filter(|name| config.identity(name).is_some()) {
        exchange.identity = label;
    }
    exchange.caller_container = info.container;
    exchange.caller = Some(caller.clone());

    if !config.imds.enabled {
        return match config.imds.disabled_behaviour {
            DisabledBehaviour::NoAnswer => {
                faults::note(&mut exchange.fault, "IMDS disabled: no answer");
                Outcome::NoAnswer
            }
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
        faults::note(&mut exchange.fault, &format!("latency {ms} ms"));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(outcome) = early_fault(&plan, exchange) {
        return outcome;
    }

    if is_token_path(path) {
        exchange.version = ImdsVersion::TokenRequest;
        let outcome = token_request(state, config, method, headers, &caller);
        if matches!(outcome, Outcome::NoAnswer) {
            // Recorded so the dashboard can say why the caller got nothing.
            faults::note(
                &mut exchange.fault,
                "hop limit 1: answer dropped before the container",
            );
        }
        return outcome;
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
    // A provider that panics still gets the caller EC2's 500, not a dropped connection.
    let answer = AssertUnwindSafe(state.provider.answer(&request))
        .catch_unwind()
        .await
        .map_err(|_| "provider panicked".to_string())
        .and_then(|answer| answer.map_err(|err| err.to_string()))
        .and_then(|answer| {
            let answer = faults::shape_credentials(&plan, path, answer, &mut exchange.fault);
            provider_response(answer)
        });
    match answer {
        Ok(response) => Outcome::Answer(response),
        Err(reason) => {
            tracing::error!(path, identity = %exchange.identity, "provider failed: {reason}");
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
fn provider_response(answer: ProviderAnswer) -> Result<Response<Body>, String> {
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
        time: record_time(),
        caller_ip: exchange.caller.as_ref().map(|caller| caller.ip),
        caller_container: exchange.caller_container.clone(),
        identity: exchange.identity.clone(),
        method: method.as_str().to_owned(),
        path: truncate_chars(path, 512),
        version: exchange.version,
        status,
        latency_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        request_headers: headers
            .iter()
            .filter(|(name, _)| name.as_str() != CALLER_HEADER && name.as_str() != SECRET_HEADER)
            .map(header_pair)
            .collect(),
        response_headers,
        response_body: utf8_lossy(shown),
        body_truncated: truncated,
        provider_error: exchange.provider_error.clone(),
        fault: exchange.fault.clone(),
    };
    // None of the logged fields is secret (masking only rewrites headers and bodies), so
    // the line is built from the record itself: a masked copy per request was a sixth of
    // the request's instructions (docs/benchmarks.md).
    if state.log_each_request {
        tracing::info!(
            target: "imds_spoof::requests",
            caller = %OptionalIp(record.caller_ip),
            container = record.caller_container.as_deref().unwrap_or("-"),
            identity = %record.identity,
            "{} {} {} {} {}us",
            record.method,
            record.path,
            record.version.as_str(),
            record.status,
            record.latency_us
        );
    }
    state.recorder.record(record);
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers.iter().map(header_pair).collect()
}

/// A header as recorded: its value as text, cut to 256 characters.
fn header_pair((name, value): (&HeaderName, &HeaderValue)) -> (String, String) {
    let value = match std::str::from_utf8(value.as_bytes()) {
        Ok(text) => truncate_chars(text, 256),
        Err(_) => String::from_utf8_lossy(value.as_bytes())
            .chars()
            .take(256)
            .collect(),
    };
    (name.as_str().to_owned(), value)
}

/// `String::from_utf8_lossy`, with the quick check first: bodies are nearly always
/// valid UTF-8, and the lossy decoder is several times slower on them.
fn utf8_lossy(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The first `max` characters of `text`; a plain copy when it is that short already
/// (a string never has more characters than bytes), which is nearly always.
fn truncate_chars(text: &str, max: usize) -> String {
    if text.len() <= max {
        text.to_owned()
    } else {
        text.chars().take(max).collect()
    }
}

/// The record's timestamp for now. Under load many exchanges share a millisecond, so
/// each thread formats a millisecond once and copies it after: the formatting was a
/// tenth of the request path.
fn record_time() -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(i128, String)> =
            const { std::cell::RefCell::new((i128::MIN, String::new())) };
    }
    let now = OffsetDateTime::now_utc();
    let millis = now.unix_timestamp_nanos().div_euclid(1_000_000);
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != millis {
            *last = (millis, crate::imds::time::format_timestamp_millis(now));
        }
        last.1.clone()
    })
}

/// An optional address shown as itself or as nothing, without a String per request.
struct OptionalIp(Option<std::net::IpAddr>);

impl std::fmt::Display for OptionalIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_text_is_cut_by_characters() {
        assert_eq!(truncate_chars("short", 256), "short");
        // 300 two-byte characters: 600 bytes, cut to 256 characters, not bytes.
        let long = "é".repeat(300);
        assert_eq!(truncate_chars(&long, 256), "é".repeat(256));
        let name = HeaderName::from_static("x-test");
        let bytes = HeaderValue::from_bytes(b"ok\xffok").unwrap();
        assert_eq!(header_pair((&name, &bytes)).1, "ok\u{fffd}ok");
        assert_eq!(utf8_lossy(b"ok\xffok"), "ok\u{fffd}ok");
        assert_eq!(utf8_lossy("é".as_bytes()), "é");
        let plain = HeaderValue::from_static("value");
        assert_eq!(
            header_pair((&name, &plain)),
            ("x-test".to_string(), "value".to_string())
        );
    }

    #[test]
    fn record_time_is_now_in_milliseconds() {
        let before = OffsetDateTime::now_utc();
        let text = record_time();
        let after = OffsetDateTime::now_utc();
        assert_eq!(text.len(), "2026-01-01T00:00:00.000Z".len(), "{text}");
        let at = crate::imds::time::parse_timestamp(&text).unwrap();
        let floor = |t: OffsetDateTime| t.replace_millisecond(t.millisecond()).unwrap();
        assert!(floor(before) <= at && at <= after, "{text}");
    }
}
