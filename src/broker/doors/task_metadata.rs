//! ECS task metadata v4 at the ECS door (docs/protocol.md §7, docs/ecs-task-metadata.md):
//! `/v4/<id>`, `/v4/<id>/task`, `/taskWithTags`, `/stats` and `/task/stats`.
//!
//! `<id>` names nothing: the caller is known by its address (the proxy's caller header, as
//! for IMDS), so a container only ever reads its own task, whatever id it writes. The
//! broker knows no Docker: it asks a [`TaskMetadataSource`] (the session's reader) about
//! the caller's container. Answers take the agent's shapes: 200 JSON; a caller that is no
//! known container → 404 with the agent's lookup message as a JSON string; a read that
//! fails → 500, likewise; any other path → Go's 404 text (the agent's router). The agent's
//! routes name no method, so these answer any method.

use std::ops::ControlFlow;

use axum::http::StatusCode;

use super::task_metadata_source::{TaskMetadataError, TaskMetadataRequest};
use super::{faults, replies};
use crate::broker::access::{AccessPolicy, Caller};
use crate::broker::exchange::Exchange;
use crate::broker::identify::identify;
use crate::broker::outcome::Outcome;
use crate::broker::pacer::Pace;
use crate::broker::BrokerState;
use crate::config::Config;
use crate::imds::task_metadata::TaskDocument;

/// The version prefix every task metadata v4 path starts with.
const V4: &str = "/v4";

