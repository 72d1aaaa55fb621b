//! Reconnecting after a source goes away: a pure exponential [`Backoff`] and the
//! [`ReconnectingSource`] wrapper that reopens an `Unavailable` source after it.
//!
//! Sleeping is injected (a closure), so the wrapper is tested without real time and the
//! pipeline can pass a sleep that wakes early on shutdown.

use super::{CaptureError, CapturedFrame, FrameSource, SourceCounters};
use std::time::Duration;

/// Exponential backoff: `initial`, then doubling up to `max`; no jitter (one camera per
/// process, so there is no herd to spread out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    /// The delay the next call returns; `None` right after a reset.
    next: Option<Duration>,
}

impl Backoff {
    /// `initial` is raised to 1 ms and `max` to `initial`, so the policy always waits.
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        let initial = initial.max(Duration::from_millis(1));
        Backoff { initial, max: max.max(initial), next: None }
    }

    /// The delay before the next attempt; each call doubles the following one.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next.unwrap_or(self.initial);
        self.next = Some(delay.saturating_mul(2).min(self.max));
        delay
    }

    /// Back to `initial`, after a success.
    pub fn reset(&mut self) {
        self.next = None;
    }
}

impl Default for Backoff {
    /// 250 ms doubling to 8 s: a replugged USB camera re-enumerates in about a second,
    /// and 8 s keeps a missing one from filling the log with open attempts.
    fn default() -> Backoff {
        Backoff::new(Duration::from_millis(250), Duration::from_secs(8))
    }
}

/// Opens (or reopens) the wrapped source.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn FrameSource>, CaptureError> + Send>;

/// Waits for the given delay; returns `false` to give up (shutdown), which ends the
/// source with `Ok(None)`.
pub type Sleeper = Box<dyn FnMut(Duration) -> bool + Send>;

/// A [`FrameSource`] that survives its inner source becoming `Unavailable` (camera
/// unplugged, driver error): it drops the source, waits per the [`Backoff`], reopens and
/// carries on. `BadFrame` and `Config` errors pass through unchanged.
///
/// Logs one warning when the source is lost and one info line when frames flow again,
/// whatever the number of failed attempts in between.
pub struct ReconnectingSource {
    name: String,
    open: Opener,
    sleep: Sleeper,
    backoff: Backoff,
    source: Option<Box<dyn FrameSource>>,
    /// Set from the first failure until the next delivered frame.
    lost: bool,
    losses: u64,
    failed_attempts: u64,
}

impl ReconnectingSource {
    /// Wraps `open`; nothing is opened until the first [`FrameSource::next_frame`].
    pub fn new(name: impl Into<String>, open: Opener, backoff: Backoff, sleep: Sleeper) -> ReconnectingSource {
        ReconnectingSource { name: name.into(), open, sleep, backoff, source: None, lost: false, losses: 0, failed_attempts: 0 }
    }

    /// With the default backoff and a real `thread::sleep`.
    pub fn with_thread_sleep(name: impl Into<String>, open: Opener) -> ReconnectingSource {
        let sleep: Sleeper = Box::new(|d| {
            std::thread::sleep(d);
            true
        });
        ReconnectingSource::new(name, open, Backoff::default(), sleep)
    }

    /// How many times the source was lost (for the periodic stats line).
    pub fn losses(&self) -> u64 {
        self.losses
    }

    /// Opens and reads that failed with `Unavailable`, in total.
    pub fn failed_attempts(&self) -> u64 {
        self.failed_attempts
    }

    /// Records an `Unavailable` failure; logs only the first of a run of them.
    fn failed(&mut self, error: &CaptureError) {
        self.source = None;
        self.failed_attempts += 1;
        if !self.lost {
            self.lost = true;
            self.losses += 1;
            log::warn!("{}: source lost ({error}); reconnecting with backoff", self.name);
        }
    }
}

