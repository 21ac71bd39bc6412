//! Every exchange the broker answers, kept in a bounded ring, streamed to subscribers
//! (the dashboard) and optionally appended to a JSON-lines file with secrets masked.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::entry::ExchangeRecord;
use super::ring::{Readers, RecordStream, ShardedRing};

/// Records waiting for the request-log writer at most. Beyond this the writer is not
/// keeping up and new records are dropped (and counted) rather than queued: an unbounded
/// queue grew by hundreds of megabytes at full load (issue 9, item 8).
const LOG_QUEUE: usize = 4096;
/// Records the writer takes from the queue for one write.
const LOG_BATCH: usize = 256;
/// The writer reports drops at most this often.
const DROP_REPORT_EVERY: Duration = Duration::from_secs(1);

/// The ring, the readers' streams and the log file; recording takes no lock that other
/// requests take too (`ring.rs`).
pub struct Recorder {
    ring: ShardedRing,
    next_id: AtomicU64,
    readers: Readers,
    log_file: Option<mpsc::Sender<Arc<ExchangeRecord>>>,
    /// Records the request log lost because its queue was full.
    log_dropped: Arc<AtomicU64>,
}

impl Recorder {
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: ShardedRing::new(capacity),
            next_id: AtomicU64::new(1),
            readers: Readers::default(),
            log_file: None,
            log_dropped: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Also appends every exchange, masked, to a JSON-lines file (written by a background task).
    /// Only a regular file (or none yet) in an existing directory: a FIFO would block the
    /// open, a device would swallow or refuse the records.
    pub fn with_log_file(self, path: &Path) -> std::io::Result<Self> {
        crate::config::check_target(path)?;
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        // Request bodies are in it (masked, but still about the user's account).
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path)?;
        // A file left from an earlier run may have been created 0644.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if file.metadata()?.permissions().mode() & 0o077 != 0 {
                file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            }
        }
        Ok(self.with_log_writer(tokio::fs::File::from_std(file), path.to_path_buf()))
    }

    /// Feeds the request log's bounded queue to a writer task on `sink`.
    fn with_log_writer<W>(mut self, sink: W, path: PathBuf) -> Self
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, receiver) = mpsc::channel(LOG_QUEUE);
        tokio::spawn(write_log(sink, path, receiver, self.log_dropped.clone()));
        self.log_file = Some(sender);
        self
    }

    /// Records the request log dropped because its writer could not keep up (0 without
    /// a log file), for the dashboard.
    pub fn log_dropped(&self) -> u64 {
        self.log_dropped.load(Ordering::Relaxed)
    }

    /// Records waiting for the request-log writer now (never more than [`LOG_QUEUE`]).
    #[cfg(test)]
    fn log_queued(&self) -> usize {
        self.log_file
            .as_ref()
            .map_or(0, |sender| sender.max_capacity() - sender.capacity())
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn record(&self, record: ExchangeRecord) {
        let record = Arc::new(record);
        if let Some(log) = &self.log_file {
            // Never waits: a request is not slowed by the log, the log loses lines instead.
            if let Err(mpsc::error::TrySendError::Full(_)) = log.try_send(record.clone()) {
                self.log_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        // No reader is fine: the dashboard may not be open.
        self.readers.send(&record);
        self.ring.push(record);
    }

    /// The exchanges kept, oldest first.
    pub fn snapshot(&self) -> Vec<Arc<ExchangeRecord>> {
        self.ring.snapshot()
    }

    /// Every exchange recorded from now on, in order (a reader that falls 16,384 behind
    /// is told how many it missed; the ring still has them).
    pub fn subscribe(&self) -> RecordStream {
        self.readers.subscribe()
    }
}

/// Drains the queue in batches, one write per batch, and says how many records were
/// dropped since its last report (at most once a second, also when the queue is idle).
async fn write_log<W>(
    mut sink: W,
    path: PathBuf,
    mut records: mpsc::Receiver<Arc<ExchangeRecord>>,
    dropped: Arc<AtomicU64>,
) where
    W: AsyncWrite + Unpin,
{
    let mut batch = Vec::with_capacity(LOG_BATCH);
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut reported = 0u64;
    let mut last_report = Instant::now();
    loop {
        let received = if reported == dropped.load(Ordering::Relaxed) {
            records.recv_many(&mut batch, LOG_BATCH).await
        } else {
            // Drops not reported yet: wake in time to report them even if nothing comes.
            let left = DROP_REPORT_EVERY.saturating_sub(last_report.elapsed());
            tokio::time::timeout(left, records.recv_many(&mut batch, LOG_BATCH))
                .await
                .unwrap_or(usize::MAX)
        };
        if received == 0 {
            // Every sender is gone: the recorder was dropped.
            report_drops(&path, &dropped, &mut reported);
            return;
        }
        if last_report.elapsed() >= DROP_REPORT_EVERY {
            report_drops(&path, &dropped, &mut reported);
            last_report = Instant::now();
        }
        if batch.is_empty() {
            continue;
        }
        buffer.clear();
        for record in batch.drain(..) {
            if serde_json::to_writer(&mut buffer, &record.masked()).is_ok() {
                buffer.push(b'\n');
            }
        }
        let written = match sink.write_all(&buffer).await {
            Ok(()) => sink.flush().await,
            Err(err) => Err(err),
        };
        if let Err(err) = written {
            tracing::error!(path = %path.display(), "request log not written: {err}");
            return;
        }
    }
}

fn report_drops(path: &Path, dropped: &AtomicU64, reported: &mut u64) {
    let total = dropped.load(Ordering::Relaxed);
    if total > *reported {
        tracing::warn!(
            path = %path.display(),
            dropped = total - *reported,
            dropped_total = total,
            "request log falling behind: records dropped"
        );
        *reported = total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::record::entry::*;
    use crate::broker::record::mask::*;
    use crate::config::Door;

    #[test]
    fn masks_credentials_in_bodies() {
        let body = "{\n  \"AccessKeyId\" : \"AKIAEXAMPLE\",\n  \"SecretAccessKey\" : \"verysecretvalue1234\",\n  \"Token\" : \"tokentokentoken9876\"\n}";
        let masked = mask_json_secrets(body);
        assert!(masked.contains("AKIAEXAMPLE"));
        assert!(!masked.contains("verysecret"));
        assert!(masked.contains("****1234"));
        assert!(masked.contains("****9876"));
    }

    const BODY: &str = "{\n  \"Code\" : \"Success\",\n  \"AccessKeyId\" : \"ASIAQQQQQQQQ\",\n  \"SecretAccessKey\" : \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\",\n  \"Token\" : \"IQoJb3JpZ2luX2VjEXAMPLETOKEN\"\n}";

    /// The longest run of `secret` (at least 5 characters) found in `text`.
    fn longest_secret_run(text: &str, secret: &str) -> usize {
        (5..=secret.len())
            .rev()
            .find(|len| (0..=secret.len() - len).any(|at| text.contains(&secret[at..at + len])))
            .unwrap_or(0)
    }

    #[test]
    fn cut_bodies_show_no_secret_at_any_length() {
        for cut in 0..=BODY.len() {
            let masked = mask_json_secrets(&BODY[..cut]);
            for secret in [
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "IQoJb3JpZ2luX2VjEXAMPLETOKEN",
            ] {
                assert_eq!(
                    longest_secret_run(&masked, secret),
                    0,
                    "cut at {cut}: {masked}"
                );
            }
        }
    }

    #[test]
    fn every_occurrence_is_masked() {
        let body = r#"[{"Token":"firsttokenvalue1"},{"Token": "secondtokenvalue2"},{"SessionToken":"esc\"aped-value3"}]"#;
        let masked = mask_json_secrets(body);
        assert_eq!(
            masked,
            r#"[{"Token":"****lue1"},{"Token": "****lue2"},{"SessionToken":"****lue3"}]"#
        );
        // A key with no string value is left alone.
        assert_eq!(
            mask_json_secrets(r#"{"Token": null}"#),
            r#"{"Token": null}"#
        );
    }

    #[tokio::test]
    async fn the_log_file_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("fresh.jsonl");
        let _recorder = Recorder::new(1).with_log_file(&fresh).unwrap();
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let old = dir.path().join("old.jsonl");
        std::fs::write(&old, "").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        let _recorder = Recorder::new(1).with_log_file(&old).unwrap();
        let mode = std::fs::metadata(&old).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    /// A writer that cannot keep up (its sink accepts 64 bytes, then nobody reads) leaves
    /// the queue at its bound and counts every record it could not take.
    #[tokio::test]
    async fn a_stuck_log_writer_drops_and_counts() {
        let (sink, _unread) = tokio::io::duplex(64);
        let recorder = Recorder::new(16).with_log_writer(sink, PathBuf::from("stuck.jsonl"));
        // Let the writer take its first batch and block on the sink.
        let id = recorder.next_id();
        recorder.record(ExchangeRecord::sample(id));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let sent = 20_000u64;
        for _ in 0..sent {
            let id = recorder.next_id();
            recorder.record(ExchangeRecord::sample(id));
        }
        assert_eq!(
            recorder.log_queued(),
            LOG_QUEUE,
            "queue at its bound, not beyond"
        );
        assert_eq!(recorder.log_dropped(), sent - LOG_QUEUE as u64);
        assert_eq!(recorder.snapshot().len(), 16, "the ring is unaffected");
    }

    /// Everything reaches the file, masked, when the writer keeps up.
    #[tokio::test]
    async fn the_log_file_gets_every_record_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        let recorder = Recorder::new(4).with_log_file(&path).unwrap();
        for round in 0..3 {
            for _ in 0..1000 {
                let id = recorder.next_id();
                recorder.record(ExchangeRecord {
                    request_headers: vec![("x-aws-ec2-metadata-token", "tokentokentoken1234")]
                        .into(),
                    ..ExchangeRecord::sample(id)
                });
            }
            if round < 2 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let mut lines = 0;
        for _ in 0..200 {
            lines = std::fs::read_to_string(&path).unwrap().lines().count();
            if lines == 3000 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(lines, 3000);
        assert_eq!(recorder.log_dropped(), 0);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("tokentoken"));
        assert!(text.contains("****1234"));
    }

    #[test]
    fn door_records_mask_authorization_and_name_their_door() {
        let record = ExchangeRecord {
            door: Door::Eks,
            request_headers: vec![("Authorization", "eyJhbGciOiJIUzI1NiJ9.e30.sig9876")].into(),
            ..ExchangeRecord::sample(1)
        };
        let masked = record.masked();
        assert_eq!(
            masked.request_headers.iter().next(),
            Some(("Authorization", "****9876"))
        );
        assert_eq!(masked.protocol(), "eks");
        let json = serde_json::to_value(&masked).unwrap();
        assert_eq!(json["door"], "eks");
        assert_eq!(ExchangeRecord::sample(2).protocol(), "v1");
        // Lines written before the doors have no `door`: they read as IMDS.
        #[derive(serde::Deserialize)]
        struct Old {
            #[serde(default)]
            door: Door,
        }
        let old: Old = serde_json::from_str(r#"{"id":1}"#).unwrap();
        assert_eq!(old.door, Door::Imds);
    }

    #[test]
    fn ring_is_bounded() {
        let recorder = Recorder::new(2);
        for _ in 0..3 {
            let id = recorder.next_id();
            recorder.record(ExchangeRecord::sample(id));
        }
        let ids: Vec<u64> = recorder.snapshot().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![2, 3]);
    }
}
