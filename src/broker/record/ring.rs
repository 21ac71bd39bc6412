//! Where the recorder keeps exchanges and hands them to readers, with no lock that every
//! request takes: the ring is split into shards by record id (a request locks its own
//! shard), and each reader has its own bounded queue, fed without a lock from a list that
//! changes only when a reader comes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use super::entry::ExchangeRecord;

/// Shards of the ring: more than the cores that could record at once.
const SHARDS: usize = 16;
/// Records a reader may fall behind by before it loses some (told by `Lagged`): about a
/// third of a second at full load, so that the request-line printer, a thread sharing the
/// broker's core, does not lose lines when it is scheduled late. Queues grow in blocks
/// as they fill; an idle one holds almost nothing.
const READER_QUEUE: usize = 16 * 1024;
/// How long a batching reader (the request-line printer, the readiness tally) lets records
/// gather after the first before it drains them: one wake-up per window instead of one per
/// request, on the broker's cores. What such a reader lags behind; at 20k requests a second
/// a window is 200 records, well inside `READER_QUEUE`.
pub const READER_GATHER: std::time::Duration = std::time::Duration::from_millis(10);

/// The last `capacity` records, in shards by id.
pub struct ShardedRing {
    shards: Vec<Mutex<std::collections::VecDeque<Arc<ExchangeRecord>>>>,
    per_shard: usize,
    capacity: usize,
}

impl ShardedRing {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let per_shard = capacity.div_ceil(SHARDS);
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(std::collections::VecDeque::with_capacity(per_shard.min(64))))
                .collect(),
            per_shard,
            capacity,
        }
    }

    /// Keeps `record`, dropping the oldest of its shard when full (ids go round the shards,
    /// so that is the oldest overall, give or take the records still being made).
    pub fn push(&self, record: Arc<ExchangeRecord>) {
        let shard = &self.shards[shard_of(record.id)];
        let evicted = {
            let mut shard = shard.lock().unwrap_or_else(|poison| poison.into_inner());
            let evicted = (shard.len() >= self.per_shard)
                .then(|| shard.pop_front())
                .flatten();
            shard.push_back(record);
            evicted
        };
        // Freed outside the lock.
        drop(evicted);
    }

    /// The last `capacity` records, oldest first.
    pub fn snapshot(&self) -> Vec<Arc<ExchangeRecord>> {
        let mut all: Vec<Arc<ExchangeRecord>> = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(|poison| poison.into_inner());
            all.extend(shard.iter().cloned());
        }
        all.sort_unstable_by_key(|record| record.id);
        let excess = all.len().saturating_sub(self.capacity);
        all.drain(..excess);
        all
    }
}

fn shard_of(id: u64) -> usize {
    // The remainder is below SHARDS: the cast cannot truncate.
    (id % SHARDS as u64) as usize
}

/// The readers' queues. The list is replaced (copied) when a reader comes; a request
/// only loads it.
pub struct Readers {
    list: ArcSwap<Vec<Reader>>,
}

struct Reader {
    queue: mpsc::Sender<Arc<ExchangeRecord>>,
    lagged: Arc<AtomicU64>,
}

impl Default for Readers {
    fn default() -> Self {
        Self {
            list: ArcSwap::from_pointee(Vec::new()),
        }
    }
}

impl Readers {
    /// Hands `record` to every reader; one that is full loses it, and is told how many it
    /// lost before its next record.
    pub fn send(&self, record: &Arc<ExchangeRecord>) {
        let list = self.list.load();
        for reader in list.iter() {
            if let Err(mpsc::error::TrySendError::Full(_)) = reader.queue.try_send(record.clone()) {
                reader.lagged.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A new reader, seeing every record from now on; readers that went away are
    /// forgotten here.
    pub fn subscribe(&self) -> RecordStream {
        let (queue, records) = mpsc::channel(READER_QUEUE);
        let lagged = Arc::new(AtomicU64::new(0));
        self.list.rcu(|list| {
            let mut list: Vec<Reader> = list
                .iter()
                .filter(|reader| !reader.queue.is_closed())
                .map(|reader| Reader {
                    queue: reader.queue.clone(),
                    lagged: reader.lagged.clone(),
                })
                .collect();
            list.push(Reader {
                queue: queue.clone(),
                lagged: lagged.clone(),
            });
            list
        });
        RecordStream { records, lagged }
    }
}

/// Why a reader got no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamError {
    /// The reader fell behind and its queue dropped this many records (the ring still
    /// holds the recent ones).
    Missed(u64),
    /// Nothing is waiting now ([`RecordStream::try_recv`] only).
    Empty,
    /// The recorder is gone: no record will come.
    Closed,
}

/// One reader's records, in the order they were recorded; closed when the recorder goes.
pub struct RecordStream {
    records: mpsc::Receiver<Arc<ExchangeRecord>>,
    lagged: Arc<AtomicU64>,
}

impl RecordStream {
    fn missed(&self) -> Option<u64> {
        let missed = self.lagged.swap(0, Ordering::Relaxed);
        (missed > 0).then_some(missed)
    }

    pub async fn recv(&mut self) -> Result<Arc<ExchangeRecord>, StreamError> {
        if let Some(missed) = self.missed() {
            return Err(StreamError::Missed(missed));
        }
        self.records.recv().await.ok_or(StreamError::Closed)
    }

    /// As [`RecordStream::recv`], for a thread outside the runtime.
    pub fn blocking_recv(&mut self) -> Result<Arc<ExchangeRecord>, StreamError> {
        if let Some(missed) = self.missed() {
            return Err(StreamError::Missed(missed));
        }
        self.records.blocking_recv().ok_or(StreamError::Closed)
    }

    pub fn try_recv(&mut self) -> Result<Arc<ExchangeRecord>, StreamError> {
        if let Some(missed) = self.missed() {
            return Err(StreamError::Missed(missed));
        }
        self.records.try_recv().map_err(|err| match err {
            mpsc::error::TryRecvError::Empty => StreamError::Empty,
            mpsc::error::TryRecvError::Disconnected => StreamError::Closed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64) -> Arc<ExchangeRecord> {
        Arc::new(ExchangeRecord::sample(id))
    }

    #[test]
    fn the_ring_keeps_the_last_records_in_order() {
        let ring = ShardedRing::new(40);
        for id in 1..=100 {
            ring.push(record(id));
        }
        let ids: Vec<u64> = ring.snapshot().iter().map(|r| r.id).collect();
        assert_eq!(ids, (61..=100).collect::<Vec<_>>());
        let small = ShardedRing::new(2);
        for id in 1..=3 {
            small.push(record(id));
        }
        let ids: Vec<u64> = small.snapshot().iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![2, 3]);
    }

    #[tokio::test]
    async fn readers_get_records_in_order_and_are_told_what_they_missed() {
        let readers = Readers::default();
        let mut stream = readers.subscribe();
        for id in 1..=3 {
            readers.send(&record(id));
        }
        for id in 1..=3 {
            assert_eq!(stream.recv().await.unwrap().id, id);
        }
        assert!(matches!(stream.try_recv(), Err(StreamError::Empty)));
        for id in 0..(READER_QUEUE as u64 + 5) {
            readers.send(&record(id));
        }
        assert!(matches!(stream.recv().await, Err(StreamError::Missed(5))));
        assert_eq!(stream.recv().await.unwrap().id, 0);
        // A reader that went away is forgotten when the next one comes.
        drop(stream);
        let mut next = readers.subscribe();
        assert_eq!(readers.list.load().len(), 1);
        drop(readers);
        assert!(matches!(next.recv().await, Err(StreamError::Closed)));
    }
}
