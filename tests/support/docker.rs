//! For the tests that drive the real Docker engine (after `require(Need::Docker, ..)`): the
//! offline images, a lock (they all use the one network name and subnet), the `up` process,
//! client containers, and cleanup of every object they create even when an assertion fails.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::server::BIN;
use super::wait::wait_until;
use super::{repo, sample};

pub const NGINX_IMAGE: &str = "imds-spoof/nginx-offline:latest";
pub const CLIENT_IMAGE: &str = "imds-spoof/client-offline:latest";
pub const TEST_LABEL: &str = "imds-spoof.test=1";
/// The command a client container runs to ask IMDS for its instance id.
pub const CURL_INSTANCE_ID: [&str; 3] = [
    "curl",
    "-s",
    "http://169.254.169.254/latest/meta-data/instance-id",
];

/// Builds the offline images with scripts/offline-images.sh when either is missing (or the
/// nginx image is older than the modules docker/nginx.conf needs).
pub fn ensure_images() {
    let present = |image: &str| {
        Command::new("docker")
            .args(["image", "inspect", image])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    // An nginx image from before the stream module (docker/nginx.conf needs it) is rebuilt.
    let current_nginx = || {
        Command::new("docker")
            .args([
                "image",
                "inspect",
                "-f",
                "{{index .Config.Labels \"imds-spoof.proxy-modules\"}}",
                NGINX_IMAGE,
            ])
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "stream")
    };
    if present(NGINX_IMAGE) && present(CLIENT_IMAGE) && current_nginx() {
        return;
    }
    let status = Command::new("bash")
        .arg(repo().join("scripts/offline-images.sh"))
        .status()
        .expect("run scripts/offline-images.sh");
    assert!(status.success(), "scripts/offline-images.sh failed");
}

/// Holds an exclusive lock for tests that use the fixed network name and subnet.
pub struct EngineLock(File);

pub fn lock_engine() -> EngineLock {
    let path = std::env::temp_dir().join("imds-spoof-docker-tests.lock");
    let file = File::create(&path).expect("lock file");
    // Blocks until the test holding it (in this or another test binary) is done.
    file.lock()
        .unwrap_or_else(|err| panic!("lock {}: {err}", path.display()));
    EngineLock(file)
}

/// Removes every container and network carrying our labels, on creation and on drop
/// (so a failing assertion leaves nothing behind).
pub struct Cleanup;

impl Cleanup {
    pub fn new() -> Cleanup {
        refuse_live_run();
        sweep();
        Cleanup
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        sweep();
    }
}

/// A developer's live imds-spoof session must not be destroyed by the tests.
fn refuse_live_run() {
    let out = docker(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"imds-spoof.pid\"}}",
        "imds-spoof-proxy",
    ]);
    if !out.status.success() {
        return;
    }
    let label = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let pid = label.split(':').next().unwrap_or("");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().next());
    if matches!(state, Some(s) if s != "Z" && s != "X") {
        panic!("an imds-spoof run (pid {pid}) is live on this engine; stop it before running the Docker tests");
    }
}

/// Removes our objects from Docker, and from rootful Podman and the rootless test user's
/// where this machine has them (a Podman test that failed half-way must not leave a
/// network on 169.254.0.0/16, or containers whose names the next run takes).
pub fn sweep() {
    sweep_in(Cli::Docker);
    if podman_here() {
        sweep_in(Cli::Podman);
        if super::need::user_id(super::need::PODMAN_USER).is_some() {
            sweep_in(Cli::PodmanRootless);
        }
    }
}

