//! The lifetime EC2 gives instance profile credentials, for keys that name none.

use time::OffsetDateTime;

/// Lifetime EC2 gives instance profile credentials.
const ROLLING_LIFETIME: time::Duration = time::Duration::hours(6);

/// EC2 issues credentials for six hours and renews them well before: serve the current
/// hour's issue time and an expiration five to six hours away.
pub(super) fn rolling_window(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let issued = now
        .replace_minute(0)
        .and_then(|t| t.replace_second(0))
        .and_then(|t| t.replace_nanosecond(0))
        .unwrap_or(now);
    (issued, issued + ROLLING_LIFETIME)
}
