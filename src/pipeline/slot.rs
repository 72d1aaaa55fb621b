//! The hand-off between capture and inference: a one-frame slot with a named policy for
//! when inference falls behind. Never an unbounded queue.

use super::config::FramePolicy;
use std::sync::{Condvar, Mutex};

struct State<T> {
    item: Option<T>,
    closed: bool,
    dropped: u64,
    /// Producers waiting in `put` for the consumer (`Block`).
    waiting: usize,
}

/// A bounded (capacity one) channel between two threads.
pub struct Slot<T> {
    policy: FramePolicy,
    state: Mutex<State<T>>,
    changed: Condvar,
}

impl<T> Slot<T> {
    pub fn new(policy: FramePolicy) -> Slot<T> {
        Slot { policy, state: Mutex::new(State { item: None, closed: false, dropped: 0, waiting: 0 }), changed: Condvar::new() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // A poisoned lock means the other side panicked; its state is still consistent
        // (every critical section is a few assignments), so carry on with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hand over an item. `FreshestWins` replaces an unconsumed one (counted as dropped);
    /// `Block` waits until the consumer took it. Returns false once the slot is closed.
    pub fn put(&self, item: T) -> bool {
        let mut s = self.lock();
        if self.policy == FramePolicy::Block {
            s.waiting += 1;
            while s.item.is_some() && !s.closed {
                s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
            }
            s.waiting -= 1;
        }
        if s.closed {
            return false;
        }
        if s.item.replace(item).is_some() {
            s.dropped += 1;
        }
        self.changed.notify_all();
        true
    }

    /// Take the item, waiting for one; `None` once closed and empty.
    pub fn take(&self) -> Option<T> {
        let mut s = self.lock();
        loop {
            if let Some(item) = s.item.take() {
                self.changed.notify_all();
                return Some(item);
            }
            if s.closed {
                return None;
            }
            s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// No more items: wakes both sides. An item already in the slot is still delivered.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// Items replaced before they were taken.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped
    }

    /// Producers inside `put` right now (blocked on a full slot, or about to return).
    pub fn waiting_producers(&self) -> usize {
        self.lock().waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::wait_until;
    use std::sync::Arc;

    #[test]
    fn freshest_wins_keeps_the_newest_and_counts_the_rest() {
        let s = Slot::new(FramePolicy::FreshestWins);
        assert!(s.put(1));
        assert!(s.put(2));
        assert!(s.put(3));
        assert_eq!(s.take(), Some(3));
        assert_eq!(s.dropped(), 2);
        s.close();
        assert!(!s.put(4));
        assert_eq!(s.take(), None);
    }

    #[test]
    fn block_delivers_everything_in_order() {
        let s = Arc::new(Slot::new(FramePolicy::Block));
        let producer = {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for i in 0..100 {
                    assert!(s.put(i));
                }
                s.close();
            })
        };
        let got: Vec<i32> = std::iter::from_fn(|| s.take()).collect();
        producer.join().expect("producer");
        assert_eq!(got, (0..100).collect::<Vec<_>>());
        assert_eq!(s.dropped(), 0);
    }

    #[test]
    fn close_releases_a_blocked_producer() {
        let s = Arc::new(Slot::new(FramePolicy::Block));
        assert!(s.put(1));
        let producer = {
            let s = Arc::clone(&s);
            std::thread::spawn(move || s.put(2))
        };
        // The producer is inside `put` while the slot is full: it is blocked, since `put`
        // only leaves its wait once the item is taken or the slot is closed.
        wait_until("the producer blocks on the full slot", || {
            assert!(!producer.is_finished(), "put returned while the slot was full");
            s.waiting_producers() == 1
        });
        s.close();
        assert!(!producer.join().expect("producer"));
        assert_eq!(s.take(), Some(1));
        assert_eq!(s.take(), None);
    }
}
