//! A small memo of recent answers, meant to live in a `thread_local!`: the hot paths keep
//! what they computed last (a rendered body, a parsed document, a verified token) per worker
//! thread, so the next request for the same thing takes no shared lock.
//!
//! Each use declares its own thread-local holding a [`Memo`]; how entries are found,
//! replaced and evicted is written (and tested) here once:
//! - at most `N` entries; a new one evicts the oldest (entries are kept in the order they
//!   were remembered);
//! - remembering an entry first drops the ones it replaces (the caller says which);
//! - [`Memo::forget`] drops entries on demand, for example credentials that were rotated:
//!   a memo must not keep an old secret alive once something newer exists.

/// Up to `N` entries of `T`, oldest first.
#[derive(Debug)]
pub struct Memo<T, const N: usize> {
    entries: Vec<T>,
}

impl<T, const N: usize> Memo<T, N> {
    /// An empty memo (usable in a `const` thread-local initialiser).
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// The first entry `matches` accepts.
    pub fn find(&self, matches: impl Fn(&T) -> bool) -> Option<&T> {
        self.entries.iter().find(|entry| matches(entry))
    }

    /// Keeps `entry`: first drops every entry it `replaces`, then the oldest while full.
    pub fn remember(&mut self, entry: T, replaces: impl Fn(&T) -> bool) {
        self.entries.retain(|kept| !replaces(kept));
        while self.entries.len() >= N.max(1) {
            self.entries.remove(0);
        }
        self.entries.push(entry);
    }

    /// Drops every entry `stale` accepts; returns how many went.
    pub fn forget(&mut self, stale: impl Fn(&T) -> bool) -> usize {
        let before = self.entries.len();
        self.entries.retain(|kept| !stale(kept));
        before - self.entries.len()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<T, const N: usize> Default for Memo<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_goes_when_full_and_a_replacement_takes_its_place() {
        let mut memo: Memo<(u32, &str), 3> = Memo::new();
        for (key, value) in [(1, "a"), (2, "b"), (3, "c")] {
            memo.remember((key, value), |kept| kept.0 == key);
        }
        assert_eq!(memo.len(), 3);
        // Full: the oldest (1) goes.
        memo.remember((4, "d"), |kept| kept.0 == 4);
        assert!(memo.find(|kept| kept.0 == 1).is_none());
        assert_eq!(memo.find(|kept| kept.0 == 4), Some(&(4, "d")));
        // A replacement drops the entry it replaces, not the oldest.
        memo.remember((3, "c2"), |kept| kept.0 == 3);
        assert_eq!(memo.len(), 3);
        assert_eq!(memo.find(|kept| kept.0 == 3), Some(&(3, "c2")));
        assert_eq!(memo.find(|kept| kept.0 == 2), Some(&(2, "b")));
    }

    #[test]
    fn forgetting_drops_what_is_stale_and_says_how_much() {
        let mut memo: Memo<u32, 8> = Memo::default();
        for value in 0..6 {
            memo.remember(value, |_| false);
        }
        assert_eq!(memo.forget(|value| value % 2 == 0), 3);
        assert_eq!(memo.len(), 3);
        assert!(memo.find(|value| *value == 2).is_none());
        assert_eq!(memo.forget(|_| true), 3);
        assert!(memo.is_empty());
    }

    #[test]
    fn a_memo_of_no_room_keeps_the_newest_only() {
        let mut memo: Memo<u32, 0> = Memo::new();
        memo.remember(1, |_| false);
        memo.remember(2, |_| false);
        assert_eq!(memo.len(), 1);
        assert_eq!(memo.find(|_| true), Some(&2));
    }
}
