//! Running a helper program with a deadline, so a hanging program never hangs a request.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

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
}

/// Runs `program args...`, feeding `stdin`, and kills its whole process group when it
/// outlives `timeout` (a shell's children would otherwise keep running).
pub async fn run(
    program: &str,
    args: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
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
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(CommandOutput {
            code: output.status.code(),
            stdout: output.stdout,
            stderr: output.stderr,
        }),
        Ok(Err(err)) => Err(CommandError::Io(err)),
        Err(_) => {
            kill_group(pid);
            Err(CommandError::Timeout)
        }
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
}
