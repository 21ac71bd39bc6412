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

/// One exchange: the request as it came, and the facts gathered while it is handled.
pub(super) struct Exchange {
    pub started: Instant,
    pub peer: SocketAddr,
    pub local: Option<SocketAddr>,
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub caller: Option<Caller>,
    pub caller_container: Option<String>,
    pub identity: String,
    pub version: ImdsVersion,
    pub provider_error: Option<String>,
    pub fault: Option<String>,
}

pub async fn handle(State(state): State<Arc<BrokerState>>, mut request: Request) -> Response<Body> {
    let started = Instant::now();
    let peer = request
        .extensions()
        .get::<PeerAddr>()
        .map_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)), |peer| peer.0);
    let local = request.extensions().get::<LocalAddr>().map(|local| local.0);
    let control = request.extensions().get::<ConnectionControl>().cloned();
    let config = state.store.current();
    let mut exchange = Exchange {
        started,
        peer,
        local,
        method: request.method().clone(),
        path: request.uri().path().to_string(),
        // Taken, not cloned: the request is dropped right after.
        headers: std::mem::take(request.headers_mut()),
        caller: None,
        caller_container: None,
        identity: config.active_identity.clone(),
        version: ImdsVersion::V1,
        provider_error: None,
        fault: None,
    };
    drop(request);

    let response = match decide(&state, &config, &mut exchange).await {
        Outcome::Answer(response) => response,
        outcome @ (Outcome::NoAnswer | Outcome::Drop) => {
            record(&state, &config, &exchange, None);
            if matches!(outcome, Outcome::Drop) {
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
    record(&state, &config, &exchange, Some((&response, &body)));
    response
}

/// Waits until the server shuts down; the connection's end drops this future first.
async fn wait_forever(state: &BrokerState) {
    state.shutdown.cancelled().await;
}

/// admit -> identify -> gate -> token -> provider: each step answers or passes on.
async fn decide(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Outcome {
    let caller = match admit(state, exchange) {
        Ok(caller) => caller,
        Err(outcome) => return outcome,
    };
    identify(state, config, exchange, &caller).await;
    let plan = match gate(config, exchange).await {
        Ok(plan) => plan,
        Err(outcome) => return outcome,
    };
    if is_token_path(&exchange.path) {
        return token_step(state, config, exchange, &caller);
    }
    if let Err(outcome) = check_token(state, config, exchange) {
        return outcome;
    }
    ask_provider(state, exchange, &caller, &plan).await
}

/// Who may ask at all (the access policy: loopback Host check, proxy secret).
fn admit(state: &BrokerState, exchange: &Exchange) -> Result<Caller, Outcome> {
    access::admit(
        &state.access,
        exchange.peer,
        exchange.local,
        &exchange.headers,
    )
    .map_err(|refusal| {
        tracing::warn!(peer = %exchange.peer, "refused: {refusal}");
        Outcome::Answer(responses::error(StatusCode::FORBIDDEN))
    })
}

/// Which container is calling, and so which identity answers.
async fn identify(state: &BrokerState, config: &Config, exchange: &mut Exchange, caller: &Caller) {
    let info = match &state.callers {
        Some(directory) => directory.resolve(caller.ip).await,
        None => Default::default(),
    };
    if let Some(label) = info.identity.filter(|name| config.identity(name).is_some()) {
        exchange.identity = label;
    }
    exchange.caller_container = info.container;
    exchange.caller = Some(caller.clone());
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
    if exchange.path.len() > MAX_PATH_LEN {
        return Err(Outcome::Answer(responses::error(StatusCode::URI_TOO_LONG)));
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
fn token_step(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
    caller: &Caller,
) -> Outcome {
    exchange.version = ImdsVersion::TokenRequest;
    let outcome = token_request(state, config, &exchange.method, &exchange.headers, caller);
    if matches!(outcome, Outcome::NoAnswer) {
        // Recorded so the dashboard can say why the caller got nothing.
        faults::note(
            &mut exchange.fault,
            "hop limit 1: answer dropped before the container",
        );
    }
    outcome
}

/// A read: the method, then the token it carries (IMDSv2) or the lack of one (IMDSv1).
fn check_token(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
) -> Result<(), Outcome> {
    if exchange.method != Method::GET && exchange.method != Method::HEAD {
        return Err(Outcome::Answer(responses::method_not_allowed("GET, HEAD")));
    }
    match exchange.headers.get(TOKEN_HEADER) {
        Some(token) => {
            exchange.version = ImdsVersion::V2;
            let valid = token
                .to_str()
                .is_ok_and(|token| state.tokens.check(token) == TokenCheck::Valid);
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
    let request = ProviderRequest {
        method: "GET".to_string(),
        path: exchange.path.clone(),
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

/// Records the exchange (and logs its line when asked): `response` is None when the
/// caller got no answer.
fn record(
    state: &BrokerState,
    config: &Config,
    exchange: &Exchange,
    response: Option<(&Response<Body>, &Bytes)>,
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
        method: exchange.method.as_str().to_owned(),
        path: truncate_chars(&exchange.path, 512),
        version: exchange.version,
        status,
        latency_us: u64::try_from(exchange.started.elapsed().as_micros()).unwrap_or(u64::MAX),
        request_headers: exchange
            .headers
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
