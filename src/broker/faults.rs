//! Injected faults, as every door applies them: the plan a request's faults make, the
//! record's note of what was applied, and the spoiling of a served credentials document.
//! Which faults a request matches is each door's (`doors/imds/faults.rs`, `doors/faults.rs`).

use time::OffsetDateTime;

use crate::config::FaultKind;
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

/// Applies the plan's credentials fault (expired, malformed) to a credentials document
/// that was served, naming it in `applied`. Which answers are credentials documents is
/// each door's to say.
pub fn spoil_credentials(
    plan: &FaultPlan,
    mut answer: ProviderAnswer,
    applied: &mut Option<String>,
) -> ProviderAnswer {
    let Some(kind) = &plan.credentials else {
        return answer;
    };
    if answer.status != 200 {
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

    #[test]
    fn expired_credentials_keep_the_document_shape() {
        let body = "{\n  \"Code\" : \"Success\",\n  \"Expiration\" : \"2099-01-01T00:00:00Z\"\n}";
        let replaced = replace_expiration(body, "2000-01-01T00:00:00Z");
        assert_eq!(replaced, body.replace("2099", "2000"));
    }

    #[test]
    fn malformed_credentials_are_cut_and_named() {
        let plan = FaultPlan {
            credentials: Some(FaultKind::MalformedCredentials),
            ..FaultPlan::default()
        };
        let mut applied = None;
        let answer = spoil_credentials(
            &plan,
            ProviderAnswer::ok(bytes::Bytes::from_static(b"abcdef")),
            &mut applied,
        );
        assert_eq!(&answer.body[..], b"abc");
        assert_eq!(applied.as_deref(), Some("malformed-credentials"));
    }
}
