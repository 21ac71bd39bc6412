//! Role credentials for the ECS and EKS doors, from the same provider, sources and cache
//! as IMDS: the door asks the provider for the identity's IMDS credentials document and
//! answers its fields in its own shape.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::broker::exchange::Exchange;
use crate::broker::faults::{self, FaultPlan};
use crate::broker::BrokerState;
use crate::config::Config;
use crate::imds::documents::partition_of;
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
    exchange: &Exchange,
) -> Result<RoleCredentials, Failure> {
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
    let document: serde_json::Value = serde_json::from_slice(&answer.body)
        .map_err(|err| Failure::Provider(format!("credentials are not JSON: {err}")))?;
    let field = |name: &str| {
        document[name]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| Failure::Provider(format!("credentials without {name}")))
    };
    let (_, partition) = partition_of(&identity.region);
    Ok(RoleCredentials {
        access_key_id: field("AccessKeyId")?,
        secret_access_key: field("SecretAccessKey")?,
        token: field("Token")?,
        expiration: field("Expiration")?,
        account_id: identity.account_id.clone(),
        role_arn: format!("arn:{partition}:iam::{}:role/{role}", identity.account_id),
    })
}

/// A door's rendered credentials after the plan's credentials fault (expired, malformed).
pub fn shape(plan: &FaultPlan, exchange: &mut Exchange, body: String) -> bytes::Bytes {
    let answer = faults::shape_credentials(
        plan,
        // The IMDS credentials path stands for "a credentials document" to the faults.
        &credentials_path("role"),
        ProviderAnswer::ok(body),
        &mut exchange.fault,
    );
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
