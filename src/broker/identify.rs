//! Which container is calling, and so which identity answers, for every door alike.

use std::ops::ControlFlow;

use axum::http::StatusCode;

use super::access::{Caller, CallerInfo};
use super::exchange::Exchange;
use super::faults;
use super::outcome::{Outcome, Step};
use super::responses;
use super::BrokerState;
use crate::config::{Config, IdentityOrigin, UnresolvedPolicy};

/// Which container is calling, and so which identity answers: rule > label > active.
/// A caller on our network that the engine cannot name is never given someone else's
/// identity silently: `[containers] unresolved` decides.
pub(crate) async fn identify(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
    caller: &Caller,
) -> Step {
    exchange.caller = Some(caller.clone());
    let info = match &state.callers {
        Some(directory) => directory.resolve(caller.ip).await,
        None => CallerInfo::NotAContainer,
    };
    match info {
        CallerInfo::NotAContainer => {}
        CallerInfo::Container { name, facts } => {
            let (identity, origin) = config.identity_for(&facts);
            if origin != IdentityOrigin::Active {
                exchange.identity = identity.to_string();
            }
            exchange.identity_origin = origin;
            exchange.caller_container = Some(name);
        }
        CallerInfo::Unresolved { reason } => match config.containers.unresolved {
            UnresolvedPolicy::Refuse => {
                tracing::warn!(caller = %caller.ip, "caller not identified ({reason}): refused");
                exchange.provider_error = Some(format!(
                    "caller not identified ({reason}); [containers] unresolved = \"refuse\""
                ));
                return ControlFlow::Break(Outcome::Answer(responses::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                )));
            }
            UnresolvedPolicy::Active => {
                exchange.on_network = true;
                faults::note(
                    &mut exchange.fault,
                    &format!("caller not identified ({reason}): active identity"),
                );
            }
        },
    }
    ControlFlow::Continue(())
}