fn sweep_in(cli: Cli) {
    if cli != Cli::Docker {
        // A pod's infra container goes only with its pod.
        let filter = format!("label={TEST_LABEL}");
        let pods = cli.run(&["pod", "ps", "-q", "--filter", &filter]);
        for id in String::from_utf8_lossy(&pods.stdout).split_whitespace() {
            cli.run(&["pod", "rm", "-f", id]);
        }
    }
    for label in ["imds-spoof.managed=true", TEST_LABEL] {
        let filter = format!("label={label}");
        let ids = cli.run(&["ps", "-aq", "--filter", &filter]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            cli.run(&["rm", "-f", id]);
        }
    }
    for label in ["imds-spoof.managed=true", TEST_LABEL] {
        let filter = format!("label={label}");
        let ids = cli.run(&["network", "ls", "-q", "--filter", &filter]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            cli.run(&["network", "rm", id]);
        }
    }
}

/// Rootful Podman can be asked here: its command is installed and we are root.
fn podman_here() -> bool {
    static HERE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HERE.get_or_init(|| {
        super::need::is_root()
            && Command::new("podman")
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
    })
}

pub fn docker(args: &[&str]) -> Output {
    Cli::Docker.run(args)
}

/// Objects with our labels still on the engine (containers, networks).
pub fn leftovers() -> (String, String) {
    leftovers_in(Cli::Docker)
}

/// [`leftovers`] as `cli` lists them.
pub fn leftovers_in(cli: Cli) -> (String, String) {
    let containers = cli.run(&["ps", "-aq", "--filter", "label=imds-spoof.managed=true"]);
    let networks = cli.run(&[
        "network",
        "ls",
        "-q",
        "--filter",
        "label=imds-spoof.managed=true",
    ]);
    (
        String::from_utf8_lossy(&containers.stdout)
            .trim()
            .to_string(),
        String::from_utf8_lossy(&networks.stdout).trim().to_string(),
    )
}

/// A free TCP port (probed on loopback).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A config file: the sample with the offline proxy image and the given broker port.
pub fn config_for_engine(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, sample::sample_text_with(port, Some(NGINX_IMAGE))).expect("write config");
    path
}

/// Replaces `from` by `to` in the config file (the running process reloads it).
pub fn edit_config(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).expect("read config");
    assert!(text.contains(from), "config has no {from:?}");
    std::fs::write(path, text.replacen(from, to, 1)).expect("write config");
}

/// Where every real-engine scenario starts: the engine to itself (the lock), nothing of
/// ours on it (swept now and again on drop, before the lock is released), the offline
/// images, and a temporary directory with a configuration on a free broker port.
pub struct EngineFixture {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub port: u16,
    // Dropped in this order: the sweep runs while the lock is still held.
    _cleanup: Cleanup,
    _lock: EngineLock,
}

impl EngineFixture {
    pub fn new() -> EngineFixture {
        let lock = lock_engine();
        ensure_images();
        let cleanup = Cleanup::new();
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let config = config_for_engine(dir.path(), port);
        EngineFixture {
            dir,
            config,
            port,
            _cleanup: cleanup,
            _lock: lock,
        }
    }

    /// `up` with `--log-requests` into this directory; its stderr in `NAME.err`.
    pub fn up_logging(&self, name: &str) -> (Up, PathBuf) {
        let log = self.dir.path().join("requests.jsonl");
        let log_arg = log.to_string_lossy().to_string();
        let stderr = self.dir.path().join(format!("{name}.err"));
        let up = Up::start(&self.config, &["--log-requests", &log_arg], &stderr)
            .unwrap_or_else(|(err, code)| panic!("up failed ({code}): {err}"));
        (up, log)
    }
}

/// A running `imds-spoof up`; SIGTERM (then SIGKILL) on drop.
pub struct Up {
    pub child: Child,
    pub ready: serde_json::Value,
    pub stderr_path: PathBuf,
}

impl Up {
    /// Starts `up --json` and waits for its ready line; Err(stderr, exit code) if it exits first.
    pub fn start(config: &Path, extra: &[&str], stderr_path: &Path) -> Result<Up, (String, i32)> {
        Up::start_with_env(config, extra, stderr_path, &[])
    }

