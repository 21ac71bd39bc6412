//! ECS task metadata v4 at the ECS door (docs/protocol.md §7, case 62's routing; the documents
//! themselves from real containers are tests/docker_task_metadata.rs): which caller reads
//! what, the agent's errors and paths, faults, and LogOptions secrets masked in records.
//! The session's reader is stood in for by a source that answers what it was asked, so
//! these cases are about the broker alone.

use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use imds_spoof::broker::doors::{
    TaskMetadataError, TaskMetadataFuture, TaskMetadataRequest, TaskMetadataSource,
};
use imds_spoof::broker::{AccessPolicy, CALLER_HEADER, DOOR_HEADER, SECRET_HEADER};
use imds_spoof::config::Door;
use imds_spoof::config::{Fault, FaultKind};
use imds_spoof::imds::task_metadata::TaskDocument;
use serde_json::Value;

use crate::support::{loopback, request, Answer, Imds, KnownCallers, RequestBuilder};

const SECRET: &str = "per-run-secret-0123456789";
const WEB_IP: &str = "169.254.0.7";
const WORKER_IP: &str = "169.254.0.9";
const GONE_IP: &str = "169.254.0.10";
const UNNAMED_IP: &str = "169.254.0.12";
const SPLUNK_TOKEN: &str = "00000000-aaaa-bbbb-cccc-1234567890ab";

/// The Docker side's view of callers: two containers (one labelled for the worker), one
/// that has just gone, and an address the engine cannot name.
fn directory() -> KnownCallers {
    KnownCallers::default()
        .container(WEB_IP, "web-1", None, None)
        .container(WORKER_IP, "worker-1", None, Some("worker"))
        .container(GONE_IP, "gone-1", None, None)
        .unresolved(UNNAMED_IP, "engine unreachable")
}

/// Answers each request with what it was asked, as JSON with a Splunk token in its
/// LogOptions; `gone-1` is a container that has just gone.
#[derive(Default)]
struct Source {
    asked: Mutex<Vec<TaskMetadataRequest>>,
}

impl TaskMetadataSource for Source {
    fn document(&self, request: TaskMetadataRequest) -> TaskMetadataFuture<'_> {
        self.asked.lock().unwrap().push(request.clone());
        let answer = match (request.container.as_str(), request.document) {
            ("gone-1", _) => Err(TaskMetadataError::NotFound("gone".to_string())),
            (_, TaskDocument::ContainerStats) => Err(TaskMetadataError::NoStats {
                docker_id: "abc123".to_string(),
                why: "no sample yet".to_string(),
            }),
            (container, document) => Ok(format!(
                r#"{{"Name":"{container}","Identity":"{}","Document":"{document:?}","LogOptions":{{"splunk-format":"json","splunk-token":"{SPLUNK_TOKEN}"}}}}"#,
                request.identity.name
            )),
        };
        Box::pin(std::future::ready(answer))
    }
}

fn proxied() -> (Imds, Arc<Source>) {
    let source = Arc::new(Source::default());
    let shared: Arc<dyn TaskMetadataSource> = source.clone();
    let imds = Imds::build(
        |_| {},
        AccessPolicy::Proxy {
            proxy_ip: None,
            secret: SECRET.to_string(),
            host_ips: vec!["169.254.0.1".parse().expect("ip")],
        },
        |state| {
            state.callers = Some(Arc::new(directory()));
            state.task_metadata = Some(shared);
        },
    );
    (imds, source)
}

/// As the proxy forwards a request `caller` sent to 169.254.170.2.
fn at_ecs(method: Method, path: &str, caller: &str) -> RequestBuilder {
    request(method, path)
        .host("169.254.170.2")
        .header(SECRET_HEADER, SECRET)
        .header(CALLER_HEADER, caller)
        .header(DOOR_HEADER, "169.254.170.2")
}

async fn send(imds: &Imds, request: RequestBuilder) -> Answer {
    Answer::from_response(imds.send_raw(request.build()).await).await
}

fn assert_agent_error(answer: &Answer, status: StatusCode, starts: &str, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    let message = answer.json();
    assert!(
        message
            .as_str()
            .is_some_and(|text| text.starts_with(starts)),
        "{what}: {message}"
    );
}

