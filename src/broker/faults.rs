//! Injected faults: which apply to a request, and how they change its answer.

use rand::Rng;
use time::OffsetDateTime;

use crate::config::Door;
use crate::config::{Fault, FaultKind};
use crate::imds::time::format_timestamp;
use crate::provider::ProviderAnswer;

/// The faults that apply to one request, after the dice for each were rolled.
#[derive(Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// Sum of matching latencies.
    pub latency_ms: Option<u64>,
    /// The first matching fault that replaces the answer (status, hang, drop).
    pub replacing: Option<FaultKind>,
    /// The first matching fault that spoils credentials.
    pub credentials: Option<FaultKind>,
}

pub fn plan(faults: &[Fault], path: &str) -> FaultPlan {
    let mut plan = FaultPlan::default();
    if faults.is_empty() {
        return plan;
    }
    let mut rng = rand::rng();
    // IMDS's faults (the doors plan theirs in doors/faults.rs). A fault on the legacy
    // credentials paths covers their extended twins (`extended.rs`).
    let twin = super::extended_paths::legacy_twin(path);
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

/// Adds a fault to the record's list (latency combines with the others).
pub fn note(applied: &mut Option<String>, name: &str) {
    match applied {
        Some(list) => {
            list.push_str(", ");
            list.push_str(name);
        }
        None => *applied = Some(name.to_string()),
    }
}

/// Is `path` a credentials document (`.../security-credentials/NAME`, or its extended twin)?
fn is_credentials_path(path: &str) -> bool {
    let legacy = super::extended_paths::legacy_twin(path);
    legacy
        .as_deref()
        .unwrap_or(path)
        .split_once("/security-credentials/")
        .is_some_and(|(_, name)| !name.trim_matches('/').is_empty())
}

/// Applies a credentials fault to a successful credentials answer, naming it in `applied`.
pub fn shape_credentials(
    plan: &FaultPlan,
    path: &str,
    mut answer: ProviderAnswer,
    applied: &mut Option<String>,
) -> ProviderAnswer {
    let Some(kind) = &plan.credentials else {
        return answer;
    };
    if answer.status != 200 || !is_credentials_path(path) {
        return answer;
    }
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    match kind {
        FaultKind::MalformedCredentials => {
            // Cut mid-document: what a client sees when a response is mangled in transit.
            let cut = body
                .char_indices()
                .nth(body.chars().count() / 2)
                .map_or(0, |(i, _)| i);
            answer.body = bytes::Bytes::from(body[..cut].to_string());
            note(applied, "malformed-credentials");
        }
        FaultKind::ExpiredCredentials => {
            let past = format_timestamp(OffsetDateTime::now_utc() - time::Duration::minutes(10));
            answer.body = bytes::Bytes::from(replace_expiration(&body, &past));
            note(applied, "expired-credentials");
        }
        _ => {}
    }
    answer
}

fn replace_expiration(body: &str, value: &str) -> String {
    let key = "\"Expiration\"";
    let Some(key_at) = body.find(key) else {
        return body.to_string();
    };
    let after = key_at + key.len();
    let open = body[after..].find('"').map(|i| after + i + 1);
    let close = open.and_then(|open| body[open..].find('"').map(|i| open + i));
    match (open, close) {
        (Some(open), Some(close)) => format!("{}{value}{}", &body[..open], &body[close..]),
        _ => body.to_string(),
    }
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

    #[test]
    fn expired_credentials_keep_the_document_shape() {
        let body = "{\n  \"Code\" : \"Success\",\n  \"Expiration\" : \"2099-01-01T00:00:00Z\"\n}";
        let replaced = replace_expiration(body, "2000-01-01T00:00:00Z");
        assert_eq!(replaced, body.replace("2099", "2000"));
    }
}
