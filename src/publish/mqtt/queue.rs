//! The outage queue: events kept while the broker is unreachable, bounded, with a named
//! drop order. Pure.

use crate::publish::EventKind;
use std::collections::VecDeque;

/// A bounded queue of events waiting for the broker. When full, the oldest `change` is
/// dropped first: a `start` or `end` carries the track's life, while a later `change` or
/// the retained state (refreshed on reconnect) supersedes an intermediate one. With no
/// `change` left, the oldest event of any kind goes.
#[derive(Debug)]
pub struct OutageQueue<T> {
    items: VecDeque<(EventKind, T)>,
    capacity: usize,
    dropped: u64,
}

impl<T> OutageQueue<T> {
    pub fn new(capacity: usize) -> Self {
        OutageQueue { items: VecDeque::new(), capacity: capacity.max(1), dropped: 0 }
    }

    /// Queue an item; returns the one dropped to make room, if any.
    pub fn push(&mut self, kind: EventKind, item: T) -> Option<(EventKind, T)> {
        let dropped = if self.items.len() >= self.capacity {
            let victim = self.items.iter().position(|(k, _)| *k == EventKind::Change).unwrap_or(0);
            self.dropped += 1;
            self.items.remove(victim)
        } else {
            None
        };
        self.items.push_back((kind, item));
        dropped
    }

    pub fn front(&self) -> Option<&(EventKind, T)> {
        self.items.front()
    }
    pub fn pop_front(&mut self) -> Option<(EventKind, T)> {
        self.items.pop_front()
    }
    /// Put back an item that could not be sent, keeping the order.
    pub fn push_front(&mut self, kind: EventKind, item: T) {
        self.items.push_front((kind, item));
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_drops_the_oldest_change_before_any_start_or_end() {
        use EventKind::*;
        let mut q = OutageQueue::new(3);
        assert!(q.push(Start, 1).is_none());
        assert!(q.push(Change, 2).is_none());
        assert!(q.push(Change, 3).is_none());
        assert_eq!(q.push(End, 4), Some((Change, 2)));
        assert_eq!(q.push(Start, 5), Some((Change, 3)));
        // Only starts and ends left: the oldest of them goes.
        assert_eq!(q.push(Change, 6), Some((Start, 1)));
        assert_eq!(q.dropped(), 3);
        let order: Vec<i32> = std::iter::from_fn(|| q.pop_front().map(|(_, v)| v)).collect();
        assert_eq!(order, [4, 5, 6]);
    }
}
