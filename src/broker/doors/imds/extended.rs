//! `iam/security-credentials-extended/`: the rule that keeps SDKs' fallback working.
//!
//! JS v3 (`@aws-sdk/credential-provider-imds` `fromInstanceMetadata.ts`, `getImdsProfile`
//! and `getCredentialsFromProfile`) and Java v2 (`InstanceProfileCredentialsProvider`;
//! `InstanceProfileCredentialsProviderExtendedApiTest` `withNon404Error_doesNotFallbackToLegacy`)
//! ask the extended path first and fall back to `iam/security-credentials/` only on a 404:
//! a 401, 403 or 500 there fails the provider outright. So the extended paths answer 200
//! or 404 and nothing else (docs/protocol.md case 52), whatever the token mode, the faults or
//! the provider say:
//! - a missing or invalid token (either token mode), a status, hang or drop fault, a failing
//!   provider, an unidentified caller: 404, so the client moves on to the legacy path, which
//!   then shows the failure as configured (v1 refused, the fault, the provider's 500).
//!   Credentials are never served where the legacy path would refuse them.
//! - latency and the credential-spoiling faults (malformed, expired) still apply: the
//!   answer is a 200 that carries them, as the legacy path's does.
//! - not settled: callers the access policy refuses (403 before anything is looked at) and
//!   IMDS disabled (403 or no answer on every path, case 45), which are not token modes or
//!   faults but the service being closed to the caller.

use axum::http::StatusCode;

use crate::config::Config;

use crate::broker::exchange::Exchange;
use crate::broker::faults;
use crate::broker::outcome::Outcome;
use crate::broker::responses;

use super::extended_paths::is_extended_path;

/// Applies the rule above to the outcome of an extended path; other paths pass unchanged.
pub(super) fn settle(config: &Config, exchange: &mut Exchange, outcome: Outcome) -> Outcome {
    let status = match &outcome {
        Outcome::Answer(response) => Some(response.status()),
        Outcome::NoAnswer | Outcome::Drop => None,
    };
    // The answers that need no settling first: the path is looked at only for the rest.
    if matches!(status, Some(StatusCode::OK | StatusCode::NOT_FOUND))
        || !config.imds.enabled
        || exchange.caller.is_none()
        || !is_extended_path(&exchange.path)
    {
        return outcome;
    }
    let was = status.map_or_else(|| "no answer".to_string(), |s| s.as_u16().to_string());
    faults::note(
        &mut exchange.fault,
        &format!("credentials-extended: {was} answered as 404 (SDKs fall back on 404 only)"),
    );
    Outcome::Answer(responses::error(StatusCode::NOT_FOUND))
}

#[cfg(test)]
mod tests {
    use super::super::extended_paths::legacy_twin;
    use super::*;

    #[test]
    fn extended_paths_and_their_legacy_twins() {
        let role = "/latest/meta-data/iam/security-credentials-extended/dev-role";
        assert!(is_extended_path(role));
        assert_eq!(
            legacy_twin(role).as_deref(),
            Some("/latest/meta-data/iam/security-credentials/dev-role")
        );
        assert_eq!(
            legacy_twin("/2021-07-15/meta-data/iam/security-credentials-extended/").as_deref(),
            Some("/2021-07-15/meta-data/iam/security-credentials/")
        );
        assert!(is_extended_path(
            "/latest/meta-data/iam/security-credentials-extended"
        ));
        for other in [
            "/latest/meta-data/iam/security-credentials/dev-role",
            "/latest/meta-data/iam/security-credentials-extendedX",
            "/latest/meta-data/iam/info",
        ] {
            assert!(!is_extended_path(other), "{other}");
            assert_eq!(legacy_twin(other), None, "{other}");
        }
    }
}
