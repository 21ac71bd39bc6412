//! Values as the dashboard writes them: times, durations, sizes, fault names.

use crate::config::{FaultKind, IdentityOrigin};

/// An identity with where it came from, as everywhere a caller's identity is shown:
/// `worker (rule)`, `worker (label)`, `default (active)`.
pub fn identity_with_origin(name: &str, origin: IdentityOrigin) -> String {
    format!("{name} ({})", origin.as_str())
}

/// An identity with its origin in at most `width` columns: in full (`worker (rule)`) or
/// short (`worker·R`, `worker·L`, `default·A`; the help explains the letters,
/// [`ORIGIN_LEGEND`]). A long name is cut, never the origin.
pub fn identity_fitted(name: &str, origin: IdentityOrigin, width: usize, full: bool) -> String {
    let origin = if full {
        format!(" ({})", origin.as_str())
    } else {
        let letter = match origin {
            IdentityOrigin::Rule => 'R',
            IdentityOrigin::Label => 'L',
            IdentityOrigin::Active => 'A',
            IdentityOrigin::Path => 'P',
            IdentityOrigin::Token => 'T',
        };
        format!("·{letter}")
    };
    let room = width.saturating_sub(origin.chars().count()).max(2);
    let name: String = if name.chars().count() > room {
        name.chars().take(room - 1).chain(['…']).collect()
    } else {
        name.to_string()
    };
    format!("{name}{origin}")
}

/// `text` in at most `width` columns: whole, or cut at the end and marked `…`.
pub fn cut_end(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    text.chars().take(width - 1).chain(['…']).collect()
}

/// `text` in at most `width` columns, cut in the middle and marked `…`: the start says
/// what it is and the end is the specific part (a path's leaf, an error's fix). A path
/// keeps its first segment when there is room (`/latest/…/imds-spoof-dev-role`).
pub fn cut_middle(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_string();
    }
    if width < 5 {
        return cut_end(text, width);
    }
    let room = width - 1;
    // The first path segment with its slashes, when it leaves the tail most of the room.
    let segment = text
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '/')
        .map(|(index, _)| text[..=index].chars().count())
        .filter(|head| text.starts_with('/') && *head <= room / 2);
    let head = segment.unwrap_or(room / 3);
    let tail = room - head;
    let start: String = text.chars().take(head).collect();
    let mut end: String = text.chars().skip(count - tail).collect();
    // A path's tail starts at a segment rather than with a scrap of one (`ta/…`).
    if segment.is_some() && !end.starts_with('/') {
        if let Some(slash) = end.find('/').filter(|slash| *slash < 6) {
            end = end[slash..].to_string();
        }
    }
    format!("{start}…{end}")
}

/// What the letters of [`identity_fitted`]'s short form mean, for the help.
pub const ORIGIN_LEGEND: &str =
    "identity column: R a [[container]] rule, L its label, A active identity";

/// `HH:MM:SS.mmm` of a record's `YYYY-MM-DDTHH:MM:SS.mmmZ` time.
pub fn clock(time: &str) -> String {
    time.get(11..23).unwrap_or(time).to_string()
}

/// A latency in the unit that keeps it short: µs, ms or s.
pub fn latency(micros: u64) -> String {
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.1}ms", micros as f64 / 1_000.0)
    } else {
        format!("{:.2}s", micros as f64 / 1_000_000.0)
    }
}

/// A span of minutes in words: minutes, then hours, then days.
pub fn minutes_words(minutes: i64) -> String {
    if minutes < 60 {
        format!("{minutes} min")
    } else if minutes < 48 * 60 {
        format!("{}h {:02}m", minutes / 60, minutes % 60)
    } else {
        format!("{} days", minutes / (24 * 60))
    }
}

pub fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

/// A probability as a whole percentage.
pub fn percent(probability: f64) -> u32 {
    (probability * 100.0).round().clamp(0.0, 100.0) as u32
}

pub fn fault_name(kind: &FaultKind) -> String {
    match kind {
        FaultKind::Latency { ms } => format!("latency {ms}ms"),
        FaultKind::Status { status } => format!("status {status}"),
        FaultKind::Hang => "hang".into(),
        FaultKind::Drop => "drop".into(),
        FaultKind::MalformedCredentials => "malformed credentials".into(),
        FaultKind::ExpiredCredentials => "expired credentials".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_keeps_the_time_of_day() {
        assert_eq!(clock("2026-11-24T11:00:32.523Z"), "11:00:32.523");
        assert_eq!(clock("short"), "short");
    }

    #[test]
    fn cut_values_are_marked() {
        assert_eq!(cut_end("billing-worker-1", 16), "billing-worker-1");
        assert_eq!(cut_end("billing-worker-12", 16), "billing-worker-…");
        let path = "/latest/meta-data/iam/security-credentials/imds-spoof-dev-role";
        assert_eq!(cut_middle(path, 80), path);
        assert_eq!(cut_middle(path, 30), "/latest/…/imds-spoof-dev-role");
        assert!(cut_middle(path, 30).chars().count() <= 30);
        // Too narrow for the segment: a plain middle cut, still marked.
        let cut = cut_middle(path, 12);
        assert_eq!(cut.chars().count(), 12);
        assert!(cut.contains('…') && cut.ends_with("ole"), "{cut}");
        assert_eq!(
            cut_middle("/latest/meta-data/instance-id", 24),
            "/latest/…/instance-id"
        );
        // Not a path: start and end, whatever they are.
        assert_eq!(cut_middle("abcdefghijklmnop", 9), "ab…klmnop");
    }

    #[test]
    fn latencies_pick_their_unit() {
        assert_eq!(latency(850), "850µs");
        assert_eq!(latency(12_300), "12.3ms");
        assert_eq!(latency(2_500_000), "2.50s");
    }

    #[test]
    fn minutes_grow_into_hours_and_days() {
        assert_eq!(minutes_words(5), "5 min");
        assert_eq!(minutes_words(125), "2h 05m");
        assert_eq!(minutes_words(3 * 24 * 60), "3 days");
    }
}

#[cfg(test)]
mod origin_tests {
    use super::*;

    #[test]
    fn identities_say_where_they_came_from() {
        assert_eq!(
            identity_with_origin("worker", IdentityOrigin::Rule),
            "worker (rule)"
        );
        assert_eq!(
            identity_fitted("default", IdentityOrigin::Active, 10, false),
            "default·A"
        );
        // The origin survives a name too long for the column.
        assert_eq!(
            identity_fitted("imds-spoof-worker", IdentityOrigin::Label, 10, false),
            "imds-sp…·L"
        );
        assert_eq!(
            identity_fitted("imds-spoof-worker", IdentityOrigin::Rule, 16, true),
            "imds-spo… (rule)"
        );
    }
}
