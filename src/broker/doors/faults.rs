//! Faults at the ECS and EKS doors: the same `[[fault]]` entries as IMDS, matched on the
//! door's path (`/v2/credentials…`, `/v1/credentials`; "" covers every door) and, when a
//! fault names one (`door = "ecs"`), on the door. Unlike
//! IMDS, whose throttling is never a 429 (docs/protocol.md §3), these agents do answer 429
//! when they throttle, so a status fault keeps its status here.

use std::ops::ControlFlow;
use std::time::Duration;

use axum::http::{Response, StatusCode};
use bytes::Bytes;
use rand::Rng;

use crate::broker::exchange::Exchange;
use crate::broker::faults::{note, FaultPlan};
use crate::broker::outcome::{Outcome, Step};
use crate::config::{Config, Door, Fault, FaultKind};

/// The faults for this exchange: the latency is waited out here; a fault that replaces the
/// answer ends the exchange (`reply` shapes a status fault's answer as the door's error).
pub async fn gate(
    config: &Config,
    exchange: &mut Exchange,
    reply: impl Fn(StatusCode) -> Response<Bytes>,
) -> Step<FaultPlan> {
    let plan = plan(&config.faults, exchange.door, &exchange.path);
    if let Some(ms) = plan.latency_ms {
        note(&mut exchange.fault, &format!("latency {ms} ms"));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let outcome = match &plan.replacing {
        None => return ControlFlow::Continue(plan),
        Some(FaultKind::Hang) => {
            note(&mut exchange.fault, "hang");
            Outcome::NoAnswer
        }
        Some(FaultKind::Drop) => {
            note(&mut exchange.fault, "drop");
            Outcome::Drop
        }
        Some(FaultKind::Status { status }) => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            note(&mut exchange.fault, &format!("status {}", status.as_u16()));
            Outcome::Answer(reply(status))
        }
        Some(_) => return ControlFlow::Continue(plan),
    };
    ControlFlow::Break(outcome)
}

pub fn plan(faults: &[Fault], door: Door, path: &str) -> FaultPlan {
    let mut plan = FaultPlan::default();
    let mut rng = rand::rng();
    for fault in faults.iter().filter(|fault| fault.applies(door, path)) {
        if fault.probability < 1.0 && !rng.random_bool(fault.probability.clamp(0.0, 1.0)) {
            continue;
        }
        match &fault.kind {
            FaultKind::Latency { ms } => *plan.latency_ms.get_or_insert(0) += ms,
            FaultKind::Status { .. } | FaultKind::Hang | FaultKind::Drop => {
                plan.replacing.get_or_insert_with(|| fault.kind.clone());
            }
            FaultKind::MalformedCredentials | FaultKind::ExpiredCredentials => {
                plan.credentials.get_or_insert_with(|| fault.kind.clone());
            }
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_stays_a_429_at_the_doors() {
        let mut faults = vec![Fault {
            path_prefix: String::new(),
            door: None,
            probability: 1.0,
            kind: FaultKind::Status { status: 429 },
        }];
        assert_eq!(
            plan(&faults, Door::Eks, "/v1/credentials").replacing,
            Some(FaultKind::Status { status: 429 })
        );
        // A fault for one door leaves the others alone.
        faults[0].door = Some(Door::Ecs);
        assert_eq!(plan(&faults, Door::Eks, "/v1/credentials").replacing, None);
        assert!(plan(&faults, Door::Ecs, "/v2/credentials/x")
            .replacing
            .is_some());
    }
}
