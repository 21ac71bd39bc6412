//! What environment-dependent tests need from the machine, decided in one place.
//!
//! ```ignore
//! if !require(Need::Docker, "up_down_status_against_the_real_engine") {
//!     return;
//! }
//! ```
//!
//! When the need is met, `require` returns true. When it is not:
//! - if the environment requires it (`CI=true` requires every need; otherwise the need's own
//!   variable, [`Need::variable`], set to `1` or `true`), the test fails with the reason;
//! - otherwise `require` writes `SKIPPED <test>: <reason>` to the process's real stderr and
//!   returns false, and the test returns early.
//!
//! libtest still reports such a test as `ok`: it has no "skipped" outcome for a test that
//! started. The line goes around libtest's capture (which only takes `print!`/`eprintln!`
//! output), so it reaches the terminal even for passing tests, and `scripts/test.sh` counts
//! these lines and names the skipped tests in its summary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::docker::{CLIENT_IMAGE, NGINX_IMAGE};

/// The marker `scripts/test.sh` counts.
pub const SKIPPED: &str = "SKIPPED";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A Docker engine that answers `docker info`.
    Docker,
    /// The images `scripts/offline-images.sh` builds, present on the engine.
    OfflineImages,
    /// The venv with botocore, boto3 and ec2-metadata, named by `IMDS_SPOOF_PYTHON`.
    PythonClients,
    Tmux,
    Curl,
    Openssl,
    /// `docker-compose` (the README's compose examples are run as written).
    Compose,
    /// Root, with `runuser` to act as another user (permission tests).
    Root,
    /// Rootful Podman's API at /run/podman/podman.sock with the offline images
    /// (`scripts/podman-setup.sh` prepares it).
    PodmanRootful,
    /// Rootless Podman's API for the user [`PODMAN_USER`], with the offline images
    /// (`scripts/podman-setup.sh --rootless imds-spoof-podman` prepares it).
    PodmanRootless,
}

impl Need {
    /// The variable that turns this need's skip into a failure (besides `CI=true`).
    pub fn variable(self) -> &'static str {
        match self {
            Need::Docker | Need::OfflineImages | Need::PodmanRootful | Need::PodmanRootless => {
                "IMDS_SPOOF_REQUIRE_DOCKER"
            }
            Need::PythonClients => "IMDS_SPOOF_REQUIRE_CLIENTS",
            Need::Tmux | Need::Curl | Need::Openssl | Need::Compose | Need::Root => {
                "IMDS_SPOOF_REQUIRE_TOOLS"
            }
        }
    }

    /// True when a missing `self` must fail the test.
    pub fn is_required(self) -> bool {
        flag("CI") || flag(self.variable())
    }

    /// Why the need is not met, or None when it is.
    pub fn missing(self) -> Option<String> {
        match self {
            Need::Docker => docker_missing(),
            Need::OfflineImages => docker_missing().or_else(|| {
                let absent: Vec<&str> = [NGINX_IMAGE, CLIENT_IMAGE]
                    .into_iter()
                    .filter(|image| !image_present(image))
                    .collect();
                (!absent.is_empty()).then(|| {
                    format!(
                        "{} missing (bash scripts/offline-images.sh builds them)",
                        absent.join(" and ")
                    )
                })
            }),
            Need::PythonClients => python_path().err(),
            Need::PodmanRootful => podman_rootful_missing(),
            Need::PodmanRootless => podman_rootless_missing(),
            Need::Tmux => program_missing("tmux", "-V"),
            Need::Curl => program_missing("curl", "--version"),
            Need::Openssl => program_missing("openssl", "version"),
            Need::Compose => program_missing("docker-compose", "version"),
            Need::Root => root_missing(),
        }
    }
}

/// True when `need` is met. Otherwise fails the test if the environment requires the need,
/// or reports the skip (see the module documentation) and returns false.
pub fn require(need: Need, test: &str) -> bool {
    let Some(reason) = need.missing() else {
        return true;
    };
    if need.is_required() {
        let because = if flag("CI") {
            "CI=true".to_string()
        } else {
            format!("{}=1", need.variable())
        };
        panic!("{test}: {reason}, and {because} requires it");
    }
    report_skip(
        test,
        &format!("{reason}; {}=1 makes this a failure", need.variable()),
    );
    false
}

/// `require` for each need in turn; false at the first one that is missing.
pub fn require_all(needs: &[Need], test: &str) -> bool {
    needs.iter().all(|need| require(*need, test))
}

/// The venv python when the Python clients are available; None (skip reported) otherwise.
pub fn python(test: &str) -> Option<PathBuf> {
    if !require(Need::PythonClients, test) {
        return None;
    }
    python_path().ok()
}

