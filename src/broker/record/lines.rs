//! The line per request that `up` and `serve` print on stderr, made off the request's path:
//! a task follows the recorder's stream, formats records with plain writes (no tracing
//! machinery per request) and writes them in batches. A request costs its record and a
//! hand-off to the printer's queue; when the printer falls behind, lines are dropped and counted, never
//! queued without bound.

use serde::Serialize;

use super::entry::ExchangeRecord;
use super::recorder::Recorder;
use super::ring::StreamError;
use crate::digits::{push_decimal, push_ip};

/// The tracing target the lines carry, so filters (`IMDS_SPOOF_LOG=warn`) and readers
/// (`grep imds_spoof::requests`) treat them as before.
pub const TARGET: &str = "imds_spoof::requests";
/// One write at most this large: at or under PIPE_BUF, so other writers to the same stderr
/// never split a line of ours (and ours never split theirs).
const MAX_WRITE: usize = 4096;

/// How the lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// `TIME  INFO imds_spoof::requests: GET /path v2 200 41us caller=IP container=NAME identity=ID (origin)`
    Text,
    /// One JSON object per line, shaped like tracing-subscriber's JSON lines.
    Json,
}

/// Prints a line per exchange the recorder sees, until the recorder is gone (its stream
/// closes and the thread ends by itself; the handle is only for callers that wait on it). Nothing is
/// started when the log filter hides the requests target. The printer is a thread of its
/// own: a blocked stderr (a paused terminal) stalls it, never the broker's runtime, and a
/// write costs one system call, not a trip through tokio's blocking pool.
pub fn spawn_request_lines(
    recorder: &Recorder,
    format: LineFormat,
) -> Option<std::thread::JoinHandle<()>> {
    if !tracing::enabled!(target: "imds_spoof::requests", tracing::Level::INFO) {
        return None;
    }
    let mut stream = recorder.subscribe();
    std::thread::Builder::new()
        .name("request-lines".into())
        .spawn(move || {
            let mut batch = String::with_capacity(MAX_WRITE);
            loop {
                let first = match stream.blocking_recv() {
                    Ok(record) => record,
                    Err(StreamError::Missed(missed)) => {
                        tracing::warn!(
                            "{missed} request lines dropped: the log could not keep up (the records are complete)"
                        );
                        continue;
                    }
                    Err(StreamError::Closed | StreamError::Empty) => return,
                };
                push_line(&mut batch, &first, format);
                // Let a busy broker's next lines gather: one wake-up and one write per
                // window instead of per request (the printer shares the broker's cores).
                std::thread::sleep(super::ring::READER_GATHER);
                while let Ok(record) = stream.try_recv() {
                    let before = batch.len();
                    push_line(&mut batch, &record, format);
                    if batch.len() > MAX_WRITE {
                        let line = batch.split_off(before);
                        if write_out(&batch).is_err() {
                            return;
                        }
                        batch = line;
                    }
                }
                if write_out(&batch).is_err() {
                    return;
                }
                batch.clear();
            }
        })
        .ok()
}

fn write_out(batch: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::io::stderr().lock().write_all(batch.as_bytes())
}

fn push_line(out: &mut String, record: &ExchangeRecord, format: LineFormat) {
    match format {
        LineFormat::Text => text_line(out, record),
        LineFormat::Json => json_line(out, record),
    }
}

/// Plain pushes rather than `write!`: the printer shares the broker's core, and the
/// formatting machinery cost more than the rest of the line.
fn text_line(out: &mut String, record: &ExchangeRecord) {
    out.push_str(&record.time);
    out.push_str("  INFO ");
    out.push_str(TARGET);
    out.push_str(": ");
    message(out, record);
    out.push_str(" caller=");
    if let Some(ip) = record.caller_ip {
        push_ip(out, ip);
    }
    out.push_str(" container=");
    out.push_str(record.caller_container.as_deref().unwrap_or("-"));
    out.push_str(" identity=");
    out.push_str(&record.identity);
    out.push_str(" (");
    out.push_str(record.identity_origin.as_str());
    out.push_str(")\n");
}

/// `GET /path v2 200 41us`.
fn message(out: &mut String, record: &ExchangeRecord) {
    out.push_str(&record.method);
    out.push(' ');
    out.push_str(&record.path);
    out.push(' ');
    out.push_str(record.protocol());
    out.push(' ');
    push_decimal(out, u64::from(record.status));
    out.push(' ');
    push_decimal(out, record.latency_us);
    out.push_str("us");
}

#[derive(Serialize)]
struct JsonLine<'a> {
    timestamp: &'a str,
    level: &'static str,
    fields: JsonFields<'a>,
    target: &'static str,
}

#[derive(Serialize)]
struct JsonFields<'a> {
    message: String,
    caller: String,
    container: &'a str,
    identity: &'a str,
    identity_origin: &'static str,
}

fn json_line(out: &mut String, record: &ExchangeRecord) {
    let mut text = String::new();
    message(&mut text, record);
    let line = JsonLine {
        timestamp: &record.time,
        level: "INFO",
        fields: JsonFields {
            message: text,
            caller: record
                .caller_ip
                .map(|ip| ip.to_string())
                .unwrap_or_default(),
            container: record.caller_container.as_deref().unwrap_or("-"),
            identity: &record.identity,
            identity_origin: record.identity_origin.as_str(),
        },
        target: TARGET,
    };
    // Plain data: serialising it cannot fail.
    if let Ok(json) = serde_json::to_string(&line) {
        out.push_str(&json);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_lines_carry_what_readers_look_for() {
        let mut record = ExchangeRecord::sample(7);
        record.caller_container = Some("app-1".into());
        let mut text = String::new();
        text_line(&mut text, &record);
        assert!(text.starts_with(&record.time), "{text}");
        assert!(text.contains("INFO imds_spoof::requests: GET "), "{text}");
        assert!(
            text.contains(" container=app-1 identity=default (active)\n"),
            "{text}"
        );
        let mut json = String::new();
        json_line(&mut json, &record);
        let value: serde_json::Value = serde_json::from_str(json.trim_end()).unwrap();
        assert_eq!(value["target"], TARGET);
        assert_eq!(value["fields"]["container"], "app-1");
        assert_eq!(value["fields"]["identity_origin"], "active");
        assert!(json.ends_with('\n') && json.matches('\n').count() == 1);
    }

    #[test]
    fn a_text_line_writes_numbers_and_addresses_as_display_does() {
        let mut record = ExchangeRecord::sample(7);
        record.time = "2026-12-01T23:00:00.123Z".into();
        record.caller_ip = Some("169.254.0.9".parse().unwrap());
        record.status = 404;
        record.latency_us = 41;
        let mut text = String::new();
        text_line(&mut text, &record);
        assert_eq!(
            text,
            "2026-12-01T23:00:00.123Z  INFO imds_spoof::requests: GET / v1 404 41us caller=169.254.0.9 container=- identity=default (active)\n"
        );
    }
}