#[tokio::test]
async fn case_62_each_path_reads_the_callers_own_container() {
    let (imds, source) = proxied();
    for (path, document) in [
        ("/v4/self", "Container"),
        ("/v4/self/task", "Task"),
        ("/v4/self/taskWithTags", "TaskWithTags"),
        ("/v4/0123abc-456/task/stats", "TaskStats"),
    ] {
        let answer = send(&imds, at_ecs(Method::GET, path, WEB_IP)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text());
        assert_eq!(answer.header("content-type"), Some("application/json"));
        assert_eq!(
            answer.header("server"),
            None,
            "{path}: the agent sends none"
        );
        let json = answer.json();
        assert_eq!(json["Name"], "web-1", "{path}: whatever the id says");
        assert_eq!(json["Document"], document, "{path}");
    }
    let asked = source.asked.lock().unwrap().clone();
    assert!(asked.iter().all(|r| r.caller_ip.to_string() == WEB_IP));
    // The identity the caller plays describes the task (its label here).
    let answer = send(&imds, at_ecs(Method::GET, "/v4/self", WORKER_IP)).await;
    assert_eq!(answer.json()["Identity"], "worker");
    // The agent's routes name no method.
    let answer = send(&imds, at_ecs(Method::POST, "/v4/self/task", WEB_IP)).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn callers_that_are_no_container_get_the_agents_404() {
    let (imds, source) = proxied();
    for (path, handler) in [
        (
            "/v4/self",
            "V4 container metadata handler: unable to get container ID",
        ),
        (
            "/v4/self/task",
            "V4 task metadata handler: unable to get task arn",
        ),
        ("/v4/self/taskWithTags", "V4 task metadata handler"),
        ("/v4/self/stats", "V4 container stats handler"),
        ("/v4/self/task/stats", "V4 task stats handler"),
    ] {
        for caller in ["169.254.0.99", UNNAMED_IP, GONE_IP, "10.0.0.5"] {
            let answer = send(&imds, at_ecs(Method::GET, path, caller)).await;
            let what = format!("{path} from {caller}");
            assert_agent_error(&answer, StatusCode::NOT_FOUND, handler, &what);
            assert!(imds.last_record().provider_error.is_some(), "{what}");
        }
    }
    let asked = source.asked.lock().unwrap();
    assert!(
        asked.iter().all(|r| r.container == "gone-1"),
        "only a named container is looked up"
    );
}

#[tokio::test]
async fn stats_not_ready_and_unknown_paths_answer_as_the_agent() {
    let (imds, _) = proxied();
    let answer = send(&imds, at_ecs(Method::GET, "/v4/self/stats", WEB_IP)).await;
    assert_agent_error(
        &answer,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Unable to get container stats for: abc123",
        "stats",
    );
    // The agent's router is exact: a trailing slash or another path is Go's 404 text.
    for path in [
        "/v4",
        "/v4/self/",
        "/v4/self/task/",
        "/v4/self/tasks",
        "/v4/self/x",
    ] {
        let answer = send(&imds, at_ecs(Method::GET, path, WEB_IP)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.text(), "404 page not found\n", "{path}");
    }
    // Behind the proxy only the ECS address is the ECS door: at IMDS's, /v4 is EC2's 404.
    let answer = send(
        &imds,
        request(Method::GET, "/v4/self")
            .header(SECRET_HEADER, SECRET)
            .header(CALLER_HEADER, WEB_IP),
    )
    .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.header("server"), Some("EC2ws"));
}

#[tokio::test]
async fn loopback_has_no_container_to_describe() {
    let imds = Imds::build(
        |_| {},
        loopback(),
        |state| {
            state.doors.container_token = Some("token".to_string());
        },
    );
    let answer = send(
        &imds,
        request(Method::GET, "/v4/self").host("127.0.0.1:1338"),
    )
    .await;
    assert_agent_error(
        &answer,
        StatusCode::NOT_FOUND,
        "V4 container metadata handler",
        "loopback",
    );
    let record = imds.last_record();
    assert_eq!(record.door, Door::Ecs);
    assert!(record
        .provider_error
        .as_deref()
        .is_some_and(|why| why.contains("loopback")));
}

#[tokio::test]
async fn faults_reach_task_metadata_by_its_path() {
    let (imds, _) = proxied();
    imds.update(|config| {
        config.faults.push(Fault {
            path_prefix: "/v4".to_string(),
            door: Some(Door::Ecs),
            probability: 1.0,
            kind: FaultKind::Status { status: 503 },
        })
    });
    let answer = send(&imds, at_ecs(Method::GET, "/v4/self/task", WEB_IP)).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.json(), Value::String("Service Unavailable".into()));
    assert_eq!(imds.last_record().fault.as_deref(), Some("status 503"));
}

#[tokio::test]
async fn log_option_secrets_are_served_whole_and_masked_in_records() {
    let (imds, _) = proxied();
    let answer = send(&imds, at_ecs(Method::GET, "/v4/self", WEB_IP)).await;
    assert_eq!(answer.json()["LogOptions"]["splunk-token"], SPLUNK_TOKEN);
    let record = imds.last_record();
    assert_eq!(record.door, Door::Ecs);
    assert_eq!(record.path, "/v4/self");
    assert_eq!(record.caller_container.as_deref(), Some("web-1"));
    let masked = record.masked();
    assert!(
        !masked.response_body.contains(SPLUNK_TOKEN),
        "{}",
        masked.response_body
    );
    assert!(masked
        .response_body
        .contains(r#""splunk-token":"****90ab""#));
    assert!(masked.response_body.contains(r#""splunk-format":"json""#));
}

/// The agent's limit (40 a second, burst 60) per caller: a flood from one container waits
/// for its turns and past a second's worth of waiting gets the agent's 429, while another
/// container is answered at once. Agents poll every 10 to 60 s, far below it.
#[tokio::test]
async fn a_flood_from_one_caller_is_paced_and_its_neighbour_is_not() {
    let (imds, _source) = proxied();
    let flood = (0..130).map(|_| send(&imds, at_ecs(Method::GET, "/v4/self/stats", WORKER_IP)));
    let answers = futures_util::future::join_all(flood).await;
    let refused: Vec<&Answer> = answers
        .iter()
        .filter(|answer| answer.status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    // 61 at once and 40 after waiting; the clock moves a little while the flood is sent.
    assert!(
        (20..=29).contains(&refused.len()),
        "{} refused",
        refused.len()
    );
    let first = refused[0];
    assert_eq!(first.text(), "You have reached maximum request limit.\n");
    assert_eq!(
        first.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let started = std::time::Instant::now();
    let neighbour = send(&imds, at_ecs(Method::GET, "/v4/self/task", WEB_IP)).await;
    assert_eq!(neighbour.status, StatusCode::OK, "{}", neighbour.text());
    assert!(started.elapsed() < std::time::Duration::from_millis(500));
}
