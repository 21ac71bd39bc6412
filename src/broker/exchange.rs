//! One exchange as it passes through the broker, and how it is recorded: the record for
//! the dashboard and the request log, and the log line `up` and `serve` print.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Instant;

use axum::http::{HeaderMap, HeaderName, Method, Response};
use bytes::Bytes;
use time::OffsetDateTime;

use crate::config::{Config, Door, IdentityOrigin};
use crate::memo::Memo;
use crate::provider::{Clock, SystemClock};

use super::access::{Caller, CALLER_HEADER, DOOR_HEADER, SECRET_HEADER};
use super::record::{ExchangeRecord, ImdsVersion};
use super::record::{HeaderList, SharedText, HEADER_VALUE_LIMIT};
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

/// Records the exchange: `response` is None when the caller got no answer. The exchange's
/// own strings move into the record; headers are copied into one string each, and the
/// body is shared with the answer.
pub(super) fn record(
    state: &BrokerState,
    config: &Config,
    exchange: Exchange,
    response: Option<&Response<Bytes>>,
) {
    let limit = config.broker.record_body_limit;
    let (status, response_headers, body) = match response {
        Some(response) => (
            response.status().as_u16(),
            header_list(response.headers(), |_| true),
            response.body().clone(),
        ),
        None => (0, HeaderList::default(), Bytes::new()),
    };
    let truncated = body.len() > limit;
    // A cut body is copied: a slice would keep the whole answer alive in the ring.
    let shown = if truncated {
        Bytes::copy_from_slice(&body[..limit])
    } else {
        body
    };
    let record = ExchangeRecord {
        id: state.recorder.next_id(),
        time: record_time(),
        caller_ip: exchange.caller.as_ref().map(|caller| caller.ip),
        caller_container: exchange.caller_container,
        identity: exchange.identity,
        identity_origin: exchange.identity_origin,
        door: exchange.door,
        method: method_name(&exchange.method),
        path: truncate_chars(exchange.path, 512),
        version: exchange.version,
        status,
        latency_us: u64::try_from(exchange.started.elapsed().as_micros()).unwrap_or(u64::MAX),
        request_headers: header_list(&exchange.headers, not_ours),
        response_headers,
        response_body: SharedText::from_bytes(shown),
        body_truncated: truncated,
        provider_error: exchange.provider_error,
        fault: exchange.fault,
    };
    // The request line of `up` and `serve` is printed from the recorder's stream by
    // `lines.rs`, off this path.
    state.recorder.record(record);
}

/// Headers as recorded (those `keep` takes): values as text, cut to 256 characters.
/// The string is sized for what is kept, not for what was sent: a 15 KB header must not
/// leave 15 KB of spare capacity in each of the ring's records.
fn header_list(headers: &HeaderMap, keep: fn(&HeaderName) -> bool) -> HeaderList {
    let bytes = headers
        .iter()
        .filter(|(name, _)| keep(name))
        .map(|(name, value)| name.as_str().len() + value.len().min(HEADER_VALUE_LIMIT) + 2)
        .sum();
    let mut list = HeaderList::with_capacity(bytes);
    for (name, value) in headers.iter().filter(|(name, _)| keep(name)) {
        list.push_raw(name.as_str(), value.as_bytes());
    }
    list
}

/// The proxy's own headers are no part of the caller's request.
fn not_ours(name: &HeaderName) -> bool {
    ![CALLER_HEADER, SECRET_HEADER, DOOR_HEADER].contains(&name.as_str())
}

/// The first `max` characters of `text`; `text` itself when it is that short already
/// (a string never has more characters than bytes), which is nearly always.
fn truncate_chars(text: String, max: usize) -> String {
    if text.len() <= max {
        text
    } else {
        text.chars().take(max).collect()
    }
}

/// The method's name, without an allocation for the methods IMDS knows.
fn method_name(method: &Method) -> Cow<'static, str> {
    match *method {
        Method::GET => Cow::Borrowed("GET"),
        Method::PUT => Cow::Borrowed("PUT"),
        Method::HEAD => Cow::Borrowed("HEAD"),
        Method::POST => Cow::Borrowed("POST"),
        _ => Cow::Owned(method.as_str().to_owned()),
    }
}

/// The record's timestamp for now. Under load many exchanges share a millisecond, so
/// each thread formats a millisecond once and copies it after.
fn record_time() -> String {
    thread_local! {
        static LAST: std::cell::RefCell<Memo<(i128, String), 1>> =
            const { std::cell::RefCell::new(Memo::new()) };
    }
    // The millisecond as a number: an `OffsetDateTime` (its calendar fields) is built
    // only when the millisecond changes.
    let millis = SystemClock.unix_nanos().div_euclid(1_000_000);
    LAST.with_borrow_mut(|last| {
        if let Some((_, text)) = last.find(|(at, _)| *at == millis) {
            return text.clone();
        }
        let now = millis
            .checked_mul(1_000_000)
            .and_then(|nanos| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok())
            .unwrap_or_else(OffsetDateTime::now_utc);
        let text = crate::imds::time::format_timestamp_millis(now);
        last.remember((millis, text.clone()), |_| true);
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_large_header_leaves_no_spare_capacity_in_the_record() {
        let mut headers = HeaderMap::new();
        let big = axum::http::HeaderValue::try_from("x".repeat(15_000)).unwrap();
        headers.insert("x-pad", big);
        let list = header_list(&headers, |_| true);
        assert!(list.allocated() < 1024, "{} bytes kept", list.allocated());
    }

    #[test]
    fn recorded_text_is_cut_by_characters() {
        assert_eq!(truncate_chars("short".into(), 256), "short");
        // 300 two-byte characters: 600 bytes, cut to 256 characters, not bytes.
        let long = "é".repeat(300);
        assert_eq!(truncate_chars(long, 256), "é".repeat(256));
        assert_eq!(method_name(&Method::PUT), "PUT");
        assert_eq!(method_name(&Method::PATCH), "PATCH");
        let name = HeaderName::from_static("x-test");
        let odd = HeaderValue::from_bytes(b"ok\xffok").unwrap();
        let plain = HeaderValue::from_static("value");
        let mut headers = HeaderMap::new();
        headers.append(name.clone(), odd);
        headers.append(name, plain);
        let list = header_list(&headers, |_| true);
        assert_eq!(
            list.iter().collect::<Vec<_>>(),
            vec![("x-test", "ok\u{fffd}ok"), ("x-test", "value")]
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