impl FrameSource for ReconnectingSource {
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError> {
        loop {
            let source = match self.source.as_mut() {
                Some(source) => source,
                None => match (self.open)() {
                    Ok(source) => self.source.insert(source),
                    Err(e @ CaptureError::Unavailable { .. }) => {
                        self.failed(&e);
                        if !(self.sleep)(self.backoff.next_delay()) {
                            return Ok(None);
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                },
            };
            match source.next_frame() {
                Ok(Some(frame)) => {
                    // Reset only once a frame arrives: a device that opens but fails at
                    // once must keep backing off rather than retry at the initial delay.
                    self.backoff.reset();
                    if self.lost {
                        self.lost = false;
                        log::info!("{}: source recovered after {} failed attempts", self.name, self.failed_attempts);
                    }
                    return Ok(Some(frame));
                }
                Ok(None) => return Ok(None),
                Err(e @ CaptureError::Unavailable { .. }) => {
                    self.failed(&e);
                    if !(self.sleep)(self.backoff.next_delay()) {
                        return Ok(None);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn counters(&self) -> SourceCounters {
        SourceCounters { losses: self.losses, failed_reopens: self.failed_attempts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{ScriptedSource, Step};
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::new(ms(100), ms(1000));
        let delays: Vec<_> = (0..6).map(|_| b.next_delay()).collect();
        assert_eq!(delays, [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]);
        b.reset();
        assert_eq!(b.next_delay(), ms(100));
        // Degenerate settings still wait.
        let mut z = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(z.next_delay(), ms(1));
        assert_eq!(z.next_delay(), ms(1));
    }

    fn gone() -> CaptureError {
        CaptureError::Unavailable { source_name: "fake".into(), reason: "unplugged".into() }
    }

    type Harness = (ReconnectingSource, Arc<Mutex<Vec<Duration>>>, Arc<Mutex<usize>>);

    /// A wrapper whose opener fails while `opens` says so and whose sleeps are recorded.
    fn harness(frames: &[Step], opens: &[bool], give_up_after: usize) -> Harness {
        let script = Arc::new(Mutex::new(frames.iter().copied().collect::<VecDeque<_>>()));
        let opens = Arc::new(Mutex::new(opens.iter().copied().collect::<VecDeque<_>>()));
        let open_calls = Arc::new(Mutex::new(0usize));
        let calls = open_calls.clone();
        let open: Opener = Box::new(move || {
            *calls.lock().map_err(|_| gone())? += 1;
            if opens.lock().map_err(|_| gone())?.pop_front().unwrap_or(true) {
                Ok(Box::new(ScriptedSource::shared(script.clone())) as Box<dyn FrameSource>)
            } else {
                Err(gone())
            }
        });
        let slept = Arc::new(Mutex::new(Vec::new()));
        let record = slept.clone();
        let sleep: Sleeper = Box::new(move |d| {
            let mut v = record.lock().expect("sleep log");
            v.push(d);
            v.len() < give_up_after
        });
        (ReconnectingSource::new("cam", open, Backoff::new(ms(100), ms(400)), sleep), slept, open_calls)
    }

    #[test]
    fn reopens_after_loss_with_backoff_and_counts_one_loss() {
        use Step::*;
        // Two frames, the device vanishes, four reopen attempts fail, then it is back.
        let (mut src, slept, open_calls) =
            harness(&[Frame(1), Frame(1), Gone, Frame(1), Frame(1)], &[true, false, false, false, false, true], 100);
        let mut seqs = Vec::new();
        while let Some(f) = src.next_frame().expect("no error surfaces") {
            seqs.push(f.sequence);
        }
        // The reopened source restarts its own sequence.
        assert_eq!(seqs, [1, 2, 1, 2]);
        assert_eq!(*slept.lock().expect("log"), [ms(100), ms(200), ms(400), ms(400), ms(400)]);
        assert_eq!(*open_calls.lock().expect("calls"), 6);
        assert_eq!(src.losses(), 1);
        assert_eq!(src.failed_attempts(), 5);
    }

    #[test]
    fn backoff_resets_only_after_a_frame() {
        use Step::*;
        let (mut src, slept, _) = harness(&[Gone, Gone, Frame(1), Gone, Frame(1)], &[], 100);
        assert!(src.next_frame().expect("frame").is_some());
        assert!(src.next_frame().expect("frame").is_some());
        // Opens succeed but reads fail: delays still grow; after the frame they restart.
        assert_eq!(*slept.lock().expect("log"), [ms(100), ms(200), ms(100)]);
        assert_eq!(src.losses(), 2);
    }

    #[test]
    fn bad_frames_and_config_errors_pass_through() {
        use Step::*;
        let (mut src, slept, _) = harness(&[Bad, Frame(1)], &[], 100);
        assert!(matches!(src.next_frame(), Err(CaptureError::BadFrame { .. })));
        assert!(src.next_frame().expect("frame").is_some());
        assert!(slept.lock().expect("log").is_empty());

        let open: Opener = Box::new(|| Err(CaptureError::Config { source_name: "cam".into(), reason: "no such format".into() }));
        let mut src = ReconnectingSource::new("cam", open, Backoff::default(), Box::new(|_| true));
        assert!(matches!(src.next_frame(), Err(CaptureError::Config { .. })));
    }

    #[test]
    fn a_sleeper_returning_false_ends_the_source() {
        let (mut src, slept, _) = harness(&[], &[false; 10], 3);
        assert!(src.next_frame().expect("clean end").is_none());
        assert_eq!(slept.lock().expect("log").len(), 3);
        assert_eq!(src.losses(), 1);
        assert_eq!(src.name(), "cam");
    }
}