/// Writes `SKIPPED <test>: <reason>` to the real stderr. For a part of a test that cannot
/// run here for a reason no [`Need`] covers (not root, say); prefer [`require`].
pub fn report_skip(test: &str, reason: &str) {
    // One write of the whole line, so it does not interleave with libtest's own output.
    let line = format!("{SKIPPED} {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

fn flag(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|value| value == "1" || value.eq_ignore_ascii_case("true"))
}

fn python_path() -> Result<PathBuf, String> {
    let Some(value) = std::env::var_os("IMDS_SPOOF_PYTHON").filter(|value| !value.is_empty())
    else {
        return Err(
            "IMDS_SPOOF_PYTHON is unset (run `bash scripts/test.sh`, or export \
             IMDS_SPOOF_PYTHON=\"$(bash scripts/python-env.sh | tail -n1)\")"
                .to_string(),
        );
    };
    let path = PathBuf::from(value);
    // Set but wrong is a mistake in the environment, not an absent client: never a skip.
    assert!(
        path.exists(),
        "IMDS_SPOOF_PYTHON={} does not exist (run scripts/python-env.sh)",
        path.display()
    );
    Ok(path)
}

fn docker_missing() -> Option<String> {
    let info = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .output();
    match info {
        Ok(out) if out.status.success() => None,
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|line| !line.trim().is_empty());
            Some(format!(
                "no Docker engine ({})",
                first.unwrap_or("docker info failed").trim()
            ))
        }
        Err(err) => Some(format!("no docker CLI ({err})")),
    }
}

fn image_present(image: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn program_missing(program: &str, version_flag: &str) -> Option<String> {
    let ran = Command::new(program)
        .arg(version_flag)
        .stdin(Stdio::null())
        .output();
    match ran {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!(
            "`{program} {version_flag}` failed ({})",
            out.status
        )),
        Err(_) => Some(format!(
            "{program} is not installed (apt-get install -y {program})"
        )),
    }
}

/// The path of `program` on PATH, if any.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| Path::new(candidate).is_file())
}

/// Why this process cannot act as root and as another user, if it cannot.
/// This process runs as root (its effective user id is 0).
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find(|line| line.starts_with("Uid:"))
        .and_then(|line| line.split_whitespace().nth(2))
        .and_then(|uid| uid.parse::<u32>().ok());
    euid == Some(0)
}

fn root_missing() -> Option<String> {
    if !is_root() {
        return Some("not running as root".to_string());
    }
    let runuser = ["/usr/sbin/runuser", "/sbin/runuser"]
        .iter()
        .any(|path| std::path::Path::new(path).exists());
    (!runuser).then(|| "runuser is missing (util-linux)".to_string())
}

/// Why rootful Podman cannot be used here, if it cannot: its API must answer on its socket
/// with both offline images loaded.
fn podman_rootful_missing() -> Option<String> {
    if !api_answers(PODMAN_ROOTFUL_SOCKET) {
        return Some(format!(
            "Podman's API does not answer at {PODMAN_ROOTFUL_SOCKET} (bash scripts/podman-setup.sh starts it)"
        ));
    }
    let absent: Vec<&str> = [NGINX_IMAGE, CLIENT_IMAGE]
        .into_iter()
        .filter(|image| {
            !std::process::Command::new("podman")
                .args(["image", "exists", &format!("localhost/{image}")])
                .status()
                .is_ok_and(|status| status.success())
        })
        .collect();
    (!absent.is_empty()).then(|| {
        format!(
            "{} missing in Podman (bash scripts/podman-setup.sh loads them)",
            absent.join(" and ")
        )
    })
}

/// An engine API answers `GET /_ping` on this unix socket.
fn api_answers(socket: &str) -> bool {
    std::process::Command::new("curl")
        .args(["-sf", "--max-time", "5", "--unix-socket", socket])
        .arg("http://d/_ping")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The user rootless Podman runs as in the tests.
pub const PODMAN_USER: &str = "imds-spoof-podman";

/// Why rootless Podman cannot be used here, if it cannot.
fn podman_rootless_missing() -> Option<String> {
    let Some(uid) = user_id(PODMAN_USER) else {
        return Some(format!(
            "no user {PODMAN_USER} (bash scripts/podman-setup.sh --rootless {PODMAN_USER} makes one)"
        ));
    };
    let socket = format!("/run/user/{uid}/podman/podman.sock");
    (!api_answers(&socket)).then(|| {
        format!(
            "rootless Podman's API does not answer at {socket} (bash scripts/podman-setup.sh --rootless {PODMAN_USER} starts it)"
        )
    })
}

/// A user's numeric id, from `id -u`.
pub fn user_id(user: &str) -> Option<u32> {
    let out = std::process::Command::new("id")
        .args(["-u", user])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// Rootful Podman's API socket.
pub const PODMAN_ROOTFUL_SOCKET: &str = "/run/podman/podman.sock";
