//! The periodic statistics of the live path: stage latencies and rates over one interval,
//! and every counter of the run (frames, capture losses, each output's drops and failures).

use crate::capture::SourceCounters;
use crate::publish::fanout::SinkStats;
use crate::publish::StatsEvent;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Run totals at the moment a statistics event is made.
#[derive(Debug, Clone, Copy)]
pub struct Totals<'a> {
    pub frames_in: u64,
    pub frames_processed: u64,
    /// Frames the capture → inference slot replaced before inference took them.
    pub frames_dropped: u64,
    pub bad_frames: u64,
    pub capture: SourceCounters,
    pub sinks: &'a [SinkStats],
    /// Live tracks.
    pub tracks: usize,
    /// Source time the last complete tile sweep took; `None` before the first, or without tiles.
    pub sweep_period: Option<Duration>,
}

/// Mean stage latencies and rates over one statistics interval.
#[derive(Debug, Clone)]
pub struct StatsWindow {
    pub started: Instant,
    pub frames_out: u64,
    frames_in_at_start: u64,
    pub detect: Duration,
    /// Detector runs (whole frame, track regions, tiles) over the interval.
    pub detector_calls: u64,
    pub classify: Duration,
    pub total: Duration,
}

impl StatsWindow {
    /// A window starting at `started`, when `frames_in` frames had been captured.
    pub fn new(started: Instant, frames_in: u64) -> StatsWindow {
        StatsWindow {
            started,
            frames_out: 0,
            frames_in_at_start: frames_in,
            detect: Duration::ZERO,
            detector_calls: 0,
            classify: Duration::ZERO,
            total: Duration::ZERO,
        }
    }

    /// The statistics event closing this window at `now`.
    pub fn finish(&self, camera: &str, now: Instant, totals: &Totals<'_>) -> StatsEvent {
        let secs = now.saturating_duration_since(self.started).as_secs_f64().max(1e-9);
        let per_frame = |d: Duration| if self.frames_out == 0 { 0.0 } else { d.as_secs_f64() * 1e3 / self.frames_out as f64 };
        let mut latency_ms = BTreeMap::new();
        latency_ms.insert("detect", per_frame(self.detect));
        latency_ms.insert("classify", per_frame(self.classify));
        latency_ms.insert("total", per_frame(self.total));
        let in_interval = totals.frames_in.saturating_sub(self.frames_in_at_start);
        StatsEvent {
            kind: "stats",
            camera: camera.to_owned(),
            interval_s: secs,
            fps_in: in_interval as f64 / secs,
            fps_out: self.frames_out as f64 / secs,
            frames_in: totals.frames_in,
            frames_processed: totals.frames_processed,
            frames_dropped: totals.frames_dropped,
            bad_frames: totals.bad_frames,
            events_dropped: events_dropped(totals.sinks),
            tracks: totals.tracks,
            detector_calls_per_frame: if self.frames_out == 0 { 0.0 } else { self.detector_calls as f64 / self.frames_out as f64 },
            sweep_period_s: totals.sweep_period.map(|d| d.as_secs_f64()),
            latency_ms,
            outputs: outputs(totals.sinks),
            capture_losses: totals.capture.losses,
            capture_failed_reopens: totals.capture.failed_reopens,
        }
    }
}

/// Events dropped because an output's queue was full, summed over the outputs.
pub fn events_dropped(sinks: &[SinkStats]) -> u64 {
    sinks.iter().map(|s| s.queue_dropped).sum()
}

/// Each output's counters by name: `queue_dropped`, `failed`, then the sink's own.
pub fn outputs(sinks: &[SinkStats]) -> BTreeMap<String, BTreeMap<&'static str, u64>> {
    sinks
        .iter()
        .map(|s| {
            let mut c: BTreeMap<&'static str, u64> = s.own.iter().copied().collect();
            c.insert("queue_dropped", s.queue_dropped);
            c.insert("failed", s.failed);
            (s.name.clone(), c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_reaches_the_stats_event() {
        let start = Instant::now();
        let mut w = StatsWindow::new(start, 10);
        w.frames_out = 4;
        w.classify = Duration::from_millis(8);
        w.detector_calls = 10;
        let sinks = [
            SinkStats { name: "stdout".into(), queue_dropped: 1, failed: 0, own: vec![] },
            SinkStats { name: "mqtt".into(), queue_dropped: 2, failed: 3, own: vec![("outage_dropped", 5), ("stats_dropped", 6)] },
        ];
        let totals = Totals {
            frames_in: 30,
            frames_processed: 20,
            frames_dropped: 9,
            bad_frames: 1,
            capture: SourceCounters { losses: 2, failed_reopens: 7 },
            sinks: &sinks,
            tracks: 1,
            sweep_period: Some(Duration::from_millis(1500)),
        };
        let e = w.finish("cam", start + Duration::from_secs(2), &totals);
        assert_eq!((e.interval_s, e.fps_in, e.fps_out), (2.0, 10.0, 2.0));
        assert_eq!((e.frames_in, e.frames_processed, e.frames_dropped, e.bad_frames, e.tracks), (30, 20, 9, 1, 1));
        assert_eq!((e.capture_losses, e.capture_failed_reopens, e.events_dropped), (2, 7, 3));
        assert_eq!(e.latency_ms["classify"], 2.0);
        assert_eq!((e.detector_calls_per_frame, e.sweep_period_s), (2.5, Some(1.5)));
        let mqtt = &e.outputs["mqtt"];
        assert_eq!((mqtt["queue_dropped"], mqtt["failed"], mqtt["outage_dropped"], mqtt["stats_dropped"]), (2, 3, 5, 6));
        assert_eq!(e.outputs["stdout"]["queue_dropped"], 1);
        // The new fields are additive: the JSON still starts as it did.
        let json = serde_json::to_string(&e).expect("json");
        assert!(json.starts_with(r#"{"type":"stats","camera":"cam","interval_s":2.0"#), "{json}");
        assert!(json.contains(r#""outputs":{"mqtt":{"failed":3,"outage_dropped":5,"queue_dropped":2,"stats_dropped":6}"#), "{json}");
    }
}
