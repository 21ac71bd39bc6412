//! How one exchange ends, as every step of every door says it: an answer, none, or a
//! dropped connection. A step either passes the exchange on (with what it found) or ends it
//! with its outcome: [`Step`], so the pipelines read as `step()?` in order.

use std::ops::ControlFlow;

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

/// One step of a door's pipeline: go on with `T`, or stop with the exchange's outcome.
pub(crate) type Step<T = ()> = ControlFlow<Outcome, T>;

impl Outcome {
    /// The outcome of a pipeline whose last step answers: stopped early or ran through.
    pub(crate) fn of(steps: Step<Outcome>) -> Outcome {
        match steps {
            ControlFlow::Break(outcome) | ControlFlow::Continue(outcome) => outcome,
        }
    }
}
