//! Stats for task metadata `/stats` and `/task/stats`, answered from memory after the
//! first time (docs/ecs-task-metadata.md, "Stats").
//!
//! The engine needs 1 to 2 s for a sample with CPU use in it (it measures twice), and
//! observability agents poll `/stats` every 10 to 60 s. So the first read of a container
//! opens the engine's stats stream and waits for its first usable frame (at most
//! [`Limits::first_wait`]); the stream then keeps the latest frame while someone reads it,
//! as the ECS agent answers from its own stats engine. A container nobody read for
//! [`Limits::idle`] stops being watched, one that is removed drops out when its stream
//! ends, and at most [`Limits::capacity`] are watched (the least recently read goes first).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::docker::{DockerError, StatsFrame};
use crate::imds::task_metadata::ContainerStats;

/// Opens a container's stats stream (the engine's; a test's in unit tests).
pub(crate) type FrameSource =
    Arc<dyn Fn(&str) -> BoxStream<'static, Result<StatsFrame, DockerError>> + Send + Sync>;

/// How long the first read waits, how long an unread container stays watched, how many.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub first_wait: Duration,
    pub idle: Duration,
    pub capacity: usize,
    /// How often a quiet stream (no frame) is checked for idleness.
    pub check_every: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Two engine ticks (about 2 s) with room for a busy engine, and still inside
            // the few seconds agents give a metadata request.
            first_wait: Duration::from_secs(4),
            idle: Duration::from_secs(60),
            capacity: 64,
            check_every: Duration::from_secs(5),
        }
    }
}

/// What a read found.
#[derive(Debug, Clone)]
pub(crate) enum Sample {
    Ready(Arc<ContainerStats>),
    NotRunning,
    /// No sample to give (none yet within the wait, or the stream failed): why.
    Unavailable(String),
}

#[derive(Debug, Clone)]
enum Latest {
    Warming,
    Sample(Arc<ContainerStats>),
    NotRunning,
    Ended(String),
}

struct Watched {
    latest: watch::Receiver<Latest>,
    last_read: Instant,
    /// Tells this watch from a later one of the same container.
    generation: u64,
    task: AbortHandle,
}

struct Shared {
    watched: Mutex<HashMap<String, Watched>>,
    next_generation: AtomicU64,
    source: FrameSource,
    limits: Limits,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Watched>> {
        self.watched.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the watch `generation` of `id` was last read; None once it is gone.
    fn last_read(&self, id: &str, generation: u64) -> Option<Instant> {
        self.lock()
            .get(id)
            .filter(|watched| watched.generation == generation)
            .map(|watched| watched.last_read)
    }

    fn forget(&self, id: &str, generation: u64) {
        let mut watched = self.lock();
        if watched.get(id).is_some_and(|w| w.generation == generation) {
            watched.remove(id);
        }
    }
}

/// The latest stats of the containers being read.
pub(crate) struct StatsCache {
    shared: Arc<Shared>,
}

impl StatsCache {
    pub fn new(source: FrameSource, limits: Limits) -> StatsCache {
        StatsCache {
            shared: Arc::new(Shared {
                watched: Mutex::new(HashMap::new()),
                next_generation: AtomicU64::new(0),
                source,
                limits,
            }),
        }
    }

    /// The latest sample of container `id` (Docker's full id), waiting for the first one.
    pub async fn sample(&self, id: &str) -> Sample {
        let mut latest = self.watch(id);
        let first_wait = self.shared.limits.first_wait;
        let waited = tokio::time::timeout(
            first_wait,
            latest.wait_for(|latest| !matches!(latest, Latest::Warming)),
        )
        .await;
        // The guard is dropped here, before any other await.
        let latest = match waited {
            Ok(Ok(latest)) => (*latest).clone(),
            Ok(Err(_)) => Latest::Ended("its stats stream ended".to_string()),
            Err(_) => {
                return Sample::Unavailable(format!(
                    "no stats sample within {} s",
                    first_wait.as_secs_f32()
                ))
            }
        };
        match latest {
            Latest::Sample(stats) => Sample::Ready(stats),
            Latest::NotRunning => Sample::NotRunning,
            Latest::Ended(why) => Sample::Unavailable(why),
            Latest::Warming => Sample::Unavailable("no stats sample yet".to_string()),
        }
    }

