//! ECS task metadata v4 documents of a container on the engine: the Docker layer gathers
//! the facts, the IMDS model builds the JSON. The ECS door asks this with the caller's
//! container and identity (the caller is known by its address, as for IMDS).

use std::collections::BTreeMap;

use futures_util::future::join_all;

use super::SessionError;
use crate::config::Identity;
use crate::docker::{self, Engine};
use crate::imds::task_metadata::{
    container_json, container_stats_json, task_json, task_stats_json, TaskDocument,
};

/// Reads containers, their tasks and stats from the engine.
#[derive(Clone)]
pub struct TaskMetadataReader {
    engine: Engine,
}

impl TaskMetadataReader {
    /// A reader on the engine DOCKER_HOST names.
    pub async fn connect() -> Result<TaskMetadataReader, SessionError> {
        Ok(TaskMetadataReader {
            engine: docker::connect().await?,
        })
    }

    /// The JSON `container` (id or name) reads at `document`, as `identity` describes its
    /// task. The stats documents take about a second: the engine samples twice.
    pub async fn document(
        &self,
        identity: &Identity,
        container: &str,
        document: TaskDocument,
    ) -> Result<String, SessionError> {
        let engine = &self.engine;
        let caller = docker::container_snapshot(engine, container).await?;
        Ok(match document {
            TaskDocument::Container => container_json(identity, &caller),
            TaskDocument::Task | TaskDocument::TaskWithTags => {
                let members = docker::task_snapshots(engine, &caller).await?;
                let with_tags = document == TaskDocument::TaskWithTags;
                task_json(identity, &caller, &members, with_tags)
            }
            TaskDocument::ContainerStats => {
                let stats = docker::container_stats(engine, &caller.id)
                    .await?
                    .ok_or_else(|| {
                        SessionError::Other(format!("container {} is not running", caller.name))
                    })?;
                container_stats_json(&stats)
            }
            TaskDocument::TaskStats => {
                let members = docker::task_snapshots(engine, &caller).await?;
                // Every container at once: each sample takes the engine about a second.
                let samples = join_all(
                    members
                        .iter()
                        .map(|member| docker::container_stats(engine, &member.id)),
                )
                .await;
                let mut by_id = BTreeMap::new();
                for (member, sample) in members.iter().zip(samples) {
                    let sample = match sample {
                        Ok(sample) => sample,
                        // Gone since it was listed: no stats, like a stopped one.
                        Err(docker::DockerError::NoSuchContainer(_)) => None,
                        Err(err) => return Err(err.into()),
                    };
                    by_id.insert(member.id.clone(), sample);
                }
                task_stats_json(&by_id)
            }
        })
    }
}
