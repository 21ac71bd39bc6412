//! Answers in the exact shape EC2's metadata service gives them.

use std::sync::LazyLock;

use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use bytes::Bytes;

/// Every IMDS answer carries this Server header.
pub const SERVER: &str = "EC2ws";
pub const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// The token header as a name, for look-ups that need not parse the name each time.
pub const TOKEN_HEADER_NAME: HeaderName = HeaderName::from_static(TOKEN_HEADER);

/// A 200 answer with a text body (JSON documents too: EC2 serves them as text/plain).
pub fn text(body: impl Into<Bytes>) -> Response<Bytes> {
    with_body(StatusCode::OK, "text/plain", body.into())
}

/// The token answer: the token as the body and the TTL echoed back.
pub fn token(token: String, ttl: u32) -> Response<Bytes> {
    let mut response = text(token);
    response
        .headers_mut()
        .insert(TOKEN_TTL_HEADER, HeaderValue::from(ttl));
    response
}

/// EC2's answer for an error status: its HTML page (`<title>404 - Not Found</title>` ...),
/// except 403, which EC2 sends with an empty body (docs/protocol.md §2: proxied token
/// requests, the token path under a dated version or with a trailing slash, IMDS disabled).
pub fn error(status: StatusCode) -> Response<Bytes> {
    if status == StatusCode::FORBIDDEN {
        return with_body(status, "text/plain", Bytes::new());
    }
    let mut response = with_body(status, "text/html", Bytes::from(error_page(status)));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        // EC2 says `405 Not Allowed` on its status line (capture in google-auth-library-ruby
        // PR #421); hyper writes this phrase instead of the canonical one.
        response
            .extensions_mut()
            .insert(hyper::ext::ReasonPhrase::from_static(
                NOT_ALLOWED.as_bytes(),
            ));
    }
    response
}

/// The reason phrase of EC2's 405.
const NOT_ALLOWED: &str = "Not Allowed";

/// 405 with the methods the path accepts.
pub fn method_not_allowed(allow: &'static str) -> Response<Bytes> {
    let mut response = error(StatusCode::METHOD_NOT_ALLOWED);
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The empty 200 EC2 gives to OPTIONS, with the methods the path accepts (capture in
/// cluster-api-provider-aws #1609, token path).
pub fn options(allow: &'static str) -> Response<Bytes> {
    let mut response = with_body(StatusCode::OK, "text/plain", Bytes::new());
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The XHTML error page; a 401 is 343 bytes, as in a capture of EC2's (guardicore/monkey
/// #4275). The 405 page is titled with EC2's reason phrase `Not Allowed` (the body of EC2's
/// 405 is unverified).
pub fn error_page(status: StatusCode) -> String {
    let reason = if status == StatusCode::METHOD_NOT_ALLOWED {
        NOT_ALLOWED
    } else {
        status.canonical_reason().unwrap_or("Error")
    };
    let title = format!("{} - {reason}", status.as_u16());
    format!(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n\
<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\
\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n \
<head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n </body>\n</html>\n"
    )
}

pub fn with_body(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = match content_type {
        // Copies of ready maps for the usual two: no hashing of names per answer.
        "text/plain" => TEXT_HEADERS.clone(),
        "text/html" => HTML_HEADERS.clone(),
        other => headers_for(other),
    };
    response
}

static TEXT_HEADERS: LazyLock<HeaderMap> = LazyLock::new(|| headers_for("text/plain"));
static HTML_HEADERS: LazyLock<HeaderMap> = LazyLock::new(|| headers_for("text/html"));

fn headers_for(content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(4);
    headers.insert(header::SERVER, HeaderValue::from_static(SERVER));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_name_the_status() {
        let page = error_page(StatusCode::NOT_FOUND);
        assert!(page.starts_with("<?xml version=\"1.0\""));
        assert!(page.contains("<title>404 - Not Found</title>"));
        assert!(page.contains("<h1>404 - Not Found</h1>"));
        // The length of a captured EC2 401.
        assert_eq!(error_page(StatusCode::UNAUTHORIZED).len(), 343);
    }

    #[test]
    fn forbidden_is_empty_and_405_says_not_allowed() {
        let forbidden = error(StatusCode::FORBIDDEN);
        assert_eq!(
            forbidden.headers().get(header::CONTENT_TYPE).unwrap(),
            "text/plain"
        );
        let reason = error(StatusCode::METHOD_NOT_ALLOWED);
        let phrase = reason.extensions().get::<hyper::ext::ReasonPhrase>();
        assert_eq!(phrase.map(|p| p.as_bytes()), Some(&b"Not Allowed"[..]));
    }
}
