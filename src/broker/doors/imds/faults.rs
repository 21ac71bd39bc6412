//! IMDS's faults: which `[[fault]]` entries a request matches (a fault on the legacy
//! credentials paths covers their extended twins), the faults that replace the whole
//! answer, and which answers are credentials documents for the spoiling faults.

use std::ops::ControlFlow;

use rand::Rng;

use crate::broker::exchange::Exchange;
use crate::broker::faults::{note, spoil_credentials, FaultPlan};
use crate::broker::outcome::{Outcome, Step};
use crate::broker::responses;
use crate::config::{Door, Fault, FaultKind};
use crate::provider::ProviderAnswer;

use super::extended_paths::legacy_twin;

/// The faults that apply to `path` at IMDS, after the dice for each were rolled.
pub fn plan(faults: &[Fault], path: &str) -> FaultPlan {
    let mut plan = FaultPlan::default();
    if faults.is_empty() {
        return plan;
    }
    let mut rng = rand::rng();
    // IMDS's faults (the doors plan theirs in doors/faults.rs). A fault on the legacy
    // credentials paths covers their extended twins (`extended.rs`).
    let twin = legacy_twin(path);
    let applies = |fault: &&Fault| {
        fault.applies(Door::Imds, path)
            || twin
                .as_deref()
                .is_some_and(|twin| fault.applies(Door::Imds, twin))
    };
    for fault in faults.iter().filter(applies) {
        if fault.probability < 1.0 && !rng.random_bool(fault.probability.clamp(0.0, 1.0)) {
            continue;
        }
        match &fault.kind {
            FaultKind::Latency { ms } => *plan.latency_ms.get_or_insert(0) += ms,
            // IMDS never answers 429: EC2 throttles by refusing and dropping connections
            // (docs/protocol.md §3, case 56), so a throttling fault closes the connection.
            FaultKind::Status { status: 429 } => {
                plan.replacing.get_or_insert(FaultKind::Drop);
            }
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

/// The credentials fault of the plan on an answer of `path`, if `path` is a credentials
/// document (not the listing).
pub fn shape_credentials(
    plan: &FaultPlan,
    path: &str,
    answer: ProviderAnswer,
    applied: &mut Option<String>,
) -> ProviderAnswer {
    if plan.credentials.is_none() || !is_credentials_path(path) {
        return answer;
    }
    spoil_credentials(plan, answer, applied)
}

/// Faults that replace the whole answer end the exchange here.
pub fn replacing(plan: &FaultPlan, exchange: &mut Exchange) -> Step {
    let (outcome, name) = match &plan.replacing {
        Some(FaultKind::Hang) => (Outcome::NoAnswer, "hang".to_string()),
        Some(FaultKind::Drop) => (Outcome::Drop, "drop".to_string()),
        Some(FaultKind::Status { status }) => {
            let status = axum::http::StatusCode::from_u16(*status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            (
                Outcome::Answer(responses::error(status)),
                format!("status {}", status.as_u16()),
            )
        }
        _ => return ControlFlow::Continue(()),
    };
    note(&mut exchange.fault, &name);
    ControlFlow::Break(outcome)
}

/// Is `path` a credentials document (`.../security-credentials/NAME`, or its extended twin)?
fn is_credentials_path(path: &str) -> bool {
    let legacy = legacy_twin(path);
    legacy
        .as_deref()
        .unwrap_or(path)
        .split_once("/security-credentials/")
        .is_some_and(|(_, name)| !name.trim_matches('/').is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(prefix: &str, kind: FaultKind) -> Fault {
        Fault {
            door: None,
            path_prefix: prefix.to_string(),
            probability: 1.0,
            kind,
        }
    }

    #[test]
    fn plans_only_matching_faults() {
        let faults = vec![
            fault("/latest/meta-data/iam/", FaultKind::Latency { ms: 5 }),
            fault("", FaultKind::Latency { ms: 7 }),
            fault("/latest/dynamic/", FaultKind::Hang),
        ];
        let plan = plan(&faults, "/latest/meta-data/iam/info");
        assert_eq!(plan.latency_ms, Some(12));
        assert_eq!(plan.replacing, None);
    }

    #[test]
    fn throttling_drops_and_legacy_faults_cover_the_extended_twin() {
        let faults = vec![fault("", FaultKind::Status { status: 429 })];
        assert_eq!(plan(&faults, "/").replacing, Some(FaultKind::Drop));
        let legacy = vec![fault(
            "/latest/meta-data/iam/security-credentials/",
            FaultKind::ExpiredCredentials,
        )];
        let extended = "/latest/meta-data/iam/security-credentials-extended/role";
        assert_eq!(
            plan(&legacy, extended).credentials,
            Some(FaultKind::ExpiredCredentials)
        );
        assert!(is_credentials_path(extended));
        assert!(!is_credentials_path(
            "/latest/meta-data/iam/security-credentials-extended/"
        ));
    }

    #[test]
    fn zero_probability_never_applies() {
        let mut never = fault("", FaultKind::Drop);
        never.probability = 0.0;
        assert_eq!(plan(&[never], "/").replacing, None);
    }
}
