//! The one timestamp form IMDS serves: `YYYY-MM-DDTHH:MM:SSZ`.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::digits::push_padded;

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

/// Millisecond timestamps for exchange records. Written digit by digit: every record
/// has one, and the format description's interpreter cost ten times as much.
pub fn format_timestamp_millis(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let Ok(year) = u16::try_from(at.year()) else {
        return at.format(RECORD_FORMAT).unwrap_or_default();
    };
    if year > 9999 {
        return at.format(RECORD_FORMAT).unwrap_or_default();
    }
    let mut text = String::with_capacity(24);
    let mut push = |value: u32, width: usize, after: char| {
        push_padded(&mut text, value, width);
        text.push(after);
    };
    push(u32::from(year), 4, '-');
    push(u32::from(u8::from(at.month())), 2, '-');
    push(u32::from(at.day()), 2, 'T');
    push(u32::from(at.hour()), 2, ':');
    push(u32::from(at.minute()), 2, ':');
    push(u32::from(at.second()), 2, '.');
    push(u32::from(at.millisecond()), 3, 'Z');
    text
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
    fn millisecond_stamps_match_the_format_description() {
        for text in [
            "2026-11-24T12:00:00.000Z",
            "2026-01-02T03:04:05.006Z",
            "1999-12-31T23:59:59.999Z",
            "0012-01-01T00:00:00.010Z",
        ] {
            let at = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                .unwrap();
            assert_eq!(format_timestamp_millis(at), text);
            assert_eq!(
                format_timestamp_millis(at),
                at.format(RECORD_FORMAT).unwrap()
            );
        }
        let offset = parse_timestamp("2026-11-24T13:00:00.5+01:00").unwrap();
        assert_eq!(format_timestamp_millis(offset), "2026-11-24T12:00:00.500Z");
    }

    #[test]
    fn rejects_other_text() {
        assert!(parse_timestamp("tomorrow").is_none());
    }
}