/// Is `path` task metadata's (`/v4` and below)? On loopback this picks the ECS door.
pub fn is_task_metadata_path(path: &str) -> bool {
    path.strip_prefix(V4)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The id segment and the document a path asks for; None is the agent router's 404.
fn parse(path: &str) -> Option<(&str, TaskDocument)> {
    let rest = path.strip_prefix(V4)?.strip_prefix('/')?;
    let (id, below) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    TaskDocument::from_rest(below).map(|document| (id, document))
}

/// Answers a task metadata path at the ECS door; the caller is already admitted.
pub(in crate::broker) async fn decide(
    state: &BrokerState,
    config: &Config,
    exchange: &mut Exchange,
    caller: &Caller,
) -> Outcome {
    // One caller's flood waits for its turns (then gets the agent's 429) before it costs
    // its neighbours anything: `/stats` documents are the dearest answers of the broker.
    match state.task_metadata_pace.pace(
        caller.ip,
        crate::broker::pacer::TASK_METADATA_RATE,
        std::time::Instant::now(),
    ) {
        Pace::Now => {}
        Pace::After(wait) => {
            crate::broker::faults::note(&mut exchange.fault, "task metadata requests paced");
            tokio::time::sleep(wait).await;
        }
        Pace::Refuse => {
            crate::broker::faults::note(
                &mut exchange.fault,
                "task metadata requests over pace: 429",
            );
            return Outcome::Answer(replies::too_many_requests());
        }
    }
    let identified = identify(state, config, exchange, caller)
        .await
        .is_continue();
    let path = exchange.path.clone();
    let Some((id, document)) = parse(&path) else {
        return Outcome::Answer(replies::go_not_found());
    };
    if let ControlFlow::Break(outcome) = faults::gate(config, exchange, |status| {
        replies::json_string(status, status.canonical_reason().unwrap_or("error"))
    })
    .await
    {
        return outcome;
    }
    let target = match (
        &state.access,
        identified,
        &exchange.caller_container,
        &state.task_metadata,
    ) {
        (AccessPolicy::Loopback { .. }, ..) => Err(
            "task metadata is served to containers on the imds-spoof network; a caller on loopback is no container".to_string(),
        ),
        (_, false, ..) => Err("the caller could not be identified".to_string()),
        (_, _, None, _) => Err(format!("the caller {} is no known container", caller.ip)),
        (_, _, Some(_), None) => {
            Err("this broker has no engine to read containers from".to_string())
        }
        (_, _, Some(container), Some(source)) => Ok((container.clone(), source.clone())),
    };
    let (container, source) = match target {
        Ok(target) => target,
        Err(why) => return not_found(exchange, document, id, why),
    };
    let Some(identity) = config.identity(&exchange.identity).cloned() else {
        let why = format!("identity {:?} is not configured", exchange.identity);
        return failed(exchange, document, why);
    };
    let request = TaskMetadataRequest {
        container,
        caller_ip: caller.ip,
        identity,
        document,
    };
    match source.document(request).await {
        Ok(json) => Outcome::Answer(replies::json(json)),
        Err(TaskMetadataError::NotFound(why)) => not_found(exchange, document, id, why),
        Err(TaskMetadataError::NoStats { docker_id, why }) => {
            exchange.provider_error = Some(why);
            Outcome::Answer(replies::json_string(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Unable to get container stats for: {docker_id}"),
            ))
        }
        Err(TaskMetadataError::Engine(why)) => {
            tracing::error!(path = %exchange.path, "task metadata failed: {why}");
            failed(exchange, document, why)
        }
    }
}

/// The agent's 404 when the id in the path finds no container (ours: the caller is none);
/// why is recorded, the answer says what the agent says.
fn not_found(exchange: &mut Exchange, document: TaskDocument, id: &str, why: String) -> Outcome {
    exchange.provider_error = Some(why);
    let message = match document {
        TaskDocument::Container => format!(
            "V4 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: {id}"
        ),
        _ => format!(
            "{}: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: {id}",
            handler_name(document)
        ),
    };
    Outcome::Answer(replies::json_string(StatusCode::NOT_FOUND, &message))
}

/// The agent's 500 for a document it could not build.
fn failed(exchange: &mut Exchange, document: TaskDocument, why: String) -> Outcome {
    exchange.provider_error = Some(why);
    let message = match document {
        TaskDocument::Container => "failed to get container metadata",
        TaskDocument::Task | TaskDocument::TaskWithTags => "failed to get task metadata",
        TaskDocument::ContainerStats | TaskDocument::TaskStats => "failed to get stats",
    };
    Outcome::Answer(replies::json_string(
        StatusCode::INTERNAL_SERVER_ERROR,
        message,
    ))
}

fn handler_name(document: TaskDocument) -> &'static str {
    match document {
        TaskDocument::Container => "V4 container metadata handler",
        TaskDocument::Task | TaskDocument::TaskWithTags => "V4 task metadata handler",
        TaskDocument::ContainerStats => "V4 container stats handler",
        TaskDocument::TaskStats => "V4 task stats handler",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_a_document_below_any_id() {
        assert_eq!(parse("/v4/self"), Some(("self", TaskDocument::Container)));
        assert_eq!(parse("/v4/self/task"), Some(("self", TaskDocument::Task)));
        assert_eq!(
            parse("/v4/abc-123/taskWithTags"),
            Some(("abc-123", TaskDocument::TaskWithTags))
        );
        assert_eq!(
            parse("/v4/self/stats"),
            Some(("self", TaskDocument::ContainerStats))
        );
        assert_eq!(
            parse("/v4/self/task/stats"),
            Some(("self", TaskDocument::TaskStats))
        );
        // The agent matches `/v4/{id:[^/]*}`: an empty id is a lookup, not a route miss.
        assert_eq!(parse("/v4/"), Some(("", TaskDocument::Container)));
        for miss in [
            "/v4",
            "/v4/self/",
            "/v4/self/task/",
            "/v4/self/tasks",
            "/v4/self/associations/x",
            "/v3/self",
        ] {
            assert_eq!(parse(miss), None, "{miss}");
        }
        assert!(is_task_metadata_path("/v4"));
        assert!(is_task_metadata_path("/v4/self/task"));
        assert!(!is_task_metadata_path("/v40"));
        assert!(!is_task_metadata_path("/v2/credentials/self"));
    }
}
