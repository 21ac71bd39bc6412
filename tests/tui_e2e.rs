//! The dashboard end to end, in a real terminal (tmux): the real binary, requests with
//! curl, edits typed as keystrokes, the next answer and the file checked, quit.
//! Without Docker (DOCKER_HOST points nowhere) the broker runs on loopback; a second
//! variant with the real engine checks that quitting leaves no proxy container.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use support::docker::{
    self as docker_support, docker, free_port, leftovers, lock_engine, start_idle_client, Cleanup,
    CURL_INSTANCE_ID, NGINX_IMAGE,
};
use support::{require, require_all, Need};

const NEW_ID: &str = "i-0aaaaaaaaaaaaaaa1";

/// tmux and curl, or a reported skip (a failure when required).
fn tools_or_skip(test: &str) -> bool {
    require_all(&[Need::Tmux, Need::Curl], test)
}

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(tag: &str, command: &str) -> Tmux {
        let socket = format!("imds-spoof-e2e-{tag}-{}", std::process::id());
        let tmux = Tmux { socket };
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "48",
            "-s",
            "tui",
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "tui"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "tui"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "tui", "-l", text]);
    }

    /// Waits until the screen shows every one of `texts`; the last screen on timeout.
    fn wait_for(&self, texts: &[&str], limit: Duration) -> Result<String, String> {
        let shows_all = |screen: &String| texts.iter().all(|text| screen.contains(text));
        support::wait_for(limit, || Some(self.screen()).filter(shows_all))
            .ok_or_else(|| self.screen())
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn curl(url: &str) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5", "-w", "\n%{http_code}", url])
        .output()
        .expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "000"));
    (code.to_string(), body.to_string())
}

fn wait_for_answer(url: &str, limit: Duration) -> String {
    let mut last = String::new();
    support::wait_for(limit, || {
        let (code, body) = curl(url);
        last = code;
        (last == "200").then_some(body)
    })
    .unwrap_or_else(|| panic!("no answer from {url} (last status {last})"))
}

fn wait_for_file(path: &Path, limit: Duration) -> Option<String> {
    support::wait_for(limit, || {
        std::fs::read_to_string(path)
            .ok()
            .filter(|text| !text.is_empty())
    })
}

