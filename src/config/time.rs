//! The one timestamp form IMDS serves: `YYYY-MM-DDTHH:MM:SSZ`.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

const IMDS_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// Formats a time as IMDS does, in UTC with a `Z`.
pub fn format_timestamp(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(IMDS_FORMAT)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ`; also accepts RFC 3339 with fractions or offsets,
/// which `credential_process` programs print.
pub fn parse_timestamp(value: &str) -> Option<OffsetDateTime> {
    if let Ok(plain) = PrimitiveDateTime::parse(value, IMDS_FORMAT) {
        return Some(plain.assume_utc());
    }
    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).ok()
}

const RECORD_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Millisecond timestamps for exchange records.
pub fn format_timestamp_millis(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(RECORD_FORMAT)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_imds_form() {
        let at = parse_timestamp("2026-11-24T12:00:00Z").unwrap();
        assert_eq!(format_timestamp(at), "2026-11-24T12:00:00Z");
    }

    #[test]
    fn accepts_rfc3339_with_offset() {
        let at = parse_timestamp("2026-11-24T13:00:00.5+01:00").unwrap();
        assert_eq!(format_timestamp(at), "2026-11-24T12:00:00Z");
    }

    #[test]
    fn rejects_other_text() {
        assert!(parse_timestamp("tomorrow").is_none());
    }
}
