//! How large a request may be, and EC2's answer to one that is larger.

use axum::http::{HeaderMap, Response, StatusCode};
use bytes::Bytes;

use super::responses;

/// Paths longer than this are refused like EC2 refuses them, before any lookup.
const MAX_PATH_LEN: usize = 2048;
/// Largest request head (request line + headers) answered; larger ones get EC2's 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// What hyper reads of a head before it gives up with its own bare 431 (no Server header,
/// no body): well above [`MAX_HEAD_BYTES`], so that heads up to it reach the handler and
/// get an answer in EC2's shape, and above what the proxy lets through (nginx refuses
/// heads over 4 x 8 KiB itself). Only a direct caller sending more sees hyper's answer.
pub const HYPER_HEAD_CAP: usize = 64 * 1024;

/// The answer to a request too large to serve, if it is one: 414 for the path, 431 for
/// the head.
pub fn refusal(path: &str, headers: &HeaderMap) -> Option<Response<Bytes>> {
    if path.len() > MAX_PATH_LEN {
        return Some(responses::error(StatusCode::URI_TOO_LONG));
    }
    // Each header line adds ": " and CRLF to its name and value.
    let head: usize = path.len()
        + headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    (head > MAX_HEAD_BYTES).then(|| responses::error(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn long_paths_and_heads_are_refused() {
        let mut headers = HeaderMap::new();
        assert!(refusal("/latest/meta-data/", &headers).is_none());
        let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
        assert_eq!(
            refusal(&long, &headers).map(|r| r.status().as_u16()),
            Some(414)
        );
        let big = HeaderValue::try_from("b".repeat(MAX_HEAD_BYTES)).unwrap();
        headers.insert("x-padding", big);
        assert_eq!(
            refusal("/", &headers).map(|r| r.status().as_u16()),
            Some(431)
        );
    }
}
