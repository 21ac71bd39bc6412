//! ECS task metadata v4 from real containers (docs/protocol.md §7, case 62): what the engine
//! says of a compose-labelled container, its task mates and a lone container, and their
//! stats, built into the documents the ECS door will answer.

// Test code: a failed unwrap is a failed test, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use imds_spoof::imds::task_metadata::TaskDocument;
use imds_spoof::session::TaskMetadataReader;
use serde_json::Value;

use support::docker::*;
use support::need::python;
use support::{describe as text, identity, require_all, wait_for_records, Need};

const TEST: &str = "task_metadata_describes_real_containers";
const PROJECT: &str = "imds-spoof-test-shop";

#[test]
fn task_metadata_describes_real_containers() {
    if !require_all(&[Need::Docker, Need::OfflineImages], TEST) {
        return;
    }
    let _engine = EngineFixture::new();
    let mounts = client_mounts(None);
    let project = format!("--label=com.docker.compose.project={PROJECT}");
    let web_id = start_idle_client(
        "imds-spoof-test-task-web",
        &[
            &project,
            "--label=com.docker.compose.service=web",
            "--label=team=payments",
            "--memory=64m",
            "--cpus=0.5",
        ],
        &mounts,
    );
    let db_id = start_idle_client(
        "imds-spoof-test-task-db",
        &[&project, "--label=com.docker.compose.service=db"],
        &mounts,
    );
    // Created, never started: part of the task, without stats.
    let created = docker(&[
        "create",
        "--name",
        "imds-spoof-test-task-job",
        "--label",
        TEST_LABEL,
        &project,
        "--label=com.docker.compose.service=job",
        CLIENT_IMAGE,
        "true",
    ]);
    assert!(created.status.success(), "{}", text(&created));
    let job_id = String::from_utf8_lossy(&created.stdout).trim().to_string();
    let lone_id = start_idle_client("imds-spoof-test-task-lone", &[], &mounts);

    let identity = identity(0);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let reader = runtime.block_on(TaskMetadataReader::connect()).unwrap();
    let read = |container: &str, document: TaskDocument| -> Value {
        let json = runtime
            .block_on(reader.document(identity, container, document))
            .unwrap_or_else(|err| panic!("{document:?} of {container}: {err}"));
        serde_json::from_str(&json).unwrap_or_else(|err| panic!("{err}: {json}"))
    };

    // The container itself: its own id, names, image, labels, limits and times.
    let web = read("imds-spoof-test-task-web", TaskDocument::Container);
    assert_eq!(web["DockerId"], web_id.as_str());
    assert_eq!(web["DockerName"], "imds-spoof-test-task-web");
    assert_eq!(web["Name"], "web");
    assert_eq!(web["Image"], CLIENT_IMAGE);
    assert_eq!(
        web["ImageID"],
        inspect("imds-spoof-test-task-web", "{{.Image}}")
    );
    assert_eq!(
        web["CreatedAt"],
        inspect("imds-spoof-test-task-web", "{{.Created}}")
    );
    assert_eq!(
        web["StartedAt"],
        inspect("imds-spoof-test-task-web", "{{.State.StartedAt}}")
    );
    assert_eq!(web["KnownStatus"], "RUNNING");
    assert_eq!(web["Limits"]["Memory"], 64);
    assert_eq!(web["Limits"]["CPU"], 512, "--cpus=0.5 is 512 CPU units");
    assert_eq!(web["Labels"]["team"], "payments");
    assert_eq!(web["Labels"]["com.amazonaws.ecs.container-name"], "web");
    assert_eq!(
        web["Labels"]["com.amazonaws.ecs.task-definition-family"],
        PROJECT
    );
    assert_eq!(
        web["LogDriver"],
        inspect("imds-spoof-test-task-web", "{{.HostConfig.LogConfig.Type}}")
    );
    let address = inspect(
        "imds-spoof-test-task-web",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
    );
    assert_eq!(web["Networks"][0]["IPv4Addresses"][0], address.as_str());
    assert_eq!(web["Networks"][0]["NetworkMode"], "bridge");

    // Its task: the compose project's three containers, labels matching the task (case 62).
    let task = read("imds-spoof-test-task-web", TaskDocument::Task);
    assert_eq!(task["Family"], PROJECT);
    assert_eq!(task["Cluster"], "default");
    assert_eq!(
        task["AvailabilityZone"],
        identity.availability_zone.as_str()
    );
    assert_eq!(task["KnownStatus"], "RUNNING");
    let members = task["Containers"].as_array().unwrap();
    let mut ids: Vec<&str> = members
        .iter()
        .map(|c| c["DockerId"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![web_id.as_str(), db_id.as_str(), job_id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    for member in members {
        assert_eq!(
            member["Labels"]["com.amazonaws.ecs.task-arn"],
            task["TaskARN"]
        );
        assert_eq!(
            member["Labels"]["com.amazonaws.ecs.cluster"],
            task["Cluster"]
        );
    }
    let job = members.iter().find(|c| c["Name"] == "job").unwrap();
    assert_eq!(job["KnownStatus"], "CREATED");
    assert!(job.get("StartedAt").is_none());
    // The same task seen from another member.
    let from_db = read("imds-spoof-test-task-db", TaskDocument::Task);
    assert_eq!(from_db["TaskARN"], task["TaskARN"]);

    // A lone container is a task of its own.
    let lone = read("imds-spoof-test-task-lone", TaskDocument::TaskWithTags);
    assert_eq!(lone["Family"], "imds-spoof-test-task-lone");
    assert_eq!(lone["Containers"].as_array().unwrap().len(), 1);
    assert_eq!(lone["Containers"][0]["DockerId"], lone_id.as_str());
    assert_ne!(lone["TaskARN"], task["TaskARN"]);
    assert_eq!(lone["ContainerInstanceTags"]["Name"], "imds-spoof-dev");

    // Stats: the engine's real figures.
    let stats = read("imds-spoof-test-task-web", TaskDocument::ContainerStats);
    assert_eq!(stats["id"], web_id.as_str());
    assert_eq!(stats["name"], "/imds-spoof-test-task-web");
    let usage = stats["memory_stats"]["usage"].as_u64().unwrap();
    assert!(usage > 0, "memory in use: {stats}");
    assert_eq!(stats["memory_stats"]["limit"], 64 * 1024 * 1024);
    assert!(
        stats["cpu_stats"]["cpu_usage"]["total_usage"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(stats["cpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0);
    assert!(stats["precpu_stats"]["cpu_usage"]["total_usage"]
        .as_u64()
        .is_some());
    assert!(stats["networks"]["eth0"]["rx_bytes"].is_u64(), "{stats}");

    let task_stats = read("imds-spoof-test-task-db", TaskDocument::TaskStats);
    let by_id = task_stats.as_object().unwrap();
    assert_eq!(by_id.len(), 3, "{task_stats}");
    assert!(by_id[&web_id]["memory_stats"]["usage"].as_u64().unwrap() > 0);
    assert!(by_id[&db_id]["memory_stats"]["usage"].as_u64().unwrap() > 0);
    assert_eq!(
        by_id[&job_id],
        serde_json::json!({}),
        "a container never started has no stats: `{{}}`, as the agent writes it"
    );
}

/// `docker inspect -f FORMAT NAME`, trimmed.
fn inspect(name: &str, format: &str) -> String {
    let out = docker(&["inspect", "-f", format, name]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

const DOOR_TEST: &str = "task_metadata_at_the_ecs_door";
const SECRET: &str = "per-run-secret-of-the-door-test";

/// The ECS door of a broker behind the proxy, on the real session's caller directory and
/// task metadata reader, with the proxy leg simulated as `tests/conformance/doors.rs` does:
/// a container on the network reads its own container, task and stats by its address; an
/// address no container holds (which no real container can send from) gets the agent's
/// 404. The same through the real proxy: the test after this one.
#[test]
fn task_metadata_at_the_ecs_door() {
    use axum::http::{Method, StatusCode};
    use imds_spoof::broker::DOOR_HEADER;
    use imds_spoof::broker::{AccessPolicy, CALLER_HEADER, SECRET_HEADER};
    use imds_spoof::config::ConfigStore;
    use imds_spoof::config::Door;
    use imds_spoof::provider::BuiltinProvider;
    use imds_spoof::session::{Session, SessionOptions};
    use std::sync::Arc;
    use support::{request, Answer, Imds, SIGNER};

    if !require_all(&[Need::Docker, Need::OfflineImages], DOOR_TEST) {
        return;
    }
    let engine = EngineFixture::new();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = ConfigStore::from_file(&engine.config, None).unwrap();
    let (events, _received) = tokio::sync::mpsc::unbounded_channel();
    let options = SessionOptions {
        start_docker: true,
        ..Default::default()
    };
    let session = runtime
        .block_on(Session::start_strict(store.clone(), options, events))
        .unwrap_or_else(|err| panic!("session: {err}"));
    let source = session
        .task_metadata()
        .expect("the session reads task metadata");

    let mounts = client_mounts(None);
    let web_id = start_idle_client(
        "imds-spoof-test-v4-web",
        &[
            "--network=imds-spoof",
            "--label=com.docker.compose.project=imds-spoof-test-v4",
            "--label=com.docker.compose.service=web",
            "--label=team=payments",
            "--memory=64m",
        ],
        &mounts,
    );
    let web_ip = inspect(
        "imds-spoof-test-v4-web",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
    );
    let policy = AccessPolicy::Proxy {
        proxy_ip: None,
        secret: SECRET.to_string(),
        host_ips: Vec::new(),
    };
    let provider = Arc::new(BuiltinProvider::new(store.clone(), SIGNER.clone()));
    let imds = Imds::from_parts(store.clone(), provider, policy, |state| {
        state.callers = Some(session.caller_directory());
        state.task_metadata = Some(source);
    });
    // As nginx forwards a request that `caller` sent to 169.254.170.2.
    let get = |path: &str, caller: &str| -> Answer {
        let built = request(Method::GET, path)
            .host("169.254.170.2")
            .header(SECRET_HEADER, SECRET)
            .header(CALLER_HEADER, caller)
            .header(DOOR_HEADER, "169.254.170.2")
            .build();
        runtime.block_on(async { Answer::from_response(imds.send_raw(built).await).await })
    };
    let ok = |answer: &Answer, what: &str| -> Value {
        assert_eq!(answer.status, StatusCode::OK, "{what}: {}", answer.text());
        assert_eq!(answer.header("content-type"), Some("application/json"));
        answer.json()
    };

    // The container reads itself: id, name, image, labels.
    let container = ok(&get("/v4/self", &web_ip), "/v4/self");
    assert_eq!(container["DockerId"], web_id.as_str());
    assert_eq!(container["DockerName"], "imds-spoof-test-v4-web");
    assert_eq!(container["Name"], "web");
    assert_eq!(container["Image"], CLIENT_IMAGE);
    assert_eq!(container["Labels"]["team"], "payments");
    assert_eq!(
        container["Networks"][0]["IPv4Addresses"][0],
        web_ip.as_str()
    );
    let record = imds.last_record();
    assert_eq!(record.door, Door::Ecs);
    assert_eq!(record.path, "/v4/self");
    assert_eq!(
        record.caller_container.as_deref(),
        Some("imds-spoof-test-v4-web")
    );

    // Its task, whose labels name it.
    let task = ok(&get("/v4/self/task", &web_ip), "/v4/self/task");
    assert_eq!(task["Family"], "imds-spoof-test-v4");
    let members = task["Containers"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{task}");
    assert_eq!(members[0]["DockerId"], web_id.as_str());
    assert_eq!(
        members[0]["Labels"]["com.amazonaws.ecs.task-arn"],
        task["TaskARN"]
    );
    assert!(task["TaskARN"].as_str().unwrap().contains(":task/"));

    // Stats: the engine's real figures. The first read waits for the engine's first
    // sample (a few seconds at most, else the agent's 500), later ones come from the cache.
    let mut stats = get("/v4/self/stats", &web_ip);
    for _ in 0..5 {
        if stats.status == StatusCode::OK {
            break;
        }
        assert_eq!(stats.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            stats.json(),
            Value::String(format!("Unable to get container stats for: {web_id}"))
        );
        stats = get("/v4/self/stats", &web_ip);
    }
    let stats = ok(&stats, "/v4/self/stats");
    assert_eq!(stats["id"], web_id.as_str());
    assert!(
        stats["memory_stats"]["usage"].as_u64().unwrap() > 0,
        "{stats}"
    );
    assert_eq!(stats["memory_stats"]["limit"], 64 * 1024 * 1024);
    assert!(stats["precpu_stats"]["system_cpu_usage"].as_u64().unwrap() > 0);
    let task_stats = ok(&get("/v4/self/task/stats", &web_ip), "/v4/self/task/stats");
    assert!(
        task_stats[&web_id]["memory_stats"]["usage"]
            .as_u64()
            .unwrap()
            > 0,
        "{task_stats}"
    );

    // An address inside the network that no container holds: the agent's 404, nobody's data.
    for (path, handler) in [
        ("/v4/self", "V4 container metadata handler"),
        ("/v4/self/task", "V4 task metadata handler"),
        ("/v4/self/stats", "V4 container stats handler"),
    ] {
        let answer = get(path, "169.254.250.250");
        assert_eq!(
            answer.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            answer.text()
        );
        assert_eq!(answer.header("content-type"), Some("application/json"));
        let message = answer.json();
        assert!(
            message.as_str().unwrap().starts_with(handler),
            "{path}: {message}"
        );
        assert!(!answer.text().contains(&web_id), "{path}");
    }
    // Other paths are the agent router's 404.
    let miss = get("/v4/self/", &web_ip);
    assert_eq!(miss.status, StatusCode::NOT_FOUND);
    assert_eq!(miss.text(), "404 page not found\n");

    drop(imds);
    runtime.block_on(session.shutdown());
}

const E2E_TEST: &str = "a_container_reads_its_own_task_metadata_through_the_proxy";

/// End to end: `up` puts the ECS door at 169.254.170.2; a container on the network curls
/// `${ECS_CONTAINER_METADATA_URI_V4}`, `/task` and `/stats` and sees itself.
#[test]
fn a_container_reads_its_own_task_metadata_through_the_proxy() {
    if !require_all(&[Need::Docker, Need::OfflineImages], E2E_TEST) {
        return;
    }
    let engine = EngineFixture::new();
    // The active identity reports awslogs with a stream prefix, as a task definition would.
    edit_config(
        &engine.config,
        "# [identity.ecs]\n",
        "[identity.ecs]\nlog_driver = \"awslogs\"\nlog_options = { \"awslogs-group\" = \"/ecs/shop\", \"awslogs-region\" = \"us-east-1\", \"awslogs-stream-prefix\" = \"web\" }\n",
    );
    let (up, log) = engine.up_logging("up-v4");
    let python = python(&format!("{E2E_TEST} (OpenTelemetry's ECS detector)"));
    let venv = python
        .as_ref()
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf));
    let mounts = client_mounts(venv.as_deref());
    // Two containers that claim the caller's compose project but are not its task: one off
    // the imds-spoof network, one from another directory (a namesake project).
    let project = "com.docker.compose.project=imds-spoof-test-v4e2e";
    let off_network = start_idle_client(
        "imds-spoof-test-v4-offnet",
        &["--network", "none", "--label", project],
        &mounts,
    );
    let other_dir = start_idle_client(
        "imds-spoof-test-v4-otherdir",
        &[
            "--network",
            "imds-spoof",
            "--label",
            project,
            "--label",
            "com.docker.compose.project.working_dir=/somewhere/else",
        ],
        &mounts,
    );
    let script = "URI=http://169.254.170.2/v4/self; hostname; \
                  curl -sS $URI; echo; curl -sS $URI/task; echo; curl -sS $URI/stats; echo";
    let out = run_client(
        "imds-spoof-test-v4-curl",
        &[
            "com.docker.compose.project=imds-spoof-test-v4e2e",
            "team=payments",
        ],
        &mounts,
        &["sh", "-c", script],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", text(&out));
    let short_id = lines[0].trim();
    let parse = |line: &str| -> Value {
        serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"))
    };
    let container = parse(lines[1]);
    assert!(
        container["DockerId"]
            .as_str()
            .unwrap()
            .starts_with(short_id),
        "{container}"
    );
    assert_eq!(container["DockerName"], "imds-spoof-test-v4-curl");
    assert_eq!(container["Image"], CLIENT_IMAGE);
    assert_eq!(container["Labels"]["team"], "payments");
    let task = parse(lines[2]);
    assert_eq!(task["Containers"][0]["DockerId"], container["DockerId"]);
    assert_eq!(
        task["Containers"].as_array().map(Vec::len),
        Some(1),
        "only the caller is its task: {task}"
    );
    for id in [&off_network, &other_dir] {
        assert!(!lines[2].contains(id.as_str()), "{id} listed: {task}");
    }
    assert_eq!(task["Family"], "imds-spoof-test-v4e2e");
    let stats = parse(lines[3]);
    assert_eq!(stats["id"], container["DockerId"]);
    assert!(
        stats["memory_stats"]["usage"].as_u64().unwrap() > 0,
        "{stats}"
    );
    let records = wait_for_records(&log, |records| {
        records
            .iter()
            .any(|r| r["door"] == "ecs" && r["path"] == "/v4/self/stats")
    });
    let record = records
        .iter()
        .find(|r| r["door"] == "ecs" && r["path"] == "/v4/self")
        .expect("the request is recorded at the ECS door");
    assert_eq!(record["caller_container"], "imds-spoof-test-v4-curl");
    // The served log options carry the stream the agent resolves from the prefix.
    let task_id = task["TaskARN"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let stream = format!("web/{}/{task_id}", container["Name"].as_str().unwrap());
    assert_eq!(
        container["LogOptions"]["awslogs-stream"],
        stream.as_str(),
        "{container}"
    );
    if let Some(python) = &python {
        opentelemetry_detects_the_log_stream(python, &mounts);
    }
    docker(&["rm", "-f", &off_network, &other_dir]);
    assert_eq!(up.stop(), 0);
}

/// OpenTelemetry's ECS resource detector, in a container, reports the resolved log stream
/// (not `[null]`) with its ARN, and the container's own ids.
fn opentelemetry_detects_the_log_stream(python: &Path, mounts: &[String]) {
    let name = "imds-spoof-test-v4-otel";
    let command = format!(
        "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/self {} /clients/otel_ecs_check.py",
        python.display()
    );
    let out = run_client(
        name,
        &["com.docker.compose.project=imds-spoof-test-otel"],
        mounts,
        &["sh", "-c", &command],
    );
    assert!(out.status.success(), "{}", text(&out));
    let attributes: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|err| panic!("{err}: {}", text(&out)));
    let streams = &attributes["aws.log.stream.names"];
    let stream = streams[0]
        .as_str()
        .unwrap_or_else(|| panic!("{attributes}"));
    assert!(stream.starts_with(&format!("web/{name}/")), "{attributes}");
    assert_eq!(
        attributes["aws.log.group.names"][0], "/ecs/shop",
        "{attributes}"
    );
    let stream_arn = attributes["aws.log.stream.arns"][0]
        .as_str()
        .unwrap_or_default();
    assert!(
        stream_arn.starts_with("arn:aws:logs:us-east-1:") && stream_arn.ends_with(stream),
        "{attributes}"
    );
}
