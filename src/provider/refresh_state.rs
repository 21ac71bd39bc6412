//! Where each identity's fetched credentials stand: what the background refresher
//! (`refresh.rs`) publishes and the resolver (`credentials.rs`) holds for the dashboard,
//! `up`'s log and `doctor`. Its own module so that neither of the two needs the other's.

use std::collections::BTreeMap;

use time::OffsetDateTime;

/// Where one identity's fetched credentials stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshState {
    /// A fetch is running; the previous credentials, if any, serve until `serving_until`.
    Fetching {
        serving_until: Option<OffsetDateTime>,
    },
    /// Credentials are cached; they are fetched again at `refresh_at`.
    Fresh {
        expiration: OffsetDateTime,
        refresh_at: OffsetDateTime,
    },
    /// The last fetch failed; the previous credentials, if any, serve until
    /// `serving_until`, and the next try is at `retry_at`.
    Failed {
        reason: String,
        failed_at: OffsetDateTime,
        retry_at: OffsetDateTime,
        serving_until: Option<OffsetDateTime>,
    },
    /// An assumed role: one session per caller, each with its own state (by session
    /// name), and the MFA device a code is needed for, if any.
    Sessions {
        sessions: Vec<(String, RefreshState)>,
        mfa_needed: Option<String>,
    },
}

/// Refresh state per identity name, for identities whose credentials come from a
/// command, a profile or an assumed role (static keys need no fetching and are left out).
pub type RefreshStates = BTreeMap<String, RefreshState>;
