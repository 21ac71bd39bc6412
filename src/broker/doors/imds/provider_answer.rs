//! A read answered by the provider: the request lent to it, its answer shaped by the
//! credentials faults and turned into what EC2 would send; its failure (or panic) is EC2's 500.

use std::panic::AssertUnwindSafe;

use axum::http::{Response, StatusCode};
use bytes::Bytes;
use futures_util::FutureExt;

use crate::broker::access::Caller;
use crate::broker::exchange::Exchange;
use crate::broker::faults::FaultPlan;
use crate::broker::outcome::Outcome;
use crate::broker::responses;
use crate::broker::BrokerState;
use crate::provider::{ProviderAnswer, ProviderRequest};

use super::faults as imds_faults;

/// The provider's answer, shaped by credential faults; its failure is EC2's 500.
pub(super) async fn ask_provider(
    state: &BrokerState,
    exchange: &mut Exchange,
    caller: &Caller,
    plan: &FaultPlan,
) -> Outcome {
    // Lent to the provider and taken back after, rather than copied.
    let request = ProviderRequest {
        method: "GET".to_string(),
        path: std::mem::take(&mut exchange.path),
        identity: std::mem::take(&mut exchange.identity),
        caller_ip: Some(caller.ip),
        caller_container: exchange.caller_container.take(),
    };
    // A provider that panics still gets the caller EC2's 500, not a dropped connection.
    let answer = AssertUnwindSafe(state.provider.answer(&request))
        .catch_unwind()
        .await;
    exchange.path = request.path;
    exchange.identity = request.identity;
    exchange.caller_container = request.caller_container;
    let answer = answer
        .map_err(|_| "provider panicked".to_string())
        .and_then(|answer| answer.map_err(|err| err.to_string()))
        .and_then(|answer| {
            let answer =
                imds_faults::shape_credentials(plan, &exchange.path, answer, &mut exchange.fault);
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
fn provider_response(answer: ProviderAnswer) -> Result<Response<Bytes>, String> {
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
