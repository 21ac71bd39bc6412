//! The session token path and the methods IMDS answers on it and on reads, as EC2 does
//! (docs/protocol.md §2, §3).

use axum::http::{Method, Response, StatusCode};
use bytes::Bytes;

use crate::broker::responses;

/// The one path that issues tokens.
const TOKEN_PATH: &str = "/latest/api/token";
const TOKEN_PATH_SUFFIX: &str = "/api/token";
/// What the token path accepts, in EC2's words (`Allow: OPTIONS, PUT`).
const TOKEN_ALLOW: &str = "OPTIONS, PUT";
/// What metadata paths accept: a guess (no capture of POST or DELETE on meta-data; kube2iam
/// #283 shows HEAD and OPTIONS served on `/`). Unverified.
const READ_ALLOW: &str = "GET, HEAD, OPTIONS";

/// Is this a token path: `/<version>/api/token`, with or without a trailing slash?
pub fn is_token_path(path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    path.strip_suffix(TOKEN_PATH_SUFFIX)
        .is_some_and(|version| crate::imds::tree::is_version(version.trim_start_matches('/')))
}

/// The answer a request on a token path gets before any token rule, if it gets one:
/// OPTIONS → 200 with Allow; any method but PUT → 405 `Not Allowed` with Allow
/// [capture in google-auth-library-ruby PR #421; other methods than GET unverified];
/// PUT anywhere but `/latest/api/token` (a trailing slash, a dated version) → 403, empty
/// [aws-beam/aws_credentials #47; ec2-user-guide PRs #182/#183].
pub fn token_refusal(method: &Method, path: &str) -> Option<Response<Bytes>> {
    if method == Method::OPTIONS {
        return Some(responses::options(TOKEN_ALLOW));
    }
    if method != Method::PUT {
        return Some(responses::method_not_allowed(TOKEN_ALLOW));
    }
    (path != TOKEN_PATH).then(|| responses::error(StatusCode::FORBIDDEN))
}

/// The answer a read (any path but the token's) gets for its method, if it is not a
/// GET or HEAD: OPTIONS → 200 with Allow, others → 405 with Allow. Both unverified.
pub fn read_method_answer(method: &Method) -> Option<Response<Bytes>> {
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    if method == Method::OPTIONS {
        return Some(responses::options(READ_ALLOW));
    }
    Some(responses::method_not_allowed(READ_ALLOW))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_paths_are_versioned_with_an_optional_trailing_slash() {
        for path in [
            "/latest/api/token",
            "/latest/api/token/",
            "/2021-07-15/api/token",
        ] {
            assert!(is_token_path(path), "{path}");
        }
        for path in [
            "/api/token",
            "/2099-01-01/api/token",
            "/latest/api/token//",
            "/latest/api/tokens",
        ] {
            assert!(!is_token_path(path), "{path}");
        }
    }

    #[test]
    fn only_put_on_the_latest_token_path_passes() {
        assert!(token_refusal(&Method::PUT, TOKEN_PATH).is_none());
        let status = |method: Method, path: &str| {
            token_refusal(&method, path).map(|response| response.status().as_u16())
        };
        assert_eq!(status(Method::PUT, "/latest/api/token/"), Some(403));
        assert_eq!(status(Method::PUT, "/2021-07-15/api/token"), Some(403));
        assert_eq!(status(Method::OPTIONS, TOKEN_PATH), Some(200));
        assert_eq!(status(Method::GET, TOKEN_PATH), Some(405));
        assert_eq!(status(Method::DELETE, "/latest/api/token/"), Some(405));
    }
}
