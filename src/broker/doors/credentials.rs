//! Role credentials for the ECS and EKS doors, from the same provider, sources and cache
//! as IMDS: the door asks the provider for the identity's IMDS credentials document and
//! answers its fields in its own shape.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use time::OffsetDateTime;

use crate::broker::exchange::Exchange;
use crate::broker::faults::{self, FaultPlan};
use crate::broker::BrokerState;
use crate::config::time::{format_timestamp, parse_timestamp};
use crate::config::Config;
use crate::imds::documents::partition_of;
use crate::memo::Memo;
use crate::provider::{ProviderAnswer, ProviderRequest};

/// One identity's role credentials, with what ECS and EKS add to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub token: String,
    /// As the provider served it (RFC 3339).
    pub expiration: String,
    pub account_id: String,
    pub role_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The identity has no role: nothing to hand out.
    NoRole(String),
    /// The provider failed or answered something that is not credentials.
    Provider(String),
}

/// The credentials of the exchange's identity. A credentials fault of `plan` is applied
/// by [`shape`] to the door's rendered answer.
pub async fn fetch(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
) -> Result<Arc<RoleCredentials>, Failure> {
    let served = fetch_as_served(state, config, exchange).await?;
    let now = OffsetDateTime::now_utc();
    if served.expires_at.is_none_or(|at| at > now) {
        return Ok(served.credentials);
    }
    let mut renewed = (*served.credentials).clone();
    renew_lapsed(&mut renewed, now);
    faults::note(
        &mut exchange.fault,
        "lapsed credentials served with a renewed Expiration (container agents never hand \
         out expired credentials)",
    );
    Ok(Arc::new(renewed))
}

/// How long credentials that had lapsed are given again: the agents refresh role
/// credentials hours before they end, so an SDK never sees them expire.
const RENEWED_LIFETIME: time::Duration = time::Duration::hours(1);

/// The ECS and EKS agents rotate credentials well ahead of their end and never hand out
/// lapsed ones, and botocore's container provider fails on them ("refreshed credentials
/// are still expired") where its IMDS fetcher extends them. So an Expiration in the past
/// (the dashboard's "expire now", a source that lapsed) is served as one an hour from
/// now: the container SDK refreshes and keeps working, as against a real agent. An
/// expired-credentials `[[fault]]` is applied afterwards by [`shape`] and still serves
/// the past on purpose. Returns whether the expiration was renewed.
fn renew_lapsed(found: &mut RoleCredentials, now: OffsetDateTime) -> bool {
    let lapsed = parse_timestamp(&found.expiration).is_some_and(|at| at <= now);
    if lapsed {
        found.expiration = format_timestamp(now + RENEWED_LIFETIME);
    }
    lapsed
}

/// Credentials as the provider serves them, with their Expiration read.
#[derive(Clone)]
struct Served {
    credentials: Arc<RoleCredentials>,
    expires_at: Option<OffsetDateTime>,
}

/// The credentials as the provider serves them to IMDS.
async fn fetch_as_served(
    state: &BrokerState,
    config: &Config,
    exchange: &Exchange,
) -> Result<Served, Failure> {
    let identity = config.identity(&exchange.identity).ok_or_else(|| {
        Failure::NoRole(format!(
            "identity {:?} is not configured",
            exchange.identity
        ))
    })?;
    let role = match identity.role.as_ref() {
        Some(role) => role.name.clone(),
        // An external provider may know a role the configuration does not name.
        None => match ask(state, exchange, CREDENTIALS_DIR.to_string()).await? {
            answer if answer.status == 200 => String::from_utf8_lossy(&answer.body)
                .lines()
                .next()
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .ok_or_else(|| no_role(&exchange.identity))?,
            _ => return Err(no_role(&exchange.identity)),
        },
    };
    let answer = ask(state, exchange, credentials_path(&role)).await?;
    if answer.status == 404 {
        return Err(no_role(&exchange.identity));
    }
    if answer.status != 200 {
        return Err(Failure::Provider(format!(
            "credentials answered status {}",
            answer.status
        )));
    }
    // The provider serves one cached document until the credentials change: read it once.
    let key = parsed::Key {
        identity: &exchange.identity,
        role: &role,
        account_id: &identity.account_id,
        region: &identity.region,
    };
    if let Some(served) = parsed::lookup(&key, &answer.body) {
        return Ok(served);
    }
    let document: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|err| Failure::Provider(format!("credentials are not JSON: {err}")))?;
    let field = |name: &str| {
        document[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Failure::Provider(format!("credentials without {name}")))
    };
    let (_, partition) = partition_of(&identity.region);
    let credentials = RoleCredentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: field("SecretAccessKey")?,
        token: field("Token")?,
        expiration: field("Expiration")?,
        account_id: identity.account_id.clone(),
        role_arn: format!("arn:{partition}:iam::{}:role/{role}", identity.account_id),
    };
    let served = Served {
        expires_at: parse_timestamp(&credentials.expiration),
        credentials: Arc::new(credentials),
    };
    parsed::remember(&key, answer.body, served.clone());
    Ok(served)
}

/// Documents already read, per thread (no lock shared by requests). Keyed by what the
/// answer is made of: the identity's name, role, account and region, and the document's
/// bytes, so a change of keys, expiration or configuration reads the new document. A few
/// entries cover the identities of a developer's machine.
mod parsed {
    use std::cell::RefCell;

    use bytes::Bytes;

    use super::Served;
    use crate::memo::Memo;

    const ENTRIES: usize = 8;

