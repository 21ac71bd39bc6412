//! Running a helper program with a deadline and a cap on what it prints, so a hanging or
//! babbling program never hangs a request or eats the host's memory.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Most stdout a helper may print: credentials and IMDS answers are a few kilobytes, so
/// anything near this is a runaway program, not an answer.
pub const STDOUT_LIMIT: usize = 1024 * 1024;
/// Stderr kept for error messages; the rest is read and dropped so a chatty program
/// (`--debug`) is not blocked on a full pipe.
const STDERR_KEPT: usize = 64 * 1024;

#[derive(Debug)]
pub struct CommandOutput {
    /// Exit code; None when a signal ended the program.
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    /// The first line of stderr, for error messages.
    pub fn stderr_summary(&self) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let line = text
            .lines()
            .find(|line| !line.trim().is_empty())
            .unwrap_or("");
        line.chars().take(200).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("could not start: {0}")]
    Spawn(std::io::Error),
    #[error("failed while running: {0}")]
    Io(std::io::Error),
    #[error("timed out")]
    Timeout,
    #[error("printed more than {} on stdout; stopped it", size(*limit))]
    TooMuchOutput { limit: usize },
}

fn size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Runs `program args...`, feeding `stdin`, and kills its whole process group when it
/// outlives `timeout` or prints more than [`STDOUT_LIMIT`] (a shell's children would
/// otherwise keep running).
pub async fn run(
    program: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<CommandOutput, CommandError> {
    run_capped(program, args, stdin, timeout, STDOUT_LIMIT).await
}

async fn run_capped(
    program: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
    stdout_limit: usize,
) -> Result<CommandOutput, CommandError> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(CommandError::Spawn)?;
    let pid = child.id();
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let input = input.to_vec();
        // Written from a task so a program that never reads stdin cannot block us.
        tokio::spawn(async move {
            let _ = pipe.write_all(&input).await;
        });
    }
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let finished = async {
        let (stdout, stderr) = tokio::try_join!(
            read_capped(stdout, stdout_limit, Overflow::Fail),
            read_capped(stderr, STDERR_KEPT, Overflow::Drop),
        )?;
        let status = child.wait().await.map_err(CommandError::Io)?;
        Ok(CommandOutput {
            code: status.code(),
            stdout,
            stderr,
        })
    };
    let result = match tokio::time::timeout(timeout, finished).await {
        Ok(result) => result,
        Err(_) => Err(CommandError::Timeout),
    };
    if result.is_err() {
        kill_group(pid);
    }
    result
}

/// What to do with output past the cap.
#[derive(Clone, Copy)]
enum Overflow {
    Fail,
    Drop,
}

/// Reads a pipe to its end, keeping at most `limit` bytes.
async fn read_capped(
    pipe: Option<impl AsyncRead + Unpin>,
    limit: usize,
    overflow: Overflow,
) -> Result<Vec<u8>, CommandError> {
    let mut kept = Vec::new();
    let Some(mut pipe) = pipe else {
        return Ok(kept);
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let read = pipe.read(&mut chunk).await.map_err(CommandError::Io)?;
        if read == 0 {
            return Ok(kept);
        }
        let room = limit.saturating_sub(kept.len());
        if read > room {
            if let Overflow::Fail = overflow {
                return Err(CommandError::TooMuchOutput { limit });
            }
        }
        kept.extend_from_slice(&chunk[..read.min(room)]);
    }
}

/// Runs a command line through `sh -c`, as `credential_process` users expect.
pub async fn run_shell(
    command_line: &str,
    timeout: Duration,
) -> Result<CommandOutput, CommandError> {
    run(
        "sh",
        &["-c".to_string(), command_line.to_string()],
        None,
        timeout,
    )
    .await
}

/// A command line fit for logs and error messages: arguments that may carry a secret
/// (`--token X`, `password=X`, long opaque words) become `****`, because people do put
/// keys on `credential_process` lines and errors end up in logs and the dashboard.
pub fn describe_command_line(command_line: &str) -> String {
    let mut shown = Vec::new();
    let mut hide_next = false;
    for word in command_line.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        let secret_name = ["secret", "token", "passw", "key", "auth", "credential"]
            .iter()
            .any(|hint| lower.contains(hint));
        let opaque = word.len() > 20
            && !word.starts_with(['/', '.', '~', '-'])
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().any(|c| c.is_ascii_alphabetic());
        if hide_next || opaque {
            shown.push("****".to_string());
            hide_next = false;
        } else if let Some((name, _)) = word.split_once('=').filter(|_| secret_name) {
            shown.push(format!("{name}=****"));
        } else {
            shown.push(word.to_string());
            // `--token VALUE`: the flag stays, its value goes.
            hide_next = word.starts_with('-') && secret_name && !word.contains('=');
        }
    }
    shown.join(" ")
}

// The crate's one `unsafe` site: std can signal a child but not its process group, and a
// shell's children (the helper it started) must die with it at the deadline.
#[cfg(unix)]
#[allow(unsafe_code)]
fn kill_group(pid: Option<u32>) {
    if let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok()) {
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: Option<u32>) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn captures_output_and_exit_code() {
        let output = run_shell("echo out; echo err >&2; exit 3", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(output.code, Some(3));
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr_summary(), "err");
    }

    #[tokio::test]
    async fn a_hanging_program_is_killed_at_the_deadline() {
        let started = std::time::Instant::now();
        let result = run_shell("sleep 30", Duration::from_millis(200)).await;
        assert!(matches!(result, Err(CommandError::Timeout)));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn endless_output_is_stopped_at_the_cap() {
        let started = std::time::Instant::now();
        let result = run_shell("yes", Duration::from_secs(20)).await;
        let err = result.unwrap_err();
        assert!(matches!(err, CommandError::TooMuchOutput { .. }), "{err}");
        assert!(err.to_string().contains("printed more than 1 MiB"), "{err}");
        // Stopped when the cap is reached, not at the deadline.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn output_exactly_at_the_cap_is_kept() {
        let output = run_capped(
            "sh",
            &["-c".into(), "printf 0123456789".into()],
            None,
            Duration::from_secs(5),
            10,
        )
        .await
        .unwrap();
        assert_eq!(output.stdout, b"0123456789");
        let err = run_capped(
            "sh",
            &["-c".into(), "printf 0123456789X".into()],
            None,
            Duration::from_secs(5),
            10,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, CommandError::TooMuchOutput { limit: 10 }));
    }

    #[tokio::test]
    async fn endless_stderr_is_dropped_not_kept() {
        let output = run_shell(
            "head -c 3000000 /dev/zero | tr '\\0' x >&2; echo done",
            Duration::from_secs(20),
        )
        .await
        .unwrap();
        assert_eq!(output.stdout, b"done\n");
        assert_eq!(output.stderr.len(), STDERR_KEPT);
    }

    #[test]
    fn command_lines_in_messages_hide_secrets() {
        assert_eq!(
            describe_command_line(
                "aws configure export-credentials --profile dev --format process"
            ),
            "aws configure export-credentials --profile dev --format process"
        );
        assert_eq!(
            describe_command_line("vault-creds --token s.abc PASSWORD=hunter2 get"),
            "vault-creds --token **** PASSWORD=**** get"
        );
        assert_eq!(
            describe_command_line("echo wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            "echo ****"
        );
        assert_eq!(
            describe_command_line("/usr/local/bin/creds --secret-key=abc"),
            "/usr/local/bin/creds --secret-key=****"
        );
    }
}
