//! The external-program provider (docs/architecture.md, "External provider").
//!
//! The program is run as `PROGRAM [ARGS] --method GET --path /latest/... --identity NAME
//! [--caller-ip IP] [--caller-container NAME]` with the request as JSON on stdin. It prints
//! either an envelope `{"status":200,"headers":{...},"body":"..."}` or a plain body; a plain
//! body with exit status 0 is a 200, exit status 4 a 404, anything else an error.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::cache::{Accept, Kept, SingleFlightCache};
use super::command::{run, CommandError};
use super::{Provider, ProviderAnswer, ProviderError, ProviderFuture, ProviderRequest};

/// Exit status meaning "no such path" for programs printing a plain body.
pub const NOT_FOUND_EXIT_CODE: i32 = 4;

/// Most program runs at once: a flood of distinct paths must not fork without bound.
/// Requests beyond it wait for a turn within the same timeout as the run.
const MAX_CONCURRENT_RUNS: usize = 8;
/// A turn that comes with less time left than this is given up: no program starts and
/// answers that fast, and starting one would only add to the crowd.
const SHORTEST_RUN: Duration = Duration::from_millis(50);

#[derive(Serialize, Deserialize)]
struct Envelope {
    status: u16,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: String,
}

/// The envelope text for an answer (what `imds-spoof provider` prints).
pub fn envelope_json(answer: &ProviderAnswer) -> String {
    let envelope = Envelope {
        status: answer.status,
        headers: answer.headers.iter().cloned().collect(),
        body: String::from_utf8_lossy(&answer.body).into_owned(),
    };
    serde_json::to_string(&envelope).unwrap_or_else(|_| "{\"status\":500}".to_string())
}

pub struct ExternalProvider {
    command: Vec<String>,
    timeout: Duration,
    reuse_for: Duration,
    cache: SingleFlightCache<ProviderRequest, ProviderAnswer, ProviderError>,
    turns: tokio::sync::Semaphore,
}

impl ExternalProvider {
    /// `command` is the program and its fixed arguments; it must not be empty.
    pub fn new(command: Vec<String>, timeout: Duration, reuse_for: Duration) -> Self {
        Self {
            command,
            timeout,
            reuse_for,
            cache: SingleFlightCache::default(),
            turns: tokio::sync::Semaphore::new(MAX_CONCURRENT_RUNS),
        }
    }

    fn program(&self) -> &str {
        self.command.first().map_or("", String::as_str)
    }

    async fn call(&self, request: &ProviderRequest) -> Result<ProviderAnswer, ProviderError> {
        let failure = |reason: String| ProviderError::External {
            program: self.program().to_string(),
            reason,
        };
        let mut args: Vec<String> = self.command.iter().skip(1).cloned().collect();
        args.extend([
            "--method".to_string(),
            request.method.clone(),
            "--path".to_string(),
            request.path.clone(),
            "--identity".to_string(),
            request.identity.clone(),
        ]);
        if let Some(ip) = request.caller_ip {
            args.extend(["--caller-ip".to_string(), ip.to_string()]);
        }
        if let Some(container) = &request.caller_container {
            args.extend(["--caller-container".to_string(), container.clone()]);
        }
        let stdin = serde_json::to_vec(request).map_err(|err| failure(err.to_string()))?;
        let timed_out = || ProviderError::Timeout {
            what: format!("provider program {}", self.program()),
            timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
        };
        let started = tokio::time::Instant::now();
        let _turn = tokio::time::timeout(self.timeout, self.turns.acquire())
            .await
            .map_err(|_| timed_out())?
            .map_err(|err| failure(err.to_string()))?;
        let left = self.timeout.saturating_sub(started.elapsed());
        if left < SHORTEST_RUN.min(self.timeout / 2) {
            return Err(timed_out());
        }
        let output = run(self.program(), &args, Some(&stdin), left)
            .await
            .map_err(|err| match err {
                CommandError::Timeout => timed_out(),
                other => failure(other.to_string()),
            })?;
        if let Some(answer) = parse_envelope(&output.stdout).map_err(failure)? {
            return Ok(answer);
        }
        match output.code {
            Some(0) => Ok(ProviderAnswer::ok(Bytes::from(output.stdout))),
            Some(NOT_FOUND_EXIT_CODE) => Ok(ProviderAnswer::not_found()),
            code => Err(failure(format!(
                "exited with {} {}",
                code.map_or_else(|| "a signal".to_string(), |code| format!("status {code}")),
                output.stderr_summary()
            ))),
        }
    }
}