    /// The watch of `id`, started now if there is none, marked as read.
    fn watch(&self, id: &str) -> watch::Receiver<Latest> {
        let shared = &self.shared;
        let now = Instant::now();
        let mut watched = shared.lock();
        if let Some(existing) = watched.get_mut(id) {
            existing.last_read = now;
            return existing.latest.clone();
        }
        while watched.len() >= shared.limits.capacity.max(1) {
            let Some(oldest) = watched
                .iter()
                .min_by_key(|(_, w)| w.last_read)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            if let Some(evicted) = watched.remove(&oldest) {
                evicted.task.abort();
            }
        }
        let (sender, receiver) = watch::channel(Latest::Warming);
        let generation = shared.next_generation.fetch_add(1, Ordering::Relaxed);
        let frames = (shared.source)(id);
        let task = tokio::spawn(follow(
            Arc::downgrade(shared),
            id.to_string(),
            generation,
            sender,
            frames,
            shared.limits.check_every,
        ))
        .abort_handle();
        watched.insert(
            id.to_string(),
            Watched {
                latest: receiver.clone(),
                last_read: now,
                generation,
                task,
            },
        );
        receiver
    }

    /// The containers watched now.
    #[cfg(test)]
    fn watched(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.shared.lock().keys().cloned().collect();
        ids.sort();
        ids
    }
}

impl Drop for StatsCache {
    fn drop(&mut self) {
        for (_, watched) in self.shared.lock().drain() {
            watched.task.abort();
        }
    }
}

/// Keeps the latest frame of one container until nobody reads it or its stream ends.
async fn follow(
    shared: Weak<Shared>,
    id: String,
    generation: u64,
    sender: watch::Sender<Latest>,
    mut frames: BoxStream<'static, Result<StatsFrame, DockerError>>,
    check_every: Duration,
) {
    loop {
        match tokio::time::timeout(check_every, frames.next()).await {
            Ok(Some(Ok(StatsFrame::Sample(stats)))) => {
                sender.send_replace(Latest::Sample(Arc::from(stats)));
            }
            Ok(Some(Ok(StatsFrame::NotRunning))) => {
                sender.send_replace(Latest::NotRunning);
            }
            // Nothing before it to take CPU use from: wait for the next.
            Ok(Some(Ok(StatsFrame::First))) => {}
            Ok(Some(Err(err))) => {
                tracing::debug!(container = %id, "stats stream failed: {err}");
                sender.send_replace(Latest::Ended(err.to_string()));
                break;
            }
            Ok(None) => {
                sender.send_replace(Latest::Ended("the container is gone".to_string()));
                break;
            }
            Err(_quiet) => {}
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let idle = shared.limits.idle;
        match shared.last_read(&id, generation) {
            Some(read) if read.elapsed() < idle => {}
            // Unread for a while, or replaced: stop watching.
            _ => {
                shared.forget(&id, generation);
                return;
            }
        }
    }
    if let Some(shared) = shared.upgrade() {
        shared.forget(&id, generation);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    type Feeds =
        Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Result<StatsFrame, DockerError>>>>>;

    /// A cache whose streams are fed by the test, one sender per container opened.
    fn cache(limits: Limits) -> (Arc<StatsCache>, Feeds) {
        let feeds: Feeds = Arc::default();
        let opened = feeds.clone();
        let source: FrameSource = Arc::new(move |id: &str| {
            let (sender, receiver) = mpsc::unbounded_channel();
            opened.lock().unwrap().insert(id.to_string(), sender);
            futures_util::stream::unfold(receiver, |mut receiver| async move {
                receiver.recv().await.map(|frame| (frame, receiver))
            })
            .boxed()
        });
        (Arc::new(StatsCache::new(source, limits)), feeds)
    }

    /// Short limits: these tests run in real time.
    fn limits() -> Limits {
        Limits {
            first_wait: Duration::from_millis(300),
            idle: Duration::from_millis(300),
            capacity: 2,
            check_every: Duration::from_millis(20),
        }
    }

    fn frame(read: &str) -> Result<StatsFrame, DockerError> {
        Ok(StatsFrame::Sample(Box::new(ContainerStats {
            read: read.to_string(),
            ..Default::default()
        })))
    }

    fn feed(feeds: &Feeds, id: &str, frame: Result<StatsFrame, DockerError>) {
        let feeds = feeds.lock().unwrap();
        let _ = feeds[id].send(frame);
    }

    fn read_time(sample: Sample) -> String {
        match sample {
            Sample::Ready(stats) => stats.read.clone(),
            other => panic!("no sample: {other:?}"),
        }
    }

    /// Reads `id` in the background, feeding `frames` once its stream is open.
    async fn read_fed(
        cache: &Arc<StatsCache>,
        feeds: &Feeds,
        id: &str,
        frames: Vec<Result<StatsFrame, DockerError>>,
    ) -> Sample {
        let reader = cache.clone();
        let name = id.to_string();
        let read = tokio::spawn(async move { reader.sample(&name).await });
        while !feeds.lock().unwrap().contains_key(id) {
            tokio::task::yield_now().await;
        }
        for frame in frames {
            feed(feeds, id, frame);
        }
        read.await.unwrap()
    }

    #[tokio::test]
    async fn the_first_read_waits_for_a_usable_frame_then_reads_come_from_memory() {
        let limits = Limits {
            first_wait: Duration::from_secs(30),
            ..limits()
        };
        let (cache, feeds) = cache(limits);
        let first = read_fed(
            &cache,
            &feeds,
            "a",
            vec![Ok(StatsFrame::First), frame("t1")],
        )
        .await;
        assert_eq!(
            read_time(first),
            "t1",
            "the first frame has no CPU baseline"
        );
        feed(&feeds, "a", frame("t2"));
        let mut latest = String::new();
        for _ in 0..1000 {
            latest = read_time(cache.sample("a").await);
            if latest == "t2" {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(latest, "t2", "the newest frame is answered");
        assert_eq!(feeds.lock().unwrap().len(), 1, "one stream for all reads");
    }

    #[tokio::test]
    async fn no_frame_within_the_wait_is_unavailable() {
        let (cache, _feeds) = cache(limits());
        assert!(matches!(cache.sample("a").await, Sample::Unavailable(_)));
    }

    #[tokio::test]
    async fn unread_containers_stop_being_watched() {
        let (cache, feeds) = cache(limits());
        read_time(read_fed(&cache, &feeds, "a", vec![frame("t1")]).await);
        assert_eq!(cache.watched(), ["a"]);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(cache.watched().is_empty(), "unread for longer than idle");
        assert!(feeds.lock().unwrap()["a"].is_closed(), "its stream let go");
    }

    #[tokio::test]
    async fn removed_containers_drop_out_and_stopped_ones_say_so() {
        let (cache, feeds) = cache(limits());
        let read = read_fed(&cache, &feeds, "a", vec![Ok(StatsFrame::NotRunning)]).await;
        assert!(matches!(read, Sample::NotRunning), "{read:?}");
        // The engine ends the stream when the container is removed.
        feeds.lock().unwrap().remove("a");
        for _ in 0..100 {
            if cache.watched().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(cache.watched().is_empty());
    }

    #[tokio::test]
    async fn the_least_recently_read_goes_first_when_full() {
        let limits = Limits {
            idle: Duration::from_secs(60),
            ..limits()
        };
        let (cache, feeds) = cache(limits);
        for id in ["a", "b", "a", "c"] {
            read_fed(&cache, &feeds, id, vec![frame("t")]).await;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(cache.watched(), ["a", "c"], "b was read least recently");
        for _ in 0..100 {
            if feeds.lock().unwrap()["b"].is_closed() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(feeds.lock().unwrap()["b"].is_closed(), "its stream let go");
    }
}
