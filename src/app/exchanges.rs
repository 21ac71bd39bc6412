//! The dashboard's own bounded list of exchanges, newest first, with a lazily kept
//! index of the ones the filter lets through, so drawing costs the visible rows only.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::broker::ExchangeRecord;

use super::filter::Filter;

/// Exchanges in arrival order, each with a sequence number that never repeats.
pub struct ExchangeList {
    records: VecDeque<Arc<ExchangeRecord>>,
    /// Sequence number of `records[0]`.
    first_seq: u64,
    capacity: usize,
    filter: Filter,
    /// Sequence numbers of the records the filter lets through, ascending.
    matches: VecDeque<u64>,
    paused: bool,
    /// What arrived while paused, shown on resume.
    held: VecDeque<Arc<ExchangeRecord>>,
    /// The selected record, or None to follow the newest.
    selected: Option<u64>,
    /// Row (newest first, among matches) shown at the top of the table.
    offset: usize,
    /// Highest record id seen, to fill gaps after the stream lagged.
    last_id: u64,
}

impl ExchangeList {
    pub fn new(capacity: usize) -> Self {
        Self {
            records: VecDeque::new(),
            first_seq: 0,
            capacity: capacity.max(1),
            filter: Filter::default(),
            matches: VecDeque::new(),
            paused: false,
            held: VecDeque::new(),
            selected: None,
            offset: 0,
            last_id: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Records kept (filtered or not).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records the filter lets through.
    pub fn match_count(&self) -> usize {
        self.matches.len()
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    pub fn held_count(&self) -> usize {
        self.held.len()
    }

    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// A new recorder numbers its exchanges from 1 again: accept them.
    pub fn restart_ids(&mut self) {
        self.last_id = 0;
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Adds an exchange (held back while paused). Records already seen are ignored.
    pub fn push(&mut self, record: Arc<ExchangeRecord>) {
        if record.id <= self.last_id && self.last_id != 0 {
            return;
        }
        self.last_id = record.id;
        if self.paused {
            if self.held.len() == self.capacity {
                self.held.pop_front();
            }
            self.held.push_back(record);
            return;
        }
        self.append(record);
    }

    fn append(&mut self, record: Arc<ExchangeRecord>) {
        if self.records.len() == self.capacity {
            self.evict_oldest();
        }
        let seq = self.first_seq + self.records.len() as u64;
        let matched = self.filter.matches(&record);
        self.records.push_back(record);
        if matched {
            self.matches.push_back(seq);
            // Keep a pinned selection where it is on screen while rows arrive above it.
            if self.selected.is_some() {
                self.offset += 1;
            }
        }
    }

    fn evict_oldest(&mut self) {
        if self.records.pop_front().is_none() {
            return;
        }
        let evicted = self.first_seq;
        self.first_seq += 1;
        if self.matches.front() == Some(&evicted) {
            self.matches.pop_front();
            if self.selected == Some(evicted) {
                self.selected = self.matches.front().copied();
            }
        }
    }

    pub fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if !self.paused {
            let held = std::mem::take(&mut self.held);
            for record in held {
                self.append(record);
            }
        }
    }

    pub fn clear(&mut self) {
        self.first_seq += self.records.len() as u64;
        self.records.clear();
        self.matches.clear();
        self.held.clear();
        self.selected = None;
        self.offset = 0;
    }

    /// Replaces the filter and rebuilds the index (the only pass over every record).
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
        let first = self.first_seq;
        self.matches = self
            .records
            .iter()
            .enumerate()
            .filter(|(_, record)| self.filter.matches(record))
            .map(|(index, _)| first + index as u64)
            .collect();
        if let Some(selected) = self.selected {
            if self.matches.binary_search(&selected).is_err() {
                self.selected = None;
            }
        }
        self.offset = 0;
    }

    fn record_at_seq(&self, seq: u64) -> Option<&Arc<ExchangeRecord>> {
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        self.records.get(index)
    }

    /// The row (0 = newest match) of the selection.
    pub fn selected_row(&self) -> usize {
        match self.selected {
            None => 0,
            Some(seq) => match self.matches.binary_search(&seq) {
                Ok(index) => self.matches.len() - 1 - index,
                Err(_) => 0,
            },
        }
    }

    pub fn is_following(&self) -> bool {
        self.selected.is_none()
    }

    pub fn selected_record(&self) -> Option<&Arc<ExchangeRecord>> {
        let seq = match self.selected {
            Some(seq) => seq,
            None => *self.matches.back()?,
        };
        self.record_at_seq(seq)
    }

    /// Moves the selection by `delta` rows (negative = newer) and keeps it within
    /// `rows` visible rows.
    pub fn move_selection(&mut self, delta: isize, rows: usize) {
        if self.matches.is_empty() {
            return;
        }
        let last = self.matches.len() - 1;
        let row = self.selected_row().saturating_add_signed(delta).min(last);
        self.select_row(row, rows);
    }

    pub fn select_row(&mut self, row: usize, rows: usize) {
        if self.matches.is_empty() {
            return;
        }
        let row = row.min(self.matches.len() - 1);
        self.selected = if row == 0 {
            None
        } else {
            Some(self.matches[self.matches.len() - 1 - row])
        };
        self.scroll_into_view(rows);
    }

    /// Adjusts the top row so the selection is visible in `rows` rows.
    pub fn scroll_into_view(&mut self, rows: usize) {
        let rows = rows.max(1);
        let row = self.selected_row();
        if row < self.offset {
            self.offset = row;
        } else if row >= self.offset + rows {
            self.offset = row + 1 - rows;
        }
    }

    /// The rows to draw: at most `rows` records from the (clamped) offset, newest first,
    /// with the selected one marked.
    pub fn visible(&self, rows: usize) -> impl Iterator<Item = (&Arc<ExchangeRecord>, bool)> {
        let count = self.matches.len();
        let selected_row = self.selected_row();
        let offset = self.offset.min(count.saturating_sub(rows.max(1)));
        let offset = if selected_row < offset {
            selected_row
        } else {
            offset
        };
        (offset..count.min(offset + rows)).filter_map(move |row| {
            let seq = self.matches[count - 1 - row];
            self.record_at_seq(seq)
                .map(|record| (record, row == selected_row))
        })
    }

    /// The top row `visible` would use, for mapping clicks to rows.
    pub fn visible_offset(&self, rows: usize) -> usize {
        let count = self.matches.len();
        let offset = self.offset.min(count.saturating_sub(rows.max(1)));
        offset.min(self.selected_row())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, status: u16) -> Arc<ExchangeRecord> {
        Arc::new(ExchangeRecord {
            path: format!("/latest/meta-data/{id}"),
            status,
            ..ExchangeRecord::sample(id)
        })
    }

    fn ids(list: &ExchangeList, rows: usize) -> Vec<u64> {
        list.visible(rows).map(|(record, _)| record.id).collect()
    }

    #[test]
    fn newest_first_and_bounded() {
        let mut list = ExchangeList::new(3);
        for id in 1..=5 {
            list.push(record(id, 200));
        }
        assert_eq!(ids(&list, 10), vec![5, 4, 3]);
        assert_eq!(list.len(), 3);
        list.push(record(4, 200));
        assert_eq!(list.len(), 3, "ids seen before are ignored");
    }

    #[test]
    fn filter_index_follows_eviction_and_arrivals() {
        let mut list = ExchangeList::new(4);
        list.set_filter(Filter::parse("status:5xx").unwrap());
        for id in 1..=6 {
            list.push(record(id, if id % 2 == 0 { 500 } else { 200 }));
        }
        assert_eq!(ids(&list, 10), vec![6, 4]);
        list.set_filter(Filter::default());
        assert_eq!(ids(&list, 10), vec![6, 5, 4, 3]);
    }

    #[test]
    fn pinned_selection_stays_on_its_record() {
        let mut list = ExchangeList::new(100);
        for id in 1..=10 {
            list.push(record(id, 200));
        }
        list.move_selection(2, 5);
        assert_eq!(list.selected_record().unwrap().id, 8);
        list.push(record(11, 200));
        assert_eq!(list.selected_record().unwrap().id, 8);
        assert_eq!(ids(&list, 3)[0], 10, "view did not jump");
        list.select_row(0, 5);
        list.push(record(12, 200));
        assert_eq!(
            list.selected_record().unwrap().id,
            12,
            "top follows the newest"
        );
    }

    #[test]
    fn pause_holds_and_resume_shows() {
        let mut list = ExchangeList::new(10);
        list.push(record(1, 200));
        list.toggle_pause();
        list.push(record(2, 200));
        assert_eq!(ids(&list, 10), vec![1]);
        assert_eq!(list.held_count(), 1);
        list.toggle_pause();
        assert_eq!(ids(&list, 10), vec![2, 1]);
        list.clear();
        assert!(list.is_empty());
        list.push(record(3, 200));
        assert_eq!(ids(&list, 10), vec![3]);
    }
}