/// An envelope is a JSON object with a `status` member; anything else is a plain body.
/// An object with `status` that is no valid envelope is the program's mistake, reported
/// rather than served as a body.
fn parse_envelope(stdout: &[u8]) -> Result<Option<ProviderAnswer>, String> {
    let Some(text) = std::str::from_utf8(stdout).ok().map(str::trim) else {
        return Ok(None);
    };
    if !text.starts_with('{') {
        return Ok(None);
    }
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str(text) else {
        return Ok(None);
    };
    if !object.contains_key("status") {
        return Ok(None);
    }
    let envelope: Envelope = serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|err| format!("printed a malformed envelope ({err})"))?;
    Ok(Some(ProviderAnswer {
        status: envelope.status,
        headers: envelope.headers.into_iter().collect(),
        body: Bytes::from(envelope.body),
    }))
}

impl Provider for ExternalProvider {
    fn answer<'a>(&'a self, request: &'a ProviderRequest) -> ProviderFuture<'a> {
        Box::pin(async move {
            // Identical requests arriving together share one run (and its failure) even
            // without reuse; with reuse, answers are kept per identity and path.
            let key = if self.reuse_for.is_zero() {
                request.clone()
            } else {
                ProviderRequest {
                    caller_ip: None,
                    caller_container: None,
                    ..request.clone()
                }
            };
            let answer = self
                .cache
                .get_or_compute(&key, Accept::Fresh, || async {
                    let answer = self.call(request).await?;
                    let until = self.cache.clock().now() + self.reuse_for;
                    Ok(Kept {
                        value: answer,
                        fresh_until: until,
                        valid_until: until,
                    })
                })
                .await;
            if self.reuse_for.is_zero() {
                self.cache.forget_if_idle(&key);
            }
            answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn request() -> ProviderRequest {
        ProviderRequest {
            method: "GET".to_string(),
            path: "/latest/meta-data/instance-id".to_string(),
            identity: "default".to_string(),
            caller_ip: None,
            caller_container: None,
        }
    }

    fn shell_provider(script: &str) -> ExternalProvider {
        ExternalProvider::new(
            vec!["sh".into(), "-c".into(), script.into(), "provider".into()],
            Duration::from_millis(500),
            Duration::ZERO,
        )
    }

    #[tokio::test]
    async fn plain_bodies_and_exit_codes() {
        let answer = shell_provider("echo -n \"$4\"")
            .answer(&request())
            .await
            .unwrap();
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, "/latest/meta-data/instance-id");
        let answer = shell_provider("exit 4").answer(&request()).await.unwrap();
        assert_eq!(answer.status, 404);
        let err = shell_provider("echo boom >&2; exit 1")
            .answer(&request())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        let err = shell_provider("sleep 5")
            .answer(&request())
            .await
            .unwrap_err();
        assert!(matches!(err, ProviderError::Timeout { .. }));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn runs_beyond_the_limit_wait_within_the_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let counter = dir.path().join("runs");
        let script = format!(
            "cat >/dev/null; echo start >> '{}'; sleep 30",
            counter.display()
        );
        let timeout = Duration::from_millis(1_500);
        let provider = Arc::new(ExternalProvider::new(
            vec!["sh".into(), "-c".into(), script, "provider".into()],
            timeout,
            Duration::ZERO,
        ));
        let started = std::time::Instant::now();
        let requests = (0..MAX_CONCURRENT_RUNS * 2).map(|n| {
            let provider = provider.clone();
            tokio::spawn(async move {
                let request = ProviderRequest {
                    path: format!("/latest/meta-data/p{n}"),
                    ..request()
                };
                provider.answer(&request).await
            })
        });
        let answers = futures_util::future::join_all(requests);
        let runs = || {
            std::fs::read_to_string(&counter)
                .map(|text| text.lines().count())
                .unwrap_or(0)
        };
        let counted = async {
            while runs() < MAX_CONCURRENT_RUNS {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Room for a ninth run to start, were the limit not holding.
            tokio::time::sleep(Duration::from_millis(300)).await;
            runs()
        };
        let (answers, running) = tokio::join!(answers, counted);
        assert_eq!(running, MAX_CONCURRENT_RUNS, "runs at once");
        assert!(started.elapsed() < timeout + Duration::from_secs(2));
        assert!(answers
            .iter()
            .all(|answer| matches!(answer, Ok(Err(ProviderError::Timeout { .. })))));
    }

    #[tokio::test]
    async fn envelopes_carry_status_and_headers() {
        let script = r#"cat >/dev/null; echo '{"status":503,"headers":{"X-A":"b"},"body":"busy"}'"#;
        let answer = shell_provider(script).answer(&request()).await.unwrap();
        assert_eq!(answer.status, 503);
        assert_eq!(answer.headers, vec![("X-A".to_string(), "b".to_string())]);
        assert_eq!(answer.body, "busy");
    }
}
