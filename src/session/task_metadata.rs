//! ECS task metadata v4 documents of a container on the engine: the Docker layer gathers
//! the facts, the IMDS model builds the JSON. The ECS door asks this (as the broker's
//! [`TaskMetadataSource`]) with the caller's container, address and identity.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;
use futures_util::StreamExt;

use super::stats_cache::{FrameSource, Limits, Sample, StatsCache};
use super::SessionError;
use crate::broker::doors::{
    TaskMetadataError, TaskMetadataFuture, TaskMetadataRequest, TaskMetadataSource,
};
use crate::config::Identity;
use crate::docker::{self, DockerError, Engine};
use crate::imds::task_metadata::{
    container_json, container_stats_json, task_json, task_stats_json, ContainerSnapshot,
    TaskDocument,
};

/// Reads containers, their tasks and stats from the engine; stats from a cache of the
/// engine's stats streams (`stats_cache.rs`), so only a container's first `/stats` waits.
#[derive(Clone)]
pub struct TaskMetadataReader {
    engine: Engine,
    stats: Arc<StatsCache>,
}

/// Why a document could not be built.
#[derive(Debug)]
enum Failure {
    Lookup(String),
    NoStats { docker_id: String, why: String },
    Engine(DockerError),
}

impl From<DockerError> for Failure {
    fn from(err: DockerError) -> Self {
        match err {
            DockerError::NoSuchContainer(name) => {
                Failure::Lookup(format!("container {name} is gone"))
            }
            err => Failure::Engine(err),
        }
    }
}

impl TaskMetadataReader {
    /// A reader on the engine DOCKER_HOST names.
    pub async fn connect() -> Result<TaskMetadataReader, SessionError> {
        Ok(TaskMetadataReader::on(docker::connect().await?))
    }

    /// A reader on `engine`.
    pub fn on(engine: Engine) -> TaskMetadataReader {
        let streams = engine.clone();
        let source: FrameSource =
            Arc::new(move |id: &str| docker::stats_frames(&streams, id).boxed());
        TaskMetadataReader {
            engine,
            stats: Arc::new(StatsCache::new(source, Limits::default())),
        }
    }

    /// The JSON `container` (id or name) reads at `document`, as `identity` describes its
    /// task. A container's first stats read waits for the engine's first sample (1 to 2 s).
    pub async fn document(
        &self,
        identity: &Identity,
        container: &str,
        document: TaskDocument,
    ) -> Result<String, SessionError> {
        let caller = docker::container_snapshot(&self.engine, container).await?;
        // Read by name (not as a caller): its task is its mates on its first network.
        let network = caller
            .networks
            .first()
            .map(|attached| attached.network.clone())
            .unwrap_or_default();
        self.build(identity, &caller, &network, document)
            .await
            .map_err(|failure| match failure {
                Failure::Lookup(why) | Failure::NoStats { why, .. } => SessionError::Other(why),
                Failure::Engine(err) => err.into(),
            })
    }

    /// [`TaskMetadataReader::document`] for a caller at `ip`: the container must hold that
    /// address now (a book entry may be a moment old), else it is no caller of ours.
    async fn caller_document(&self, request: &TaskMetadataRequest) -> Result<String, Failure> {
        let caller = docker::container_snapshot(&self.engine, &request.container).await?;
        if caller.network_holding(request.caller_ip).is_none() {
            return Err(Failure::Lookup(format!(
                "container {} does not hold {} (any more)",
                caller.name, request.caller_ip
            )));
        }
        let network = caller
            .network_holding(request.caller_ip)
            .unwrap_or_default()
            .to_string();
        self.build(&request.identity, &caller, &network, request.document)
            .await
    }

    async fn build(
        &self,
        identity: &Identity,
        caller: &ContainerSnapshot,
        network: &str,
        document: TaskDocument,
    ) -> Result<String, Failure> {
        let engine = &self.engine;
        Ok(match document {
            TaskDocument::Container => container_json(identity, caller),
            TaskDocument::Task | TaskDocument::TaskWithTags => {
                let members = docker::task_snapshots(engine, caller, network).await?;
                let with_tags = document == TaskDocument::TaskWithTags;
                task_json(identity, caller, &members, with_tags)
            }
            TaskDocument::ContainerStats => {
                let why = match self.stats.sample(&caller.id).await {
                    Sample::Ready(stats) => return Ok(container_stats_json(&stats)),
                    Sample::NotRunning => format!("container {} is not running", caller.name),
                    Sample::Unavailable(why) => format!("stats of {}: {why}", caller.name),
                };
                return Err(Failure::NoStats {
                    docker_id: caller.id.clone(),
                    why,
                });
            }
            TaskDocument::TaskStats => {
                let members = docker::task_snapshots(engine, caller, network).await?;
                // Every running member at once; one without a sample is `{}`, as the
                // agent writes it.
                let samples = join_all(members.iter().map(|member| async move {
                    if !member.is_running() {
                        return None;
                    }
                    match self.stats.sample(&member.id).await {
                        Sample::Ready(stats) => Some(stats),
                        Sample::NotRunning | Sample::Unavailable(_) => None,
                    }
                }))
                .await;
                let by_id: BTreeMap<String, _> = members
                    .iter()
                    .zip(samples)
                    .map(|(member, sample)| (member.id.clone(), sample.map(|s| (*s).clone())))
                    .collect();
                task_stats_json(&by_id)
            }
        })
    }
}

impl TaskMetadataSource for TaskMetadataReader {
    fn document(&self, request: TaskMetadataRequest) -> TaskMetadataFuture<'_> {
        Box::pin(async move {
            self.caller_document(&request)
                .await
                .map_err(|failure| match failure {
                    Failure::Lookup(why) => TaskMetadataError::NotFound(why),
                    Failure::NoStats { docker_id, why } => {
                        TaskMetadataError::NoStats { docker_id, why }
                    }
                    Failure::Engine(err) => TaskMetadataError::Engine(err.to_string()),
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imds::task_metadata::NetworkAttachment;

    #[test]
    fn a_container_holds_only_its_own_addresses() {
        let container = ContainerSnapshot {
            networks: vec![
                NetworkAttachment {
                    network: "bridge".into(),
                    ipv4: Some("172.17.0.3".parse().unwrap()),
                    ..Default::default()
                },
                NetworkAttachment {
                    network: "imds-spoof".into(),
                    ipv4: Some("169.254.0.7".parse().unwrap()),
                    ipv6: Some("fd00:ec2::1:7".parse().unwrap()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        for held in ["169.254.0.7", "fd00:ec2::1:7", "172.17.0.3"] {
            assert!(
                container.network_holding(held.parse().unwrap()).is_some(),
                "{held}"
            );
        }
        for other in ["169.254.0.8", "fd00:ec2::1:8", "127.0.0.1"] {
            assert!(
                container.network_holding(other.parse().unwrap()).is_none(),
                "{other}"
            );
        }
    }
}