fn config_with_port(dir: &Path, port: u16, proxy_image: Option<&str>) -> PathBuf {
    let path = dir.join("config.toml");
    let mut text =
        imds_spoof::config::SAMPLE_CONFIG.replace("port = 1338", &format!("port = {port}"));
    if let Some(image) = proxy_image {
        text = text.replace(
            "image = \"docker.io/library/nginx:1.27.5-alpine\"",
            &format!("image = \"{image}\""),
        );
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// The shell command tmux runs: the dashboard, then its exit status into a file.
fn dashboard_command(env: &str, config: &Path, exit_file: &Path) -> String {
    format!(
        "env -u DOCKER_HOST {env} IMDS_SPOOF_LOG=info '{}' --config '{}'; echo $? > '{}'",
        env!("CARGO_BIN_EXE_imds-spoof"),
        config.display(),
        exit_file.display()
    )
}

/// Types a new instance id for the active identity: pane 2, to the fields, field 2, Enter,
/// clear, type, Enter.
fn edit_instance_id(tmux: &Tmux, id: &str) {
    tmux.keys(&["2"]);
    tmux.wait_for(&["Identity default"], Duration::from_secs(5))
        .unwrap_or_else(|screen| panic!("identity pane not shown:\n{screen}"));
    tmux.keys(&["l", "j", "Enter", "C-u"]);
    tmux.type_text(id);
    tmux.keys(&["Enter"]);
}

#[test]
fn dashboard_without_docker_edits_the_instance_id() {
    if !tools_or_skip("dashboard_without_docker_edits_the_instance_id") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = config_with_port(dir.path(), port, None);
    let exit_file = dir.path().join("exit");
    let tmux = Tmux::start(
        "nodocker",
        &dashboard_command("DOCKER_HOST=unix:///nonexistent", &config, &exit_file),
    );
    let url = format!("http://127.0.0.1:{port}/latest/meta-data/instance-id");
    assert_eq!(
        wait_for_answer(&url, Duration::from_secs(30)),
        "i-0123456789abcdef0"
    );

    // The request's row, and the status bar saying why Docker is unavailable.
    let screen = tmux
        .wait_for(
            &[
                "/latest/meta-data/instance-id",
                "200",
                "unavailable",
                "broker   ● up",
            ],
            Duration::from_secs(10),
        )
        .unwrap_or_else(|screen| panic!("request row not shown:\n{screen}"));
    assert!(screen.contains(&format!("127.0.0.1:{port}")), "{screen}");

    edit_instance_id(&tmux, NEW_ID);
    tmux.wait_for(&["instance_id of default saved"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("edit not confirmed:\n{screen}"));
    assert_eq!(curl(&url), ("200".to_string(), NEW_ID.to_string()));
    // The dashboard's own edit is not announced again in the log as a reload.
    tmux.keys(&["7"]);
    let logs = tmux
        .wait_for(&["broker up"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("logs pane not shown:\n{screen}"));
    assert!(
        !logs.contains("configuration reloaded"),
        "own edit logged as a reload:\n{logs}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains(&format!("instance_id = \"{NEW_ID}\"")),
        "{text}"
    );
    for comment in [
        "# HttpPutResponseHopLimit.",
        "# imds-spoof configuration.",
        "# source = \"profile\" resolves",
    ] {
        assert!(text.contains(comment), "comment {comment:?} lost:\n{text}");
    }

    tmux.keys(&["q"]);
    let code = wait_for_file(&exit_file, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("the dashboard did not exit after q:\n{}", tmux.screen()));
    assert_eq!(code.trim(), "0");
    assert_ne!(curl(&url).0, "200", "the broker stopped with the dashboard");
}

/// What a dashboard test on the real engine holds: the engine to itself (the lock), our
/// objects swept before and after, a configuration using the offline proxy image, and the
/// file the dashboard's exit status is written to. Dropped in field order: the sweep runs
/// while the lock is still held.
struct EngineRun {
    config: PathBuf,
    exit_file: PathBuf,
    _dir: tempfile::TempDir,
    _cleanup: Cleanup,
    _lock: docker_support::EngineLock,
}

/// An [`EngineRun`], or a reported skip when tmux, curl or the offline images are missing.
fn engine_run(test: &str) -> Option<EngineRun> {
    if !tools_or_skip(test) || !require(Need::OfflineImages, test) {
        return None;
    }
    let lock = lock_engine();
    let cleanup = Cleanup::new();
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_port(dir.path(), free_port(), Some(NGINX_IMAGE));
    let exit_file = dir.path().join("exit");
    Some(EngineRun {
        config,
        exit_file,
        _dir: dir,
        _cleanup: cleanup,
        _lock: lock,
    })
}

#[test]
fn dashboard_with_docker_leaves_no_proxy_on_quit() {
    let test = "dashboard_with_docker_leaves_no_proxy_on_quit";
    let Some(run) = engine_run(test) else {
        return;
    };
    let (config, exit_file) = (run.config.clone(), run.exit_file.clone());
    let tmux = Tmux::start("docker", &dashboard_command("", &config, &exit_file));
    let screen = tmux
        .wait_for(
            &["network  ● up", "proxy    ● up", "broker   ● up"],
            Duration::from_secs(90),
        )
        .unwrap_or_else(|screen| panic!("parts not up:\n{screen}"));
    assert!(screen.contains("169.254.169.254"), "{screen}");
    let proxy = docker(&[
        "ps",
        "-q",
        "--filter",
        "label=imds-spoof.managed=true",
        "--filter",
        "name=imds-spoof-proxy",
    ]);
    assert!(
        !String::from_utf8_lossy(&proxy.stdout).trim().is_empty(),
        "proxy container running"
    );

    // Through the proxy from a container on the network, as an SDK would.
    let client_image = docker(&["image", "inspect", docker_support::CLIENT_IMAGE])
        .status
        .success();
    let ask = |name: &str| {
        let out = curl_from_container(name, "http://169.254.169.254/latest/meta-data/instance-id");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    if client_image {
        assert_eq!(ask("imds-spoof-test-tui-1"), "i-0123456789abcdef0");
        tmux.wait_for(
            &["imds-spoof-test-tui-1", "/latest/meta-data/instance-id"],
            Duration::from_secs(10),
        )
        .unwrap_or_else(|screen| panic!("the container's request is not shown:\n{screen}"));
    } else {
        eprintln!(
            "{test}: {} missing, request through the proxy not checked",
            docker_support::CLIENT_IMAGE
        );
    }
    edit_instance_id(&tmux, NEW_ID);
    tmux.wait_for(&["instance_id of default saved"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("edit not confirmed:\n{screen}"));
    if client_image {
        assert_eq!(ask("imds-spoof-test-tui-2"), NEW_ID);
    }

    tmux.keys(&["q"]);
    let code = wait_for_file(&exit_file, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("the dashboard did not exit after q:\n{}", tmux.screen()));
    assert_eq!(code.trim(), "0");
    let (containers, _networks) = leftovers();
    assert!(
        containers.is_empty(),
        "containers left after quit: {containers}"
    );
}

/// The labelled container of the assignment test, and the instance ids it can play.
const ASSIGNED: &str = "imds-spoof-test-assign";
const DEFAULT_ID: &str = "i-0123456789abcdef0";
const WORKER_ID: &str = "i-0fedcba9876543210";

/// The instance id the assigned container's next request gets, asked from inside it.
fn assigned_instance_id() -> String {
    let mut args = vec!["exec", ASSIGNED];
    args.extend(CURL_INSTANCE_ID);
    let out = docker(&args);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `curl -s URL` from a client container called `name` on our network.
fn curl_from_container(name: &str, url: &str) -> Output {
    let mounts = docker_support::client_mounts(None);
    docker_support::run_client(name, &[], &mounts, &["curl", "-s", "--max-time", "5", url])
}

/// Starts the dashboard in a tmux of its own and waits for network, proxy and broker.
fn dashboard_up(tag: &str, config: &Path, exit_file: &Path) -> Tmux {
    dashboard_up_with(tag, "", config, exit_file)
}

/// [`dashboard_up`] with `env` (`NAME=value …`) set for the dashboard.
fn dashboard_up_with(tag: &str, env: &str, config: &Path, exit_file: &Path) -> Tmux {
    let tmux = Tmux::start(tag, &dashboard_command(env, config, exit_file));
    tmux.wait_for(
        &["network  ● up", "proxy    ● up", "broker   ● up"],
        Duration::from_secs(90),
    )
    .unwrap_or_else(|screen| panic!("parts not up:\n{screen}"));
    tmux
}

/// Containers pane, the list refreshed, the cursor (▶) on the assigned container, its
/// picker open.
fn open_picker(tmux: &Tmux) {
    tmux.keys(&["6", "r"]);
    tmux.wait_for(&[ASSIGNED], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("{ASSIGNED} not listed:\n{screen}"));
    let marked = |screen: &str| {
        screen
            .lines()
            .any(|line| line.contains(&format!("▶ {ASSIGNED}")))
    };
    // Newest first: it is the first row unless the engine has newer containers.
    for _ in 0..50 {
        let before = tmux.screen();
        if marked(&before) {
            break;
        }
        tmux.keys(&["j"]);
        // The next look once the cursor has moved (or the list ended), not after a guess.
        support::wait_until(Duration::from_secs(2), || tmux.screen() != before);
    }
    assert!(
        marked(&tmux.screen()),
        "cursor not on {ASSIGNED}:\n{}",
        tmux.screen()
    );
    tmux.keys(&["i"]);
    tmux.wait_for(
        &[&format!("Identity for {ASSIGNED}")],
        Duration::from_secs(5),
    )
    .unwrap_or_else(|screen| panic!("picker not open:\n{screen}"));
}

/// An IMDSv2 request from the assigned container, selected in the Requests pane (the
/// selection visible in a plain capture, without colour); `y` copies a command that,
/// run on this machine, gets the same status and body.
fn copy_reproduces_the_request(tmux: &Tmux) {
    let script = "T=$(curl -s -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60'                   http://169.254.169.254/latest/api/token);                   curl -s -H \"X-aws-ec2-metadata-token: $T\"                   http://169.254.169.254/latest/meta-data/instance-id";
    let out = docker(&["exec", ASSIGNED, "sh", "-c", script]);
    let body = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(body, WORKER_ID);
    tmux.keys(&["1", "g"]);
    let screen = tmux
        .wait_for(&["/latest/meta-data/instance-id"], Duration::from_secs(10))
        .unwrap_or_else(|screen| {
            panic!(
                "the request is not listed:
{screen}"
            )
        });
    let selected = screen
        .lines()
        .find(|line| line.contains("│▶"))
        .unwrap_or_else(|| {
            panic!(
                "no row marked ▶ without colour:
{screen}"
            )
        });
    assert!(
        selected.contains(" 200 ") && selected.contains(" v2 ") && selected.contains("instance-id"),
        "the newest request is not the selected one: {selected}
{screen}"
    );
    tmux.keys(&["y"]);
    tmux.wait_for(&["copied the command"], Duration::from_secs(5))
        .unwrap_or_else(|screen| {
            panic!(
                "y copied nothing:
{screen}"
            )
        });
    let copied = support::wait_for(Duration::from_secs(5), || {
        let out = tmux.run(&["show-buffer"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.starts_with("docker exec").then_some(text)
    })
    .unwrap_or_else(|| {
        panic!(
            "tmux got no OSC 52 copy:
{}",
            tmux.screen()
        )
    });
    assert!(
        copied.starts_with(&format!("docker exec {ASSIGNED} sh -c '")),
        "{copied}"
    );
    let out = Command::new("sh").arg("-c").arg(&copied).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (again, status) = text.trim_end().rsplit_once('\n').unwrap_or_default();
    assert_eq!(
        (again.trim(), status),
        (WORKER_ID, "200"),
        "{copied}\n{text}"
    );
}

fn quit(tmux: &Tmux, exit_file: &Path) {
    tmux.keys(&["q"]);
    let code = wait_for_file(exit_file, Duration::from_secs(60))
        .unwrap_or_else(|| panic!("the dashboard did not exit after q:\n{}", tmux.screen()));
    assert_eq!(code.trim(), "0");
}

#[test]
fn dashboard_assigns_a_container_another_identity() {
    let test = "dashboard_assigns_a_container_another_identity";
    let Some(run) = engine_run(test) else {
        return;
    };
    let (config, exit_file) = (run.config.clone(), run.exit_file.clone());
    let tmux = dashboard_up("assign", &config, &exit_file);

    // A container whose label says worker, on the network the dashboard made.
    let mounts = docker_support::client_mounts(None);
    start_idle_client(
        ASSIGNED,
        &[
            "--network",
            "imds-spoof",
            "--label",
            "imds-spoof.identity=worker",
        ],
        &mounts,
    );
    assert_eq!(assigned_instance_id(), WORKER_ID, "the label");
    tmux.wait_for(&["worker (label)"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("the label's identity is not shown:\n{screen}"));

    // The picker opens on worker; one up is default.
    open_picker(&tmux);
    tmux.keys(&["k", "Enter"]);
    tmux.wait_for(
        &[&format!("{ASSIGNED} plays default (rule)")],
        Duration::from_secs(10),
    )
    .unwrap_or_else(|screen| panic!("assignment not confirmed:\n{screen}"));
    assert_eq!(assigned_instance_id(), DEFAULT_ID, "the rule, at once");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(&format!("name = \"{ASSIGNED}\"")), "{text}");
    assert!(text.contains("# HttpPutResponseHopLimit."), "comments kept");
    quit(&tmux, &exit_file);
    drop(tmux);

    // Started again, without colour: the rule is in the file, the container still plays
    // default.
    std::fs::remove_file(&exit_file).unwrap();
    let tmux = dashboard_up_with("assign-again", "NO_COLOR=1", &config, &exit_file);
    // Applications may set tmux's clipboard (OSC 52), as a terminal's would be set.
    tmux.run(&["set-option", "-g", "set-clipboard", "on"]);
    assert_eq!(
        assigned_instance_id(),
        DEFAULT_ID,
        "the rule after a restart"
    );

    // The picker opens on default; its last row (two down) removes the rule.
    open_picker(&tmux);
    tmux.keys(&["j", "j", "Enter"]);
    tmux.wait_for(&["plays worker (label)"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("clearing not confirmed:\n{screen}"));
    assert_eq!(assigned_instance_id(), WORKER_ID, "the label again");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        !text.lines().any(|line| line.trim() == "[[container]]"),
        "{text}"
    );

    // Detaching a running container asks first; n keeps it on the network.
    tmux.keys(&["a"]);
    tmux.wait_for(
        &[&format!("Detach {ASSIGNED} from the network?")],
        Duration::from_secs(5),
    )
    .unwrap_or_else(|screen| {
        panic!(
            "detaching did not ask:
{screen}"
        )
    });
    tmux.keys(&["n"]);
    assert_eq!(assigned_instance_id(), WORKER_ID, "still attached after n");

    copy_reproduces_the_request(&tmux);
    quit(&tmux, &exit_file);
    let (containers, _networks) = leftovers();
    assert!(
        containers.is_empty(),
        "containers left after quit: {containers}"
    );
}

/// An ECS task's request through the dashboard's run: the ECS door's container answers at
/// 169.254.170.2, and the request table shows the exchange marked `ecs` with the calling
/// container's name. Quitting removes every proxy container, the doors' included.
#[test]
fn dashboard_marks_an_ecs_request_with_its_caller() {
    let test = "dashboard_marks_an_ecs_request_with_its_caller";
    let Some(run) = engine_run(test) else {
        return;
    };
    let (config, exit_file) = (run.config.clone(), run.exit_file.clone());
    let tmux = dashboard_up("ecs", &config, &exit_file);
    tmux.wait_for(&["ECS 169.254.170.2"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("the proxy row names no ECS door:\n{screen}"));

    let caller = "imds-spoof-test-ecs-task";
    // The container plays worker by its label: a name is served only to its player.
    let mounts = docker_support::client_mounts(None);
    let out = docker_support::run_client(
        caller,
        &["imds-spoof.identity=worker"],
        &mounts,
        &[
            "curl",
            "-s",
            "--max-time",
            "5",
            "http://169.254.170.2/v2/credentials/worker",
        ],
    );
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(body.contains("\"AccessKeyId\""), "{body}");
    let screen = tmux
        .wait_for(&[caller, "/v2/credentials/worker"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("the ECS request is not shown:\n{screen}"));
    // The table's row (the caller's name is cut there) and the detail of the newest one.
    let row = screen
        .lines()
        .find(|line| line.contains(" 200 ") && line.contains("/v2/credentials/worker"))
        .unwrap_or_default();
    assert!(
        row.contains(" ecs ")
            && row.contains("imds-spoof-t")
            && (row.contains("worker (label)") || row.contains("worker·L")),
        "not marked ECS with its caller: {row}\n{screen}"
    );
    assert!(screen.contains("GET ecs · 200 OK"), "{screen}");
    assert!(screen.contains(&format!("caller {caller} (")), "{screen}");

    // Settings: the ECS door off removes its container, on brings it back.
    let present = || docker(&["inspect", "imds-spoof-ecs"]).status.success();
    tmux.keys(&["4", "j", "j", "j", "j", "j", "j", "Enter"]);
    tmux.wait_for(&["ECS door: off"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("ECS door not switched off:\n{screen}"));
    assert!(
        support::wait_until(Duration::from_secs(20), || !present()),
        "imds-spoof-ecs still there:\n{}",
        tmux.screen()
    );
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("ecs = false"));
    tmux.keys(&["Enter"]);
    assert!(
        support::wait_until(Duration::from_secs(20), present),
        "imds-spoof-ecs not back:\n{}",
        tmux.screen()
    );
    tmux.wait_for(&["ECS 169.254.170.2"], Duration::from_secs(20))
        .unwrap_or_else(|screen| panic!("the proxy row lacks ECS again:\n{screen}"));

    quit(&tmux, &exit_file);
    let (containers, _networks) = leftovers();
    assert!(
        containers.is_empty(),
        "containers left after quit: {containers}"
    );
}

const MFA_DEVICE: &str = "arn:aws:iam::123456789012:mfa/me";

/// An assumed role with `mfa_serial` (moto's server as STS): a container joins, its session
/// waits for a code; the Credentials pane says so, `m` asks for it, and once it is typed
/// the container gets credentials.
#[test]
fn dashboard_asks_the_mfa_code_an_assumed_role_waits_for() {
    let test = "dashboard_asks_the_mfa_code_an_assumed_role_waits_for";
    let Some(run) = engine_run(test) else {
        return;
    };
    let Some(python) = support::need::python(test) else {
        return;
    };
    let moto = support::moto::Moto::start(&python);
    let text = std::fs::read_to_string(&run.config).unwrap();
    let mut doc: toml_edit::DocumentMut = text.parse().unwrap();
    support::moto::assume_app_role(&mut doc, &moto.url, Some(MFA_DEVICE));
    std::fs::write(&run.config, doc.to_string()).unwrap();
    let tmux = dashboard_up("mfa", &run.config, &run.exit_file);

    let name = "imds-spoof-test-tui-mfa";
    let mounts = docker_support::client_mounts(None);
    start_idle_client(name, &["--network", "imds-spoof"], &mounts);
    tmux.keys(&["3"]);
    tmux.wait_for(
        &[&format!("MFA code needed for {MFA_DEVICE}")],
        Duration::from_secs(30),
    )
    .unwrap_or_else(|screen| panic!("the pane does not ask for the code:\n{screen}"));
    tmux.keys(&["m"]);
    tmux.wait_for(&["MFA code for"], Duration::from_secs(5))
        .unwrap_or_else(|screen| panic!("no prompt:\n{screen}"));
    tmux.type_text("123456");
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        &[&format!("MFA session for {MFA_DEVICE}")],
        Duration::from_secs(20),
    )
    .unwrap_or_else(|screen| panic!("the code was not taken:\n{screen}"));

    let role = &support::identity(0).role.as_ref().unwrap().name;
    let url = format!("http://169.254.169.254/latest/meta-data/iam/security-credentials/{role}");
    let served = support::wait_for(Duration::from_secs(20), || {
        let out = docker(&["exec", name, "curl", "-s", "--max-time", "5", &url]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .filter(|document| document["AccessKeyId"].is_string())
    });
    assert!(
        served.is_some(),
        "no credentials after the code:\n{}",
        tmux.screen()
    );
    quit(&tmux, &run.exit_file);
}

/// The dashboard on rootful Podman: the status bar names the engine, a labelled Podman
/// container's request shows with its name and identity, the Containers pane lists it
/// from Podman's answers, and quitting removes the proxies from Podman.
#[test]
fn dashboard_on_podman_shows_its_callers() {
    let test = "dashboard_on_podman_shows_its_callers";
    if !require(Need::PodmanRootful, test) {
        return;
    }
    let Some(run) = engine_run(test) else {
        return;
    };
    let podman = docker_support::Cli::Podman;
    let image = podman.image(NGINX_IMAGE);
    let text = std::fs::read_to_string(&run.config).unwrap();
    std::fs::write(
        &run.config,
        text.replace(
            &format!("image = \"{NGINX_IMAGE}\""),
            &format!("image = \"{image}\""),
        ),
    )
    .unwrap();
    let env = format!(
        "DOCKER_HOST=unix://{}",
        support::need::PODMAN_ROOTFUL_SOCKET
    );
    let tmux = dashboard_up_with("podman", &env, &run.config, &run.exit_file);
    tmux.wait_for(&["on Podman"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("the engine is not named:\n{screen}"));

    let name = "imds-spoof-test-tui-podman";
    let mut mounts = docker_support::client_mounts(None);
    mounts.extend([
        "--label".to_string(),
        "imds-spoof.identity=worker".to_string(),
    ]);
    let mut args = vec!["run", "-d", "--name", name, "--network", "imds-spoof"];
    args.extend(["--label", docker_support::TEST_LABEL]);
    args.extend(mounts.iter().map(String::as_str));
    let client = podman.image(docker_support::CLIENT_IMAGE);
    args.extend([client.as_str(), "sleep", "120"]);
    let started = podman.run(&args);
    assert!(started.status.success(), "{}", support::describe(&started));
    let mut ask = vec!["exec", name];
    ask.extend(CURL_INSTANCE_ID);
    let asked = podman.run(&ask);
    assert_eq!(
        String::from_utf8_lossy(&asked.stdout).trim(),
        WORKER_ID,
        "{}",
        support::describe(&asked)
    );
    let screen = tmux
        .wait_for(
            &["imds-spoof-test-tu", "/latest/meta-data/instance-id"],
            Duration::from_secs(10),
        )
        .unwrap_or_else(|screen| panic!("the Podman container's request is not shown:\n{screen}"));
    assert!(screen.contains(&format!("caller {name} (")), "{screen}");
    tmux.keys(&["6", "r"]);
    tmux.wait_for(&[name, "worker"], Duration::from_secs(10))
        .unwrap_or_else(|screen| panic!("{name} not listed with its identity:\n{screen}"));
    podman.run(&["rm", "-f", "-t", "0", name]);

    quit(&tmux, &run.exit_file);
    let (containers, _networks) = docker_support::leftovers_in(podman);
    assert!(
        containers.is_empty(),
        "containers left in Podman after quit: {containers}"
    );
}
