//! Several sinks at once: each gets its own bounded queue and thread, so a slow or failing
//! sink (a broker away, a stuck pipe) drops its own events, counted, and never holds up the
//! others or the pipeline.

use super::{Event, NamedSink, PublishError, Publisher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often an idle sink gets [`Publisher::tick`]: the MQTT sink flushes its outage queue
/// from there when the broker comes back between events.
const TICK: Duration = Duration::from_millis(100);

/// What a full sink queue does with the next event (vector's `WhenFull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// The new event is dropped and counted (`queue_dropped`); what the queue holds still
    /// goes out, in order. The only policy: blocking would let one sink hold up the pipeline.
    #[default]
    DropNewest,
}

/// One sink's counters, totals so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SinkStats {
    pub name: String,
    /// Events dropped because its queue was full.
    pub queue_dropped: u64,
    /// Publishes that failed.
    pub failed: u64,
    /// The sink's own counters ([`Publisher::counters`]), as of its last publish or tick.
    pub own: Vec<(&'static str, u64)>,
}

/// What a sink's thread and the fan-out share.
#[derive(Default)]
struct Shared {
    dropped: AtomicU64,
    failed: AtomicU64,
    own: Mutex<Vec<(&'static str, u64)>>,
}

impl Shared {
    fn record(&self, sink: &dyn Publisher) {
        let own = sink.counters();
        if let Ok(mut o) = self.own.lock() {
            *o = own;
        }
    }
}

struct Sink {
    name: String,
    tx: Option<SyncSender<Event>>,
    thread: Option<JoinHandle<Result<(), PublishError>>>,
    shared: Arc<Shared>,
}

/// A [`Publisher`] that hands each event to every sink's queue without waiting.
pub struct Fanout {
    sinks: Vec<Sink>,
}

impl Fanout {
    /// Start one thread per sink (named `sink-<name>`), each behind a queue of `queue`
    /// events; a full queue drops the new event ([`WhenFull::DropNewest`]).
    pub fn new(sinks: Vec<NamedSink>, queue: usize) -> std::io::Result<Fanout> {
        let mut out = Vec::with_capacity(sinks.len());
        for (name, mut sink) in sinks {
            let (tx, rx) = sync_channel::<Event>(queue.max(1));
            let shared = Arc::new(Shared::default());
            let thread_shared = Arc::clone(&shared);
            let thread_name = name.clone();
            let thread = std::thread::Builder::new().name(format!("sink-{name}")).spawn(move || {
                loop {
                    match rx.recv_timeout(TICK) {
                        Ok(event) => {
                            if let Err(e) = sink.publish(&event) {
                                if thread_shared.failed.fetch_add(1, Ordering::Relaxed) == 0 {
                                    log::warn!("{thread_name}: publishing failed (further failures are counted): {e}");
                                }
                            }
                        }
                        Err(RecvTimeoutError::Timeout) => sink.tick(),
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    thread_shared.record(sink.as_ref());
                }
                let closed = sink.close();
                thread_shared.record(sink.as_ref());
                closed
            })?;
            out.push(Sink { name, tx: Some(tx), thread: Some(thread), shared });
        }
        Ok(Fanout { sinks: out })
    }

    /// Every sink's counters, in the order the sinks were given.
    pub fn sink_stats(&self) -> Vec<SinkStats> {
        self.sinks
            .iter()
            .map(|s| SinkStats {
                name: s.name.clone(),
                queue_dropped: s.shared.dropped.load(Ordering::Relaxed),
                failed: s.shared.failed.load(Ordering::Relaxed),
                own: s.shared.own.lock().map(|o| o.clone()).unwrap_or_default(),
            })
            .collect()
    }
}

impl Publisher for Fanout {
    fn publish(&mut self, event: &Event) -> Result<(), PublishError> {
        for s in &self.sinks {
            if let Some(tx) = &s.tx {
                match tx.try_send(event.clone()) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                        s.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        Ok(())
    }

    /// Let every sink drain its queue and close; the first failure is returned after all
    /// have been closed.
    fn close(&mut self) -> Result<(), PublishError> {
        for s in &mut self.sinks {
            s.tx = None;
        }
        let mut first = Ok(());
        for s in &mut self.sinks {
            let result = match s.thread.take().map(|t| t.join()) {
                Some(Ok(r)) => r,
                Some(Err(_)) => Err(PublishError::Sink { sink: s.name.clone(), reason: "its thread panicked".into() }),
                None => Ok(()),
            };
            let (dropped, failed) = (s.shared.dropped.load(Ordering::Relaxed), s.shared.failed.load(Ordering::Relaxed));
            if dropped + failed > 0 {
                log::info!("{}: {dropped} events dropped (queue full), {failed} failed", s.name);
            }
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::StatsEvent;
    use std::sync::mpsc::{channel, Receiver, Sender};
    use std::sync::Mutex;

    /// Sends what it receives; blocks on `gate` first when it has one.
    struct Probe {
        out: Sender<u64>,
        gate: Option<Arc<Mutex<()>>>,
        /// Told when an event reaches `publish`, before the gate.
        entered: Option<Sender<()>>,
        closed: Arc<AtomicU64>,
    }

    impl Publisher for Probe {
        fn publish(&mut self, event: &Event) -> Result<(), PublishError> {
            if let Some(e) = &self.entered {
                let _ = e.send(());
            }
            if let Some(g) = &self.gate {
                drop(g.lock());
            }
            if let Event::Stats(s) = event {
                let _ = self.out.send(s.frames_in);
            }
            Ok(())
        }
        fn close(&mut self) -> Result<(), PublishError> {
            self.closed.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    fn stats(n: u64) -> Event {
        Event::Stats(StatsEvent { kind: "stats", frames_in: n, ..StatsEvent::default() })
    }

    fn probe(gate: Option<Arc<Mutex<()>>>, closed: &Arc<AtomicU64>) -> (Box<dyn Publisher>, Receiver<u64>) {
        let (tx, rx) = channel();
        (Box::new(Probe { out: tx, gate, entered: None, closed: Arc::clone(closed) }), rx)
    }

    #[test]
    fn a_stuck_sink_drops_its_own_events_and_never_blocks_the_other() {
        let closed = Arc::new(AtomicU64::new(0));
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().expect("lock");
        let (fast, fast_rx) = probe(None, &closed);
        let (slow_tx, slow_rx) = channel();
        let (entered_tx, entered_rx) = channel();
        let slow: Box<dyn Publisher> =
            Box::new(Probe { out: slow_tx, gate: Some(Arc::clone(&gate)), entered: Some(entered_tx), closed: Arc::clone(&closed) });
        let mut f = Fanout::new(vec![("fast".into(), fast), ("slow".into(), slow)], 4).expect("fanout");
        // Paced by the fast sink, which keeps up; the slow one is stuck on its first event
        // (waited for, so which events fit its queue does not depend on thread timing).
        for n in 0..20 {
            f.publish(&stats(n)).expect("publish");
            assert_eq!(fast_rx.recv_timeout(Duration::from_secs(5)).expect("fast"), n);
            if n == 0 {
                entered_rx.recv_timeout(Duration::from_secs(5)).expect("slow sink took event 0");
            }
        }
        let c = f.sink_stats();
        assert_eq!((c[0].queue_dropped, c[1].name.as_str()), (0, "slow"));
        // The slow sink holds one event in hand and four queued; the rest were dropped.
        assert_eq!(c[1].queue_dropped, 15);
        drop(held);
        f.close().expect("close");
        let slow_got: Vec<u64> = slow_rx.try_iter().collect();
        assert_eq!(slow_got, [0, 1, 2, 3, 4]);
        assert_eq!(closed.load(Ordering::SeqCst), 2);
    }

    /// Counts its events as its own counter.
    struct Counting(u64);

    impl Publisher for Counting {
        fn publish(&mut self, _: &Event) -> Result<(), PublishError> {
            self.0 += 1;
            Ok(())
        }
        fn counters(&self) -> Vec<(&'static str, u64)> {
            vec![("seen", self.0)]
        }
    }

    #[test]
    fn a_sink_s_own_counters_reach_the_fan_out() {
        let mut f = Fanout::new(vec![("counting".into(), Box::new(Counting(0)))], 4).expect("fanout");
        for n in 0..3 {
            f.publish(&stats(n)).expect("publish");
        }
        crate::testutil::wait_until("the sink's counter", || f.sink_stats()[0].own == [("seen", 3)]);
        f.close().expect("close");
        assert_eq!(f.sink_stats()[0], SinkStats { name: "counting".into(), queue_dropped: 0, failed: 0, own: vec![("seen", 3)] });
    }
}
