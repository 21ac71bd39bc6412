//! `imds-spoof report`: IMDSv2 readiness per caller, from the running imds-spoof processes
//! of this user (their report sockets) or from `--log-requests` files. A table, or the
//! report's JSON; exit status 1 when a caller used IMDSv1, so CI can gate on it.

use std::io::Write;
use std::path::PathBuf;

use crate::broker::readiness::{read_log_file, CallerReport, LogFileError, Report, Tally};
use crate::cli::ReportArgs;
use crate::session::ReadError;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not a failure of the command: what CI gates on (exit status 1).
    #[error("{count} {} IMDSv1 (requests without a token)", callers_word(*.count))]
    V1Callers { count: usize },
    #[error("no running imds-spoof (up, serve or the dashboard) to ask; for a finished run use `imds-spoof report --from FILE` with its --log-requests file")]
    NothingRunning,
    #[error(transparent)]
    Running(#[from] ReadError),
    #[error(transparent)]
    LogFile(#[from] LogFileError),
    #[error("cannot write the report: {0}")]
    Output(std::io::Error),
}

pub async fn run(args: &ReportArgs) -> Result<(), ReportError> {
    let report = gather(&args.from).await?;
    let mut stdout = std::io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(stdout))
    } else {
        stdout.write_all(table(&report).as_bytes())
    };
    written
        .and_then(|()| stdout.flush())
        .map_err(ReportError::Output)?;
    if report.any_v1() {
        return Err(ReportError::V1Callers {
            count: report.v1_callers,
        });
    }
    Ok(())
}

fn callers_word(count: usize) -> &'static str {
    if count == 1 {
        "caller used"
    } else {
        "callers used"
    }
}

/// One report from the files named, else from every running process.
async fn gather(files: &[PathBuf]) -> Result<Report, ReportError> {
    let mut tally = Tally::new();
    if files.is_empty() {
        let reports = crate::session::read_running_reports().await?;
        if reports.is_empty() {
            return Err(ReportError::NothingRunning);
        }
        for report in reports {
            tally.absorb(report);
        }
    }
    for file in files {
        read_log_file(file, &mut tally)?;
    }
    Ok(tally.report())
}

/// The human table: a row per caller (`!` marks IMDSv1 users) and, under each flagged
/// row, its v1 paths and programs.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let callers = &report.callers;
    if callers.is_empty() {
        out.push_str("IMDSv2 readiness: no caller has asked IMDS yet\n");
        return out;
    }
    out.push_str(&format!(
        "IMDSv2 readiness: {} of {} {} used IMDSv1{}\n\n",
        report.v1_callers,
        callers.len(),
        if callers.len() == 1 {
            "caller"
        } else {
            "callers"
        },
        span(callers),
    ));
    let one_day = one_day(callers);
    out.push_str(&format!(
        "   {:<22} {:>6} {:>6} {:>6}  {:<11} {:<11} {}\n",
        "CALLER", "V1", "V2", "TOKEN", "FIRST SEEN", "LAST SEEN", "PROGRAM"
    ));
    for caller in callers {
        let program = caller
            .agents
            .first()
            .map(|agent| agent.label())
            .unwrap_or_default();
        out.push_str(&format!(
            "{}  {:<22} {:>6} {:>6} {:>6}  {:<11} {:<11} {}\n",
            if caller.flagged() { "!" } else { " " },
            cut(&caller.caller, 22),
            caller.counts.v1_requests,
            caller.counts.v2_requests,
            caller.counts.token_requests,
            when(&caller.first_seen, one_day),
            when(&caller.last_seen, one_day),
            program,
        ));
        if caller.flagged() {
            out.push_str(&flagged_detail(caller));
        }
    }
    if report.missed > 0 {
        out.push_str(&format!(
            "\nnote: {} exchanges were not counted (the tally fell behind the broker); a v1 caller may be missing\n",
            report.missed
        ));
    }
    out
}

fn flagged_detail(caller: &CallerReport) -> String {
    let mut out = String::new();
    for (index, path) in caller.v1_paths.iter().enumerate() {
        let label = if index == 0 { "v1 paths:" } else { "" };
        out.push_str(&format!(
            "     {label:<10} {} ({})\n",
            path.path, path.requests
        ));
    }
    if caller.v1_paths_unlisted > 0 {
        out.push_str(&format!(
            "     {:<10} and {} more requests to other paths\n",
            "", caller.v1_paths_unlisted
        ));
    }
    let programs: Vec<String> = caller
        .agents
        .iter()
        .filter(|agent| agent.counts.v1_requests > 0)
        .map(|agent| format!("{} ({})", agent.label(), agent.counts.v1_requests))
        .collect();
    if !programs.is_empty() {
        out.push_str(&format!(
            "     {:<10} {}\n",
            "v1 from:",
            programs.join(", ")
        ));
    }
    if let (Some(first), Some(last)) = (&caller.v1_first_seen, &caller.v1_last_seen) {
        out.push_str(&format!(
            "     {:<10} first {}, last {}\n",
            "v1 seen:",
            readable(first),
            readable(last)
        ));
    }
    out
}

/// ` (2026-12-01 10:00:01 to 10:05:00 UTC)`: the time the records cover.
fn span(callers: &[CallerReport]) -> String {
    let first = callers.iter().map(|c| c.first_seen.as_str()).min();
    let last = callers.iter().map(|c| c.last_seen.as_str()).max();
    match (first, last) {
        (Some(first), Some(last)) => {
            format!(" (seen {} to {} UTC)", readable(first), readable(last))
        }
        _ => String::new(),
    }
}

/// All times on one day: the table shows times of day only.
fn one_day(callers: &[CallerReport]) -> bool {
    let day = |time: &str| time.get(..10).map(str::to_string);
    let mut days = callers
        .iter()
        .flat_map(|c| [day(&c.first_seen), day(&c.last_seen)]);
    let first = days.next().flatten();
    days.all(|d| d == first)
}

/// `10:00:01`, or `12-01 10:00` when the report spans days.
fn when(time: &str, one_day: bool) -> String {
    let shown = if one_day {
        time.get(11..19).map(str::to_string)
    } else {
        time.get(5..16).map(|s| s.replacen('T', " ", 1))
    };
    shown.unwrap_or_else(|| time.to_string())
}

/// `2026-12-01 10:00:01` from the record format.
fn readable(time: &str) -> String {
    time.get(..19)
        .map(|s| s.replacen('T', " ", 1))
        .unwrap_or_else(|| time.to_string())
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let kept: String = text.chars().take(width - 1).collect();
        format!("{kept}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_by_the_day_they_span() {
        assert_eq!(when("2026-12-01T10:00:01.000Z", true), "10:00:01");
        assert_eq!(when("2026-12-01T10:00:01.000Z", false), "12-01 10:00");
        assert_eq!(when("odd", true), "odd");
        assert_eq!(readable("2026-12-01T10:00:01.000Z"), "2026-12-01 10:00:01");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
