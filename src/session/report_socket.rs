//! A running imds-spoof's IMDSv2 readiness, for `imds-spoof report`: every `up`, `serve`
//! and dashboard tallies its recorder's exchanges and answers each connection on a unix
//! socket `<base>/report-<pid>.sock` with the report as one JSON document, then closes.
//!
//! Why a unix socket in the private base (see docs/readiness.md): the broker's own
//! listeners are reachable by containers (through the proxy) and, for `serve`, by any web
//! page that can send a GET to loopback; a unix socket is neither. The base is 0700 and
//! ours, and is not the run directory that the proxy mounts, so only this user reaches it
//! (peer credentials are checked too). The server reads nothing from the caller.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::task::JoinHandle;

use crate::broker::readiness::{Report, Tally};
use crate::broker::{ExchangeRecord, Recorder, StreamError, READER_GATHER};

const PREFIX: &str = "report-";
const SUFFIX: &str = ".sock";
/// A reader that does not take the report in this time is dropped (and so is a server
/// that does not send it).
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// The most a report may be: [`Tally`] bounds it far below this.
const MAX_REPORT: u64 = 64 * 1024 * 1024;

/// The socket of this process; removed (and its tasks ended) on drop.
#[derive(Debug)]
pub struct ReportSocket {
    path: PathBuf,
    tasks: [JoinHandle<()>; 2],
}

impl ReportSocket {
    /// Starts tallying `recorder` and answering on `<base>/report-<pid>.sock`.
    pub fn start(recorder: &Arc<Recorder>) -> std::io::Result<ReportSocket> {
        Self::start_in(&super::socket::private_base()?, recorder)
    }