    pub(super) struct Key<'a> {
        pub identity: &'a str,
        pub role: &'a str,
        pub account_id: &'a str,
        pub region: &'a str,
    }

    struct Entry {
        identity: String,
        role: String,
        account_id: String,
        region: String,
        document: Bytes,
        served: Served,
    }

    impl Entry {
        fn matches(&self, key: &Key<'_>) -> bool {
            self.identity == key.identity
                && self.role == key.role
                && self.account_id == key.account_id
                && self.region == key.region
        }
    }

    thread_local! {
        static ENTRIES_OF_THREAD: RefCell<Memo<Entry, ENTRIES>> = const { RefCell::new(Memo::new()) };
    }

    pub(super) fn lookup(key: &Key<'_>, document: &[u8]) -> Option<Served> {
        ENTRIES_OF_THREAD.with_borrow(|entries| {
            entries
                .find(|entry| entry.matches(key) && entry.document.as_ref() == document)
                .map(|entry| entry.served.clone())
        })
    }

    /// Keeps the parsed document; an identity's older one (rotated keys) goes at once.
    pub(super) fn remember(key: &Key<'_>, document: Bytes, served: Served) {
        ENTRIES_OF_THREAD.with_borrow_mut(|entries| {
            entries.remember(
                Entry {
                    identity: key.identity.to_string(),
                    role: key.role.to_string(),
                    account_id: key.account_id.to_string(),
                    region: key.region.to_string(),
                    document,
                    served,
                },
                |entry| entry.identity == key.identity,
            );
        });
    }
}

/// Which door's shape a rendered body has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Ecs,
    Eks,
}

/// The door's JSON for `found`, rendered once per credentials and thread: a cached
/// credentials value is the same `Arc` on every request until it changes.
pub fn rendered(
    found: &Arc<RoleCredentials>,
    shape: Shape,
    render: impl FnOnce(&RoleCredentials) -> String,
) -> bytes::Bytes {
    const ENTRIES: usize = 8;
    type Rendered = (Shape, Arc<RoleCredentials>, bytes::Bytes);
    thread_local! {
        static RENDERED: std::cell::RefCell<Memo<Rendered, ENTRIES>> =
            const { std::cell::RefCell::new(Memo::new()) };
    }
    let known = RENDERED.with_borrow(|entries| {
        entries
            // The entry holds its `Arc`, so the pointer cannot be reused by another value.
            .find(|(kind, credentials, _)| *kind == shape && Arc::ptr_eq(credentials, found))
            .map(|(_, _, body)| body.clone())
    });
    if let Some(body) = known {
        return body;
    }
    let body = bytes::Bytes::from(render(found));
    RENDERED.with_borrow_mut(|entries| {
        // Credentials of the same role rendered before (rotated since) go at once: the
        // memo keeps no old secret alive once newer ones were served.
        entries.remember(
            (shape, found.clone(), body.clone()),
            |(kind, credentials, _)| *kind == shape && credentials.role_arn == found.role_arn,
        );
    });
    body
}

/// A door's rendered credentials after the plan's credentials fault (expired, malformed).
pub fn shape(plan: &FaultPlan, exchange: &mut Exchange, body: bytes::Bytes) -> bytes::Bytes {
    let answer = faults::spoil_credentials(plan, ProviderAnswer::ok(body), &mut exchange.fault);
    answer.body
}

const CREDENTIALS_DIR: &str = "/latest/meta-data/iam/security-credentials/";

fn credentials_path(role: &str) -> String {
    format!("{CREDENTIALS_DIR}{role}")
}

fn no_role(identity: &str) -> Failure {
    Failure::NoRole(format!("identity {identity:?} has no role"))
}

/// One provider question; a panic is the provider's failure, not a dropped connection.
async fn ask(
    state: &BrokerState,
    exchange: &Exchange,
    path: String,
) -> Result<ProviderAnswer, Failure> {
    let request = ProviderRequest {
        method: "GET".to_string(),
        path,
        identity: exchange.identity.clone(),
        caller_ip: exchange.caller.as_ref().map(|caller| caller.ip),
        caller_container: exchange.caller_container.clone(),
    };
    AssertUnwindSafe(state.provider.answer(&request))
        .catch_unwind()
        .await
        .map_err(|_| Failure::Provider("provider panicked".to_string()))?
        .map_err(|err| Failure::Provider(err.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(expiration: &str) -> RoleCredentials {
        RoleCredentials {
            access_key_id: "AKIAEXAMPLE".to_string(),
            secret_access_key: "secret".to_string(),
            token: "token".to_string(),
            expiration: expiration.to_string(),
            account_id: "123456789012".to_string(),
            role_arn: "arn:aws:iam::123456789012:role/worker".to_string(),
        }
    }

    #[test]
    fn lapsed_credentials_get_an_hour_and_live_ones_are_left_alone() {
        let now = parse_timestamp("2026-12-01T12:00:00Z").unwrap();
        let mut lapsed = credentials("2026-12-01T11:59:00Z");
        assert!(renew_lapsed(&mut lapsed, now));
        assert_eq!(lapsed.expiration, "2026-12-01T13:00:00Z");
        assert_eq!(lapsed.access_key_id, "AKIAEXAMPLE", "same keys, new end");

        let mut live = credentials("2026-12-01T12:05:00Z");
        assert!(!renew_lapsed(&mut live, now));
        assert_eq!(live.expiration, "2026-12-01T12:05:00Z");

        // Something that is no timestamp is passed on as the provider gave it.
        let mut odd = credentials("soon");
        assert!(!renew_lapsed(&mut odd, now));
        assert_eq!(odd.expiration, "soon");
    }
}
