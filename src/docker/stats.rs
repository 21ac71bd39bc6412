//! A container's stats as the engine streams them, for task metadata `/stats`.

use futures_util::{Stream, StreamExt};

use bollard::models::{
    ContainerBlkioStatEntry, ContainerCpuStats, ContainerMemoryStats, ContainerStatsResponse,
};
use bollard::query_parameters::StatsOptionsBuilder;

use super::{api, status_of, DockerError, Engine};
use crate::imds::task_metadata::{
    BlkioEntry, BlkioStats, ContainerStats, CpuStats, CpuUsage, MemoryStats, NetworkStats,
    PidsStats, StorageStats, ThrottlingData,
};

/// One frame of a container's stats stream.
#[derive(Debug, Clone, PartialEq)]
pub enum StatsFrame {
    /// A sample with the one before it in `precpu_stats`, the difference agents take CPU
    /// use from.
    Sample(Box<ContainerStats>),
    /// The stream's first sample: nothing before it yet, so no CPU use can be taken from it.
    First,
    /// The container is not running (the engine sends an empty sample each tick).
    NotRunning,
}

/// The engine's stats stream of `container` (its full id) (`stream=true`): a frame about
/// every second while it is read, each carrying the one before as `precpu_stats`. It ends
/// when the container is removed.
pub fn stats_frames(
    engine: &Engine,
    container: &str,
) -> impl Stream<Item = Result<StatsFrame, DockerError>> + Send + Unpin + 'static {
    let options = StatsOptionsBuilder::default()
        .stream(true)
        .one_shot(false)
        .build();
    let name = container.to_string();
    engine
        .docker
        .stats(container, Some(options))
        .map(move |item| match item {
            Ok(sample) if !sample.read.as_deref().is_some_and(is_set) => Ok(StatsFrame::NotRunning),
            Ok(sample) if !sample.preread.as_deref().is_some_and(is_set) => Ok(StatsFrame::First),
            Ok(sample) => Ok(StatsFrame::Sample(Box::new(stats_of(sample, &name)))),
            Err(err) if status_of(&err) == Some(404) => {
                Err(DockerError::NoSuchContainer(name.clone()))
            }
            Err(err) => Err(api(format!("reading the stats of container {name}"))(err)),
        })
}

fn is_set(time: &str) -> bool {
    !time.is_empty() && !time.starts_with("0001-01-01")
}

/// The sample as the agent passes Docker's on. Podman 4 leaves `id` empty and writes the
/// name without Docker's leading `/`: both are put as Docker says them.
fn stats_of(sample: ContainerStatsResponse, id: &str) -> ContainerStats {
    let pids = sample.pids_stats.unwrap_or_default();
    let blkio = sample.blkio_stats.unwrap_or_default();
    ContainerStats {
        read: sample.read.unwrap_or_default(),
        preread: sample.preread.unwrap_or_default(),
        pids_stats: PidsStats {
            current: pids.current,
            limit: pids.limit,
        },
        blkio_stats: BlkioStats {
            io_service_bytes_recursive: entries(blkio.io_service_bytes_recursive),
            io_serviced_recursive: entries(blkio.io_serviced_recursive),
            io_queue_recursive: entries(blkio.io_queue_recursive),
            io_service_time_recursive: entries(blkio.io_service_time_recursive),
            io_wait_time_recursive: entries(blkio.io_wait_time_recursive),
            io_merged_recursive: entries(blkio.io_merged_recursive),
            io_time_recursive: entries(blkio.io_time_recursive),
            sectors_recursive: entries(blkio.sectors_recursive),
        },
        num_procs: sample.num_procs.unwrap_or_default(),
        storage_stats: StorageStats {},
        cpu_stats: cpu(sample.cpu_stats),
        precpu_stats: cpu(sample.precpu_stats),
        memory_stats: memory(sample.memory_stats.unwrap_or_default()),
        name: sample
            .name
            .filter(|name| !name.is_empty())
            .map(|name| match name.starts_with('/') {
                true => name,
                false => format!("/{name}"),
            })
            .unwrap_or_default(),
        id: sample
            .id
            .filter(|sampled| !sampled.is_empty())
            .unwrap_or_else(|| id.to_string()),
        networks: sample
            .networks
            .unwrap_or_default()
            .into_iter()
            .map(|(interface, n)| {
                let stats = NetworkStats {
                    rx_bytes: n.rx_bytes.unwrap_or_default(),
                    rx_packets: n.rx_packets.unwrap_or_default(),
                    rx_errors: n.rx_errors.unwrap_or_default(),
                    rx_dropped: n.rx_dropped.unwrap_or_default(),
                    tx_bytes: n.tx_bytes.unwrap_or_default(),
                    tx_packets: n.tx_packets.unwrap_or_default(),
                    tx_errors: n.tx_errors.unwrap_or_default(),
                    tx_dropped: n.tx_dropped.unwrap_or_default(),
                };
                (interface, stats)
            })
            .collect(),
    }
}

fn entries(list: Option<Vec<ContainerBlkioStatEntry>>) -> Option<Vec<BlkioEntry>> {
    list.map(|list| {
        list.into_iter()
            .map(|entry| BlkioEntry {
                major: entry.major.unwrap_or_default(),
                minor: entry.minor.unwrap_or_default(),
                op: entry.op.unwrap_or_default(),
                value: entry.value.unwrap_or_default(),
            })
            .collect()
    })
}

fn cpu(stats: Option<ContainerCpuStats>) -> CpuStats {
    let stats = stats.unwrap_or_default();
    let usage = stats.cpu_usage.unwrap_or_default();
    let throttling = stats.throttling_data.unwrap_or_default();
    CpuStats {
        cpu_usage: CpuUsage {
            total_usage: usage.total_usage.unwrap_or_default(),
            percpu_usage: usage.percpu_usage,
            usage_in_kernelmode: usage.usage_in_kernelmode.unwrap_or_default(),
            usage_in_usermode: usage.usage_in_usermode.unwrap_or_default(),
        },
        system_cpu_usage: stats.system_cpu_usage,
        online_cpus: stats.online_cpus,
        throttling_data: ThrottlingData {
            periods: throttling.periods.unwrap_or_default(),
            throttled_periods: throttling.throttled_periods.unwrap_or_default(),
            throttled_time: throttling.throttled_time.unwrap_or_default(),
        },
    }
}

fn memory(stats: ContainerMemoryStats) -> MemoryStats {
    MemoryStats {
        usage: stats.usage,
        max_usage: stats.max_usage,
        stats: stats.stats.unwrap_or_default().into_iter().collect(),
        failcnt: stats.failcnt,
        limit: stats.limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_samples_get_the_id_and_name_docker_would_give() {
        let podman = ContainerStatsResponse {
            name: Some("web".into()),
            id: Some(String::new()),
            ..Default::default()
        };
        let stats = stats_of(podman, "5a92baff8e4f");
        assert_eq!(stats.id, "5a92baff8e4f");
        assert_eq!(stats.name, "/web");
        let docker = ContainerStatsResponse {
            name: Some("/web".into()),
            id: Some("0123abcd".into()),
            ..Default::default()
        };
        let stats = stats_of(docker, "ignored");
        assert_eq!(stats.id, "0123abcd");
        assert_eq!(stats.name, "/web");
    }
}
