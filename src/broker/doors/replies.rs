//! Answers in the shapes the ECS and EKS agents give them: both are Go servers, so no
//! `Server` header; ECS errors are JSON `{"code","message"}`, EKS errors are Go's
//! `http.Error` text.

use axum::http::{header, HeaderValue, Response, StatusCode};
use bytes::Bytes;

/// A 200 JSON document.
pub fn json(body: impl Into<Bytes>) -> Response<Bytes> {
    with_type(StatusCode::OK, "application/json", body.into())
}

/// The ECS agent's error: `{"code":…,"message":…}` as JSON.
pub fn ecs_error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    with_type(status, "application/json", Bytes::from(body))
}

/// The task metadata server's error: the message as a JSON string (`"…"`), as the agent's
/// `WriteJSONResponse` writes a Go string.
pub fn json_string(status: StatusCode, message: &str) -> Response<Bytes> {
    let body = serde_json::Value::String(message.to_string()).to_string();
    with_type(status, "application/json", Bytes::from(body))
}

/// Go's `http.Error`: the message and a newline, as UTF-8 text, not to be sniffed.
pub fn go_text_error(status: StatusCode, message: &str) -> Response<Bytes> {
    let mut response = with_type(
        status,
        "text/plain; charset=utf-8",
        Bytes::from(format!("{message}\n")),
    );
    response.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The agent's rate limiter over its limit: 429 with the limiter's text.
pub fn too_many_requests() -> Response<Bytes> {
    go_text_error(
        StatusCode::TOO_MANY_REQUESTS,
        "You have reached maximum request limit.",
    )
}

/// Go's `http.NotFound`.
pub fn go_not_found() -> Response<Bytes> {
    go_text_error(StatusCode::NOT_FOUND, "404 page not found")
}

fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
