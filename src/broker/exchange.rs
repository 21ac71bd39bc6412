//! One exchange as it passes through the broker, and how it is recorded: the record for
//! the dashboard and the request log, and the log line `up` and `serve` print.

use std::net::SocketAddr;
use std::time::Instant;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Response};
use bytes::Bytes;
use time::OffsetDateTime;

use crate::config::{Config, IdentityOrigin};

use super::access::{Caller, CALLER_HEADER, SECRET_HEADER};
use super::doors::{Door, DOOR_HEADER};
use super::record::{ExchangeRecord, ImdsVersion};
use super::BrokerState;

/// One exchange: the request as it came, and the facts gathered while it is handled.
pub(super) struct Exchange {
    pub started: Instant,
    pub peer: SocketAddr,
    pub local: Option<SocketAddr>,
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    /// The endpoint the request came through.
    pub door: Door,
    pub caller: Option<Caller>,
    pub caller_container: Option<String>,
    pub identity: String,
    pub identity_origin: IdentityOrigin,
    /// A caller on our network that no container could be named for (its tokens are
    /// bound to its address).
    pub on_network: bool,
    pub version: ImdsVersion,
    pub provider_error: Option<String>,
    pub fault: Option<String>,
}

/// Records the exchange (and logs its line when asked): `response` is None when the
/// caller got no answer.
pub(super) fn record(
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
        identity_origin: exchange.identity_origin,
        door: exchange.door,
        method: exchange.method.as_str().to_owned(),
        path: truncate_chars(&exchange.path, 512),
        version: exchange.version,
        status,
        latency_us: u64::try_from(exchange.started.elapsed().as_micros()).unwrap_or(u64::MAX),
        request_headers: exchange
            .headers
            .iter()
            .filter(|(name, _)| {
                ![CALLER_HEADER, SECRET_HEADER, DOOR_HEADER].contains(&name.as_str())
            })
            .map(header_pair)
            .collect(),
        response_headers,
        response_body: utf8_lossy(shown),
        body_truncated: truncated,
        provider_error: exchange.provider_error.clone(),
        fault: exchange.fault.clone(),
    };
    // The request line of `up` and `serve` is printed from the recorder's stream by
    // `lines.rs`, off this path.
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
