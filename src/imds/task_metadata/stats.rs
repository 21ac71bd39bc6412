//! `${ECS_CONTAINER_METADATA_URI_V4}/stats` and `/task/stats`: Docker's stats JSON
//! (`types.StatsJSON`, as the agent passes it on), one container or a map of the task's
//! containers by Docker id. The agent's `network_rate_stats` (per-second rates from its own
//! polling) is left out: one sample has no rate.

use std::collections::BTreeMap;

use serde::Serialize;

use super::container::to_json;

/// One stats sample of one container, with Docker's field names and order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerStats {
    /// RFC 3339 times of this sample and the one before (Docker samples twice when not
    /// streaming, so `precpu_stats` holds figures to take a difference from).
    pub read: String,
    pub preread: String,
    pub pids_stats: PidsStats,
    pub blkio_stats: BlkioStats,
    /// Windows only; 0 on Linux, always written.
    pub num_procs: u32,
    pub storage_stats: StorageStats,
    pub cpu_stats: CpuStats,
    pub precpu_stats: CpuStats,
    pub memory_stats: MemoryStats,
    /// Docker's name, with its leading slash.
    pub name: String,
    pub id: String,
    /// By interface name (`eth0`); absent without networking.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, NetworkStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// Block I/O. On cgroup v2 only `io_service_bytes_recursive` has figures; the rest are
/// `null`, as Docker writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioEntry>>,
    pub io_queue_recursive: Option<Vec<BlkioEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioEntry>>,
    pub io_time_recursive: Option<Vec<BlkioEntry>>,
    pub sectors_recursive: Option<Vec<BlkioEntry>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// Windows only: Docker writes `{}` on Linux.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StorageStats {}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuStats {
    pub cpu_usage: CpuUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_cpu_usage: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online_cpus: Option<u32>,
    pub throttling_data: ThrottlingData,
}

/// Nanoseconds of CPU time since the container started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuUsage {
    pub total_usage: u64,
    /// cgroup v1 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percpu_usage: Option<Vec<u64>>,
    pub usage_in_kernelmode: u64,
    pub usage_in_usermode: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ThrottlingData {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

/// Bytes. `limit` is the host's memory when the container has no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<u64>,
    /// cgroup v1 only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_usage: Option<u64>,
    /// memory.stat: `cache`, `rss`… on cgroup v1, `anon`, `file`… on v2.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failcnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NetworkStats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// `/stats`: the caller's sample.
pub fn container_stats_json(stats: &ContainerStats) -> String {
    to_json(stats)
}

/// `/task/stats`: every container of the task by Docker id; `None` (a container that is
/// not running, or has no sample yet) is written as `{}`, as the agent writes an empty
/// `StatsResponse` for a container it has no stats of (`NewV4TaskStatsResponse`).
pub fn task_stats_json(stats: &BTreeMap<String, Option<ContainerStats>>) -> String {
    let shown: BTreeMap<&str, MaybeStats<'_>> = stats
        .iter()
        .map(|(id, sample)| (id.as_str(), MaybeStats(sample.as_ref())))
        .collect();
    to_json(&shown)
}

/// A sample, or the empty object the agent writes without one.
struct MaybeStats<'a>(Option<&'a ContainerStats>);

impl Serialize for MaybeStats<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(stats) => stats.serialize(serializer),
            None => serde::ser::SerializeMap::end(serializer.serialize_map(Some(0))?),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    /// A cgroup v2 sample as Docker 2x returns it, field for field.
    fn sample() -> ContainerStats {
        ContainerStats {
            read: "2020-10-02T00:51:13.410254284Z".into(),
            preread: "2020-10-02T00:51:12.406202398Z".into(),
            pids_stats: PidsStats {
                current: Some(3),
                limit: Some(4915),
            },
            blkio_stats: BlkioStats {
                io_service_bytes_recursive: Some(vec![BlkioEntry {
                    major: 202,
                    minor: 26368,
                    op: "read".into(),
                    value: 638976,
                }]),
                ..Default::default()
            },
            num_procs: 0,
            storage_stats: StorageStats {},
            cpu_stats: CpuStats {
                cpu_usage: CpuUsage {
                    total_usage: 360968065,
                    percpu_usage: None,
                    usage_in_kernelmode: 40000000,
                    usage_in_usermode: 290000000,
                },
                system_cpu_usage: Some(13939680000000),
                online_cpus: Some(2),
                throttling_data: ThrottlingData::default(),
            },
            precpu_stats: CpuStats::default(),
            memory_stats: MemoryStats {
                usage: Some(1806336),
                stats: [("anon".to_string(), 249856)].into(),
                limit: Some(134217728),
                ..Default::default()
            },
            name: "/curltest".into(),
            id: "5fc21e5b015f899d22618f8aede80b6d70d71b2a75465ea49d9462c8f3d2d3af".into(),
            networks: [(
                "eth0".to_string(),
                NetworkStats {
                    rx_bytes: 84,
                    rx_packets: 2,
                    tx_bytes: 84,
                    tx_packets: 2,
                    ..Default::default()
                },
            )]
            .into(),
        }
    }

    #[test]
    fn stats_keep_dockers_shape() {
        let text = container_stats_json(&sample());
        let value: Value = serde_json::from_str(&text).unwrap();
        let order = [
            "read",
            "preread",
            "pids_stats",
            "blkio_stats",
            "num_procs",
            "storage_stats",
            "cpu_stats",
            "precpu_stats",
            "memory_stats",
            "name",
            "id",
            "networks",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(value["memory_stats"]["usage"], 1806336);
        assert_eq!(value["memory_stats"]["limit"], 134217728);
        assert_eq!(value["cpu_stats"]["cpu_usage"]["total_usage"], 360968065);
        assert_eq!(value["cpu_stats"]["online_cpus"], 2);
        assert_eq!(value["networks"]["eth0"]["rx_bytes"], 84);
        assert_eq!(
            value["blkio_stats"]["io_service_bytes_recursive"][0]["op"],
            "read"
        );
        assert_eq!(value["blkio_stats"]["io_serviced_recursive"], Value::Null);
        assert_eq!(value["storage_stats"], json!({}));
        assert_eq!(value["num_procs"], 0);
        assert!(value["cpu_stats"]["cpu_usage"]
            .get("percpu_usage")
            .is_none());
        assert_eq!(
            value["precpu_stats"],
            json!({"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                   "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}})
        );
    }

    #[test]
    fn task_stats_map_docker_ids_to_samples_or_empty_objects() {
        let stats = BTreeMap::from([
            ("aaa".to_string(), Some(sample())),
            ("bbb".to_string(), None),
        ]);
        let value: Value = serde_json::from_str(&task_stats_json(&stats)).unwrap();
        assert_eq!(value["aaa"]["memory_stats"]["usage"], 1806336);
        assert_eq!(value["bbb"], json!({}));
    }
}
