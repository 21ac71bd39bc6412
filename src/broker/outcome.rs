//! How one exchange ends, as every step of every door says it: an answer, none, or a
//! dropped connection.

use axum::http::Response;
use bytes::Bytes;

/// What the handler decided, before it becomes a response.
pub(crate) enum Outcome {
    /// The answer with its whole body, recorded before it becomes the response.
    Answer(Response<Bytes>),
    /// Send nothing: the connection stays open until the caller gives up.
    NoAnswer,
    /// Close the connection without a byte.
    Drop,
}
