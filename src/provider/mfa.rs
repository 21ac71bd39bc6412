//! MFA, asked once: an assumed role with `mfa_serial` is assumed with a `GetSessionToken`
//! session made from one code. That session (by default 12 hours) is then the base of
//! every role assumed with the same base credentials and device, for every container,
//! so a developer types one code per working session, not one per container.
//!
//! Until a code is given, fetches fail with a message saying what is needed and the book
//! remembers who waits; `imds-spoof mfa CODE` (over the control socket) hands the code to
//! [`MfaBook::submit`].

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_types::error::display::DisplayErrorContext;
use time::OffsetDateTime;

use crate::imds::documents::Credentials;

use super::assume::{sts_client, MfaKey};
use super::keys::BaseKey;
use super::ProviderError;

/// A GetSessionToken call may take this long.
const STS_TIMEOUT: Duration = Duration::from_secs(15);
/// An MFA session this close to its end is not used for a new role session.
const MFA_MARGIN: time::Duration = time::Duration::minutes(1);

/// The code as typed, trimmed, if it looks like one (six digits).
pub fn check_code(code: &str) -> Result<&str, String> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err("an MFA code is six digits".to_string());
    }
    Ok(code)
}

/// Who waits for a code for one device.
struct Pending {
    base_key: BaseKey,
    base: Arc<Credentials>,
    duration: u32,
    endpoint: Option<String>,
    identities: BTreeSet<String>,
}

#[derive(Default)]
struct Book {
    /// MFA sessions by (base, device).
    sessions: HashMap<(BaseKey, String), Arc<Credentials>>,
    /// Devices a code is needed for.
    pending: HashMap<String, Pending>,
}

/// MFA sessions and the codes waited for, shared by every fetch.
#[derive(Default)]
pub(super) struct MfaBook {
    book: Mutex<Book>,
}

/// A device a code is needed for, and the identities waiting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaNeeded {
    pub serial: String,
    pub identities: Vec<String>,
}

impl MfaBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The MFA session to assume with, or the error that asks for a code (and notes that
    /// `identity` waits for one).
    pub(super) fn session_for(
        &self,
        base_key: &BaseKey,
        base: &Arc<Credentials>,
        mfa: &MfaKey,
        identity: &str,
        endpoint: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Arc<Credentials>, ProviderError> {
        let mut book = self.lock();
        let key = (base_key.clone(), mfa.serial.clone());
        if let Some(session) = book.sessions.get(&key) {
            if session.expiration > now + MFA_MARGIN {
                return Ok(session.clone());
            }
            book.sessions.remove(&key);
        }
        let pending = book
            .pending
            .entry(mfa.serial.clone())
            .or_insert_with(|| Pending {
                base_key: base_key.clone(),
                base: base.clone(),
                duration: mfa.duration,
                endpoint: endpoint.map(str::to_string),
                identities: BTreeSet::new(),
            });
        pending.identities.insert(identity.to_string());
        Err(ProviderError::Credentials {
            source_name: format!("identity {identity}"),
            reason: format!(
                "MFA code needed for {} (for identity {identity}): run `imds-spoof mfa CODE` or type it in the dashboard",
                mfa.serial
            ),
        })
    }

    /// The devices codes are waited for.
    pub fn needed(&self) -> Vec<MfaNeeded> {
        let mut needed: Vec<MfaNeeded> = self
            .lock()
            .pending
            .iter()
            .map(|(serial, pending)| MfaNeeded {
                serial: serial.clone(),
                identities: pending.identities.iter().cloned().collect(),
            })
            .collect();
        needed.sort_by(|a, b| a.serial.cmp(&b.serial));
        needed
    }

    /// Spends `code` on one GetSessionToken for the device waited for (the one named by
    /// `serial`, or the only one). Returns the device and when its session ends.
    pub(super) async fn submit(
        &self,
        code: &str,
        serial: Option<&str>,
    ) -> Result<(String, OffsetDateTime), String> {
        let code = check_code(code)?;
        let (serial, base_key, base, duration, endpoint) = {
            let book = self.lock();
            let chosen = match serial {
                Some(serial) => book.pending.get_key_value(serial),
                None if book.pending.len() == 1 => book.pending.iter().next(),
                None if book.pending.is_empty() => None,
                None => {
                    let mut serials: Vec<&String> = book.pending.keys().collect();
                    serials.sort();
                    return Err(format!(
                        "codes are needed for several devices: name one with --serial ({})",
                        serials
                            .iter()
                            .map(|serial| serial.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            };
            let Some((serial, pending)) = chosen else {
                return Err(match serial {
                    Some(serial) => format!("no role waits for a code from {serial}"),
                    None => "no role waits for an MFA code".to_string(),
                });
            };
            (
                serial.clone(),
                pending.base_key.clone(),
                pending.base.clone(),
                pending.duration,
                pending.endpoint.clone(),
            )
        };
        let client = sts_client(endpoint.as_deref(), &base);
        let request = client
            .get_session_token()
            .serial_number(&serial)
            .token_code(code)
            .duration_seconds(i32::try_from(duration).unwrap_or(43_200));
        let answer = tokio::time::timeout(STS_TIMEOUT, async {
            let _turn = super::assume::STS_CALLS.acquire().await;
            request.send().await
        })
        .await
        .map_err(|_| format!("STS did not answer GetSessionToken within {STS_TIMEOUT:?}"))?
        .map_err(|err| {
            format!(
                "GetSessionToken for {serial}: {}",
                DisplayErrorContext(&err)
            )
        })?;
        let issued = answer
            .credentials
            .ok_or_else(|| "STS answered GetSessionToken without credentials".to_string())?;
        let expiration = OffsetDateTime::from_unix_timestamp(issued.expiration.secs())
            .map_err(|err| format!("STS's Expiration: {err}"))?;
        let session = Arc::new(Credentials {
            access_key_id: issued.access_key_id,
            secret_access_key: issued.secret_access_key,
            token: Some(issued.session_token),
            expiration,
            last_updated: OffsetDateTime::now_utc(),
        });
        let mut book = self.lock();
        book.sessions.insert((base_key, serial.clone()), session);
        book.pending.remove(&serial);
        Ok((serial, expiration))
    }
}