    /// Like [`ReportSocket::start`], in `base` (which must be private already).
    fn start_in(base: &Path, recorder: &Arc<Recorder>) -> std::io::Result<ReportSocket> {
        clear_stale(base);
        let (path, listener) = super::socket::bind_own(base, PREFIX, SUFFIX)?;
        let tally = Arc::new(Mutex::new(Tally::new()));
        let follow = tokio::spawn(follow(recorder.clone(), tally.clone()));
        let answer = tokio::spawn(answer(listener, tally));
        Ok(ReportSocket {
            path,
            tasks: [follow, answer],
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ReportSocket {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Tallies what the recorder holds already, then every exchange it streams. Exchanges the
/// stream ran ahead of are counted as missed (the report says so).
async fn follow(recorder: Arc<Recorder>, tally: Arc<Mutex<Tally>>) {
    let mut stream = recorder.subscribe();
    let held = recorder.snapshot();
    let held_up_to = held.last().map_or(0, |record| record.id);
    {
        let mut tally = lock(&tally);
        for record in &held {
            tally.note_record(record);
        }
    }
    loop {
        match stream.recv().await {
            Ok(record) => note_new(&mut lock(&tally), &record, held_up_to),
            Err(StreamError::Missed(missed)) => lock(&tally).note_missed(missed),
            Err(StreamError::Closed | StreamError::Empty) => return,
        }
        // Let a busy broker's exchanges gather (a report lags the broker by this much).
        tokio::time::sleep(READER_GATHER).await;
        let mut counting = lock(&tally);
        loop {
            match stream.try_recv() {
                Ok(record) => note_new(&mut counting, &record, held_up_to),
                Err(StreamError::Missed(missed)) => counting.note_missed(missed),
                Err(StreamError::Empty) => break,
                Err(StreamError::Closed) => return,
            }
        }
    }
}

/// Counts `record` unless the snapshot at the start held it already.
fn note_new(tally: &mut Tally, record: &ExchangeRecord, held_up_to: u64) {
    if record.id > held_up_to {
        tally.note_record(record);
    }
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    tally.lock().unwrap_or_else(|poison| poison.into_inner())
}

async fn answer(listener: UnixListener, tally: Arc<Mutex<Tally>>) {
    loop {
        let mut stream = super::socket::accept_own(&listener, "report socket").await;
        let body = match serde_json::to_vec(&lock(&tally).report()) {
            Ok(body) => body,
            Err(err) => {
                tracing::warn!("report socket: report not encoded: {err}");
                continue;
            }
        };
        tokio::spawn(async move {
            let sent = tokio::time::timeout(IO_TIMEOUT, async {
                stream.write_all(&body).await?;
                stream.shutdown().await
            })
            .await;
            if let Ok(Err(err)) = sent {
                tracing::debug!("report socket: report not sent: {err}");
            }
        });
    }
}

fn own_uid() -> Option<u32> {
    super::socket::own_uid().ok()
}

/// Removes report sockets no process accepts on and whose process is gone (a killed
/// run's); returns them. A live process may be between bind and listen: its socket stays.
pub(super) fn clear_stale(base: &Path) -> Vec<PathBuf> {
    report_sockets(base)
        .into_iter()
        .filter(|path| std::os::unix::net::UnixStream::connect(path).is_err())
        .filter(|path| !owner_alive(path))
        .filter(|path| std::fs::remove_file(path).is_ok())
        .collect()
}

fn owner_alive(path: &Path) -> bool {
    super::socket::owner_alive(path, PREFIX, SUFFIX)
}

fn report_sockets(base: &Path) -> Vec<PathBuf> {
    super::socket::sockets_named(base, PREFIX, SUFFIX)
}

/// Why the running processes' reports could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: {source}", path.display())]
    Base {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} answered no readiness report: {reason}", path.display())]
    Answer { path: PathBuf, reason: String },
}

/// The reports of every imds-spoof of this user that is running now (none is no error).
pub async fn read_running() -> Result<Vec<Report>, ReadError> {
    let base = super::socket::base_path().map_err(|source| ReadError::Base {
        path: PathBuf::from("the runtime directory"),
        source,
    })?;
    read_running_in(base).await
}

async fn read_running_in(base: PathBuf) -> Result<Vec<Report>, ReadError> {
    match std::fs::symlink_metadata(&base) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(ReadError::Base { path: base, source }),
        // Someone else's directory could hold sockets that answer anything.
        Ok(meta) if !meta.is_dir() || Some(meta.uid()) != own_uid() => {
            return Err(ReadError::Base {
                path: base,
                source: std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    "not a directory of this user: remove it",
                ),
            })
        }
        Ok(_) => {}
    }
    let mut reports = Vec::new();
    for path in report_sockets(&base) {
        // Refused or gone: a run that ended (or was killed) between listing and asking.
        let Ok(stream) = UnixStream::connect(&path).await else {
            continue;
        };
        let report = read_report(stream)
            .await
            .map_err(|reason| ReadError::Answer {
                path: path.clone(),
                reason,
            })?;
        reports.push(report);
    }
    Ok(reports)
}

async fn read_report(stream: UnixStream) -> Result<Report, String> {
    let mut body = Vec::new();
    tokio::time::timeout(IO_TIMEOUT, stream.take(MAX_REPORT).read_to_end(&mut body))
        .await
        .map_err(|_| format!("no answer in {} s", IO_TIMEOUT.as_secs()))?
        .map_err(|err| err.to_string())?;
    serde_json::from_slice(&body).map_err(|err| format!("not a report: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::ExchangeRecord;

    #[tokio::test]
    async fn a_running_tally_answers_and_its_socket_goes_with_it() {
        let base = tempfile::tempdir().unwrap();
        let base = base.path().to_path_buf();
        assert!(
            read_running_in(base.clone()).await.unwrap().is_empty(),
            "nothing runs yet"
        );

        let recorder = Arc::new(Recorder::new(8));
        // Held before the socket starts, and streamed after.
        recorder.record(ExchangeRecord {
            caller_ip: Some("127.0.0.1".parse().unwrap()),
            ..ExchangeRecord::sample(1)
        });
        let socket = ReportSocket::start_in(&base, &recorder).unwrap();
        let mode = std::fs::metadata(socket.path()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        tokio::time::sleep(Duration::from_millis(50)).await;
        recorder.record(ExchangeRecord {
            caller_ip: Some("127.0.0.1".parse().unwrap()),
            ..ExchangeRecord::sample(2)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;

        let reports = read_running_in(base.clone()).await.unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].v1_callers, 1);
        assert_eq!(reports[0].callers[0].counts.v1_requests, 2);

        // A killed run's socket: nobody accepts on it; the next start (or `down`) removes it.
        // (pid 0 is never a process's.)
        let dead = base.join("report-0.sock");
        drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
        assert_eq!(read_running_in(base.clone()).await.unwrap().len(), 1);
        assert_eq!(clear_stale(&base), vec![dead]);

        let path = socket.path().to_path_buf();
        drop(socket);
        assert!(!path.exists());
        assert!(read_running_in(base).await.unwrap().is_empty());
    }
}
