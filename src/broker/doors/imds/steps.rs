//! One IMDS request from admission to answer: admit -> identify -> gate -> token or read
//! -> provider, each step passing the exchange on or ending it with its outcome; then the
//! extended credentials paths' rule (`extended.rs`) settles what the steps decided.

use std::ops::ControlFlow;
use std::time::Duration;

use axum::http::StatusCode;

use crate::broker::access::{self, Caller};
use crate::broker::exchange::Exchange;
use crate::broker::faults::{self, FaultPlan};
use crate::broker::identify::identify;
use crate::broker::limits;
use crate::broker::outcome::{Outcome, Step};
use crate::broker::record::ImdsVersion;
use crate::broker::responses::{self, TOKEN_HEADER_NAME};
use crate::broker::BrokerState;
use crate::config::{Config, DisabledBehaviour, TokenMode};

use super::extended;
use super::faults as imds_faults;
use super::provider_answer::ask_provider;
use super::token::{caller_binding, token_step};
use super::token_path::{self, is_token_path};
use super::tokens::TokenCheck;

/// The steps' outcome, with the extended credentials paths' rule.
pub(in crate::broker) async fn decide(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
) -> Outcome {
    let outcome = Outcome::of(steps(state, config, exchange).await);
    extended::settle(config, exchange, outcome)
}

async fn steps(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Step<Outcome> {
    let caller = admit(state, config, exchange)?;
    identify(state, config, exchange, &caller).await?;
    let plan = gate(config, exchange).await?;
    if is_token_path(&exchange.path) {
        return ControlFlow::Continue(token_step(state, config, exchange, &caller).await);
    }
    check_token(state, config, exchange)?;
    ControlFlow::Continue(ask_provider(state, exchange, &caller, &plan).await)
}

/// Who may ask at all (the access policy: loopback Host check, proxy secret).
fn admit(state: &BrokerState, config: &Config, exchange: &Exchange) -> Step<Caller> {
    match access::admit(
        &state.access,
        exchange.peer,
        exchange.local,
        &exchange.headers,
        config.broker.allow_host,
    ) {
        Ok(caller) => ControlFlow::Continue(caller),
        Err(refusal) => {
            tracing::warn!(peer = %exchange.peer, "refused: {refusal}");
            ControlFlow::Break(Outcome::Answer(responses::error(StatusCode::FORBIDDEN)))
        }
    }
}

/// IMDS switched off, an over-long path, and the faults that act before any answer.
async fn gate(config: &Config, exchange: &mut Exchange) -> Step<FaultPlan> {
    if !config.imds.enabled {
        return ControlFlow::Break(match config.imds.disabled_behaviour {
            DisabledBehaviour::NoAnswer => {
                faults::note(&mut exchange.fault, "IMDS disabled: no answer");
                Outcome::NoAnswer
            }
            DisabledBehaviour::Forbidden => {
                Outcome::Answer(responses::error(StatusCode::FORBIDDEN))
            }
        });
    }
    if let Some(response) = limits::refusal(&exchange.path, &exchange.headers) {
        return ControlFlow::Break(Outcome::Answer(response));
    }
    let plan = imds_faults::plan(&config.faults, &exchange.path);
    if let Some(ms) = plan.latency_ms {
        faults::note(&mut exchange.fault, &format!("latency {ms} ms"));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    imds_faults::replacing(&plan, exchange)?;
    ControlFlow::Continue(plan)
}

/// A read: the method, then the token it carries (IMDSv2) or the lack of one (IMDSv1).
fn check_token(state: &BrokerState, config: &Config, exchange: &mut Exchange) -> Step {
    if let Some(response) = token_path::read_method_answer(&exchange.method) {
        return ControlFlow::Break(Outcome::Answer(response));
    }
    let unauthorized =
        || ControlFlow::Break(Outcome::Answer(responses::error(StatusCode::UNAUTHORIZED)));
    match exchange.headers.get(TOKEN_HEADER_NAME) {
        Some(token) => {
            exchange.version = ImdsVersion::V2;
            let binding = caller_binding(exchange);
            let valid = token
                .to_str()
                .is_ok_and(|token| state.tokens.check(token, &binding) == TokenCheck::Valid);
            if !valid {
                return unauthorized();
            }
        }
        None if config.imds.tokens == TokenMode::Required => return unauthorized(),
        None => exchange.version = ImdsVersion::V1,
    }
    ControlFlow::Continue(())
}