    /// [`Up::start`] with extra environment variables (`DOCKER_HOST`, say).
    pub fn start_with_env(
        config: &Path,
        extra: &[&str],
        stderr_path: &Path,
        env: &[(&str, &str)],
    ) -> Result<Up, (String, i32)> {
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(config)
            .arg("up")
            .arg("--json")
            .args(extra)
            .envs(env.iter().copied())
            .env("IMDS_SPOOF_LOG", "info");
        Up::spawn(command, stderr_path)
    }

    /// Runs `command` (an `up --json`, however started) and waits for its ready line.
    pub fn spawn(mut command: Command, stderr_path: &Path) -> Result<Up, (String, i32)> {
        let stderr = File::create(stderr_path).expect("stderr file");
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn imds-spoof up");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(line) = receiver.recv_timeout(Duration::from_millis(50)) {
                let ready: serde_json::Value =
                    serde_json::from_str(&line).expect("ready line is JSON");
                assert_eq!(ready["event"], "ready", "{line}");
                return Ok(Up {
                    child,
                    ready,
                    stderr_path: stderr_path.to_path_buf(),
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err = std::fs::read_to_string(stderr_path).unwrap_or_default();
                return Err((err, status.code().unwrap_or(-1)));
            }
            assert!(Instant::now() < deadline, "up not ready after 60 s");
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Replaces `from` by `to` in the config file this run watches, and waits until the run
    /// has reloaded it (its "configuration reloaded" log line).
    pub fn edit_config(&self, path: &Path, from: &str, to: &str) {
        let reloads = || self.stderr().matches("configuration reloaded").count();
        let before = reloads();
        edit_config(path, from, to);
        assert!(
            wait_until(Duration::from_secs(10), || reloads() > before),
            "the run did not reload {} after {from:?} -> {to:?}:\n{}",
            path.display(),
            self.stderr()
        );
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn stop(mut self) -> i32 {
        terminate(&self.child);
        let code = wait_for(&mut self.child, Duration::from_secs(20));
        code.unwrap_or(-1)
    }

    pub fn kill9(mut self) {
        // std's kill is SIGKILL.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            terminate(&self.child);
            if wait_for(&mut self.child, Duration::from_secs(10)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// SIGTERM, as Ctrl-C in a terminal or `docker stop` would end a run.
fn terminate(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

/// The exit code once `child` has exited, waiting at most `limit`.
fn wait_for(child: &mut Child, limit: Duration) -> Option<i32> {
    let mut code = None;
    wait_until(limit, || match child.try_wait() {
        Ok(Some(status)) => {
            code = Some(status.code().unwrap_or(-1));
            true
        }
        _ => false,
    });
    code
}

/// Runs the imds-spoof binary to completion.
pub fn imds_spoof(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command.arg("--config").arg(config).args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run imds-spoof")
}

/// curl's arguments that print only the answer's status code.
pub const CURL_STATUS_ONLY: [&str; 7] = [
    "-s",
    "--max-time",
    "5",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
];

/// The status a request from this host gets (the host is refused behind the proxy).
pub fn host_status(url: &str) -> String {
    let out = Command::new("curl")
        .args(CURL_STATUS_ONLY)
        .arg(url)
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `docker run` volume arguments the client image needs (with the venv when given).
pub fn client_mounts(venv: Option<&Path>) -> Vec<String> {
    let mut command = Command::new("bash");
    command
        .arg(repo().join("scripts/offline-images.sh"))
        .arg("--print-client-mounts");
    if let Some(venv) = venv {
        command.arg(venv);
    }
    let out = command.output().expect("print client mounts");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Starts a client container that idles (`sleep 300`) with our test label, `extra` docker
/// run arguments (labels, a network) and the client mounts; returns its id.
pub fn start_idle_client(name: &str, extra: &[&str], mounts: &[String]) -> String {
    start_client_in(Cli::Docker, name, extra, mounts, &["sleep", "300"])
}

/// The run argument that mounts tests/clients (the Python clients) at /clients.
fn clients_mount() -> String {
    format!(
        "--volume={}:/clients:ro",
        repo().join("tests/clients").display()
    )
}

/// `run -d` of the client image with `cli`: our test label, tests/clients at /clients,
/// `extra` run arguments (labels, a network, a pod), the client mounts, then `cmd`;
/// returns the container's id.
pub fn start_client_in(
    cli: Cli,
    name: &str,
    extra: &[&str],
    mounts: &[String],
    cmd: &[&str],
) -> String {
    let clients = clients_mount();
    let mut args = vec!["run", "-d", "--name", name, "--label", TEST_LABEL, &clients];
    args.extend(extra);
    args.extend(mounts.iter().map(String::as_str));
    let image = cli.image(CLIENT_IMAGE);
    args.push(&image);
    args.extend(cmd);
    let run = cli.run(&args);
    assert!(run.status.success(), "{}", super::describe(&run));
    String::from_utf8_lossy(&run.stdout).trim().to_string()
}

/// `docker run --rm` of the client image on the imds-spoof network.
pub fn run_client(name: &str, labels: &[&str], mounts: &[String], cmd: &[&str]) -> Output {
    run_client_in(Cli::Docker, name, labels, mounts, cmd)
}

/// The engine command line a test runs containers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cli {
    Docker,
    /// Rootful Podman (as root); its copy of the client image is `localhost/…`.
    Podman,
    /// Rootless Podman as [`super::need::PODMAN_USER`], with its runtime directory and
    /// its own home (where its storage is).
    PodmanRootless,
}

impl Cli {
    pub fn program(self) -> &'static str {
        match self {
            Cli::Docker => "docker",
            Cli::Podman | Cli::PodmanRootless => "podman",
        }
    }

    /// The name this engine gives an offline image.
    pub fn image(self, image: &str) -> String {
        match self {
            Cli::Docker => image.to_string(),
            Cli::Podman | Cli::PodmanRootless => format!("localhost/{image}"),
        }
    }

    /// The command, ready for its arguments.
    pub fn command(self) -> Command {
        match self {
            Cli::Docker | Cli::Podman => Command::new(self.program()),
            Cli::PodmanRootless => {
                let (runtime, home) = rootless_environment();
                let mut command = Command::new("runuser");
                command
                    .args(["-u", super::need::PODMAN_USER, "--", "env"])
                    .arg(format!("XDG_RUNTIME_DIR={runtime}"))
                    .arg(format!("HOME={home}"))
                    .arg("podman");
                command
            }
        }
    }

    pub fn run(self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("run {}: {err}", self.program()))
    }
}

/// The rootless test user's runtime directory and home, looked up once.
fn rootless_environment() -> &'static (String, String) {
    static ENVIRONMENT: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let user = super::need::PODMAN_USER;
        let uid = super::need::user_id(user).expect("the rootless Podman user");
        let passwd = Command::new("getent")
            .args(["passwd", user])
            .output()
            .expect("getent passwd");
        let home = String::from_utf8_lossy(&passwd.stdout)
            .split(':')
            .nth(5)
            .unwrap_or_default()
            .to_string();
        (format!("/run/user/{uid}"), home)
    })
}

/// [`run_client`] with the given engine: `run --rm` of the client image on the imds-spoof
/// network, the test label, `labels`, tests/clients at /clients, `mounts` (with any other
/// `run` arguments), then `cmd`.
pub fn run_client_in(
    cli: Cli,
    name: &str,
    labels: &[&str],
    mounts: &[String],
    cmd: &[&str],
) -> Output {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--rm".into(),
        "--name".into(),
        name.into(),
        "--network".into(),
        "imds-spoof".into(),
        "--label".into(),
        TEST_LABEL.into(),
    ];
    for label in labels {
        args.push("--label".into());
        args.push((*label).into());
    }
    args.push(clients_mount());
    args.extend(mounts.iter().cloned());
    args.push(cli.image(CLIENT_IMAGE));
    args.extend(cmd.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    cli.run(&refs)
}

/// Asserts what a finished command printed, showing all of its output when it differs.
pub fn assert_stdout(out: &Output, expected: &str) {
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected,
        "{}",
        super::describe(out)
    );
}
