//! The live path: capture → detect → align → classify → track → smooth → publish.
//!
//! Threads and queues, all bounded:
//!
//! - `capture` reads the source and hands each frame to a one-frame [`Slot`] (freshest frame
//!   wins for cameras, blocking for files); replaced frames are counted;
//! - `inference` takes frames from the slot, detects, aligns and classifies, feeds
//!   [`tracks::Tracks`], and hands each event straight to the fan-out;
//! - `sink-<name>`, one per output ([`Fanout`]), each behind its own bounded queue: a slow
//!   output drops (drop-newest, counted) its own events and never holds up inference or the
//!   other outputs.
//!
//! One [`Shutdown`] handle (SIGINT/SIGTERM) stops capture; the other threads drain and stop.
//! Either thread ending for any reason, a panic included, closes the slot, so the other one
//! stops too instead of waiting forever.

pub mod stats;
pub mod tracks;

use super::config::FramePolicy;
use super::slot::Slot;
use crate::align::{align, AlignOptions};
use crate::capture::{CaptureError, CapturedFrame, FrameSource, SourceCounters};
use crate::classify::Classifier;
use crate::detect::schedule::SweepScheduler;
use crate::detect::tiles::{TiledDetector, TilingOptions};
use crate::detect::FaceDetector;
use crate::frame::BBox;
use crate::publish::fanout::{Fanout, SinkStats};
use crate::publish::{Event, NamedSink, Publisher};
use crate::shutdown::Shutdown;
use crate::smooth::SmootherConfig;
use crate::track::TrackerConfig;
use stats::{StatsWindow, Totals};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tracks::{TrackParams, Tracks};

/// Everything the live loop needs besides its stages.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub camera: String,
    /// Tile windows for faces down to `tiling.min_face` (0: the whole frame only).
    pub tiling: TilingOptions,
    /// Cross-window merge threshold (the detector's own NMS IoU).
    pub merge_iou: f32,
    /// Frames a full tile sweep is spread over.
    pub sweep_frames: usize,
    /// Re-find each live track in a window around its predicted box every frame.
    pub track_regions: bool,
    pub tracker: TrackerConfig,
    pub smoother: SmootherConfig,
    pub clip_window: usize,
    pub align: AlignOptions,
    pub frames: FramePolicy,
    /// Events waiting for each output.
    pub output_queue: usize,
    /// `None`: no statistics events. `Some(ZERO)`: one after every frame.
    pub stats_interval: Option<Duration>,
    /// systemd watchdog ping interval; `None` when not under a watchdog.
    pub watchdog: Option<Duration>,
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("capture stopped: {0}")]
    Capture(#[source] CaptureError),
    #[error("a pipeline thread panicked")]
    Panicked,
    #[error("cannot start a pipeline thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// Totals of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub frames_in: u64,
    pub frames_processed: u64,
    /// Frames the slot replaced before inference took them (freshest-wins).
    pub frames_dropped: u64,
    pub bad_frames: u64,
    /// Events handed to the outputs.
    pub events: u64,
    /// Events an output's full queue dropped, summed over the outputs.
    pub events_dropped: u64,
    /// Publishes that failed, and failed closes, over all outputs.
    pub publish_errors: u64,
    /// Each output's counters at the end.
    pub outputs: Vec<SinkStats>,
    /// Losses and failed reopens of the source.
    pub capture: SourceCounters,
}

/// What the capture thread counts, read by the inference thread for statistics.
#[derive(Default)]
struct CaptureCounters {
    frames_in: AtomicU64,
    bad_frames: AtomicU64,
    losses: AtomicU64,
    failed_reopens: AtomicU64,
}

impl CaptureCounters {
    fn source(&self) -> SourceCounters {
        SourceCounters { losses: self.losses.load(Ordering::Relaxed), failed_reopens: self.failed_reopens.load(Ordering::Relaxed) }
    }
}

/// Closes the slot when dropped, so a thread that ends, by returning or by panicking,
/// always releases the other side.
struct CloseOnDrop<'a>(&'a Slot<CapturedFrame>);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Run until the source ends or `shutdown` is triggered. Events go to every sink of `sinks`
/// (by name), each behind its own queue of `cfg.output_queue` events.
pub fn run(
    mut source: Box<dyn FrameSource>,
    detector: &mut dyn FaceDetector,
    classifier: &mut dyn Classifier,
    sinks: Vec<NamedSink>,
    cfg: &LiveConfig,
    shutdown: &Shutdown,
) -> Result<RunSummary, LiveError> {
    let fanout = Fanout::new(sinks, cfg.output_queue).map_err(LiveError::Spawn)?;
    let slot: Slot<CapturedFrame> = Slot::new(cfg.frames);
    let counters = CaptureCounters::default();
    let source_name = source.name().to_owned();
    log::info!("source {source_name} opened; camera {}", cfg.camera);

    let (capture_result, inference_result) = std::thread::scope(|scope| {
        let capture = std::thread::Builder::new().name("capture".into()).spawn_scoped(scope, || {
            let _close = CloseOnDrop(&slot);
            capture_loop(source.as_mut(), &slot, &counters, shutdown)
        });
        let capture = match capture {
            Ok(c) => c,
            Err(e) => return (Ok(Ok(())), Err(LiveError::Spawn(e))),
        };
        let inference = std::thread::Builder::new().name("inference".into()).spawn_scoped(scope, || {
            let _close = CloseOnDrop(&slot);
            inference_loop(detector, classifier, fanout, &slot, &counters, cfg)
        });
        let inference = match inference {
            Ok(i) => i.join().map_err(|_| LiveError::Panicked),
            Err(e) => {
                // Nobody will take frames: release capture.
                slot.close();
                Err(LiveError::Spawn(e))
            }
        };
        (capture.join(), inference)
    });
    let mut summary = inference_result?;
    summary.frames_in = counters.frames_in.load(Ordering::Relaxed);
    summary.frames_dropped = slot.dropped();
    summary.bad_frames = counters.bad_frames.load(Ordering::Relaxed);
    summary.capture = counters.source();
    log::info!(
        "source {source_name} stopped: {} frames in, {} processed, {} dropped, {} bad, {} events ({} dropped by full output queues), \
         source lost {} times",
        summary.frames_in,
        summary.frames_processed,
        summary.frames_dropped,
        summary.bad_frames,
        summary.events,
        summary.events_dropped,
        summary.capture.losses
    );
    match capture_result {
        Ok(Ok(())) => Ok(summary),
        Ok(Err(e)) => Err(LiveError::Capture(e)),
        Err(_) => Err(LiveError::Panicked),
    }
}

fn capture_loop(
    source: &mut dyn FrameSource,
    slot: &Slot<CapturedFrame>,
    counters: &CaptureCounters,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    let mut reported_bad = false;
    let result = loop {
        if shutdown.is_triggered() {
            break Ok(());
        }
        let next = source.next_frame();
        let c = source.counters();
        counters.losses.store(c.losses, Ordering::Relaxed);
        counters.failed_reopens.store(c.failed_reopens, Ordering::Relaxed);
        match next {
            Ok(Some(frame)) => {
                counters.frames_in.fetch_add(1, Ordering::Relaxed);
                if !slot.put(frame) {
                    break Ok(());
                }
            }
            Ok(None) => break Ok(()),
            Err(CaptureError::BadFrame { source_name, reason }) => {
                if !reported_bad {
                    log::warn!("{source_name}: skipping bad frames (counted in stats), first: {reason}");
                    reported_bad = true;
                }
                counters.bad_frames.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => break Err(e),
        }
    };
    result
}

/// The inference thread: frames from the slot, events to the fan-out; closes the fan-out
/// (every sink drains its queue) once the slot is closed and empty.
fn inference_loop(
    detector: &mut dyn FaceDetector,
    classifier: &mut dyn Classifier,
    mut fanout: Fanout,
    slot: &Slot<CapturedFrame>,
    counters: &CaptureCounters,
    cfg: &LiveConfig,
) -> RunSummary {
    let params = TrackParams { camera: cfg.camera.clone(), tracker: cfg.tracker, smoother: cfg.smoother, clip_window: cfg.clip_window };
    let mut tracks = Tracks::new(params, classifier.folded().clone());
    let mut summary = RunSummary::default();
    let mut stats = StatsWindow::new(Instant::now(), 0);
    let mut watchdog = cfg.watchdog.map(crate::notify::Watchdog::new);
    let mut detector = TiledDetector::new(detector, cfg.tiling, cfg.merge_iou);
    // Rebuilt when the frame size changes (a reopened camera may deliver another size).
    let mut sweep: Option<((u32, u32), SweepScheduler)> = None;
    let mut reported_error = false;
    let mut report = |what: &str, e: &dyn std::fmt::Display| {
        if !reported_error {
            log::warn!("{what} failed on a frame (further failures are not logged): {e}");
            reported_error = true;
        }
    };
    while let Some(frame) = slot.take() {
        if let Some(w) = watchdog.as_mut() {
            w.kick();
        }
        let (t0, ts) = (Instant::now(), frame.timestamp);
        let (w, h) = frame.image.dimensions();
        if sweep.as_ref().is_none_or(|(size, _)| *size != (w, h)) {
            let plan = detector.plan(w, h).to_vec();
            sweep = Some(((w, h), SweepScheduler::new(&plan, w, h, cfg.sweep_frames)));
        }
        let tracked = if cfg.track_regions && cfg.tiling.min_face > 0 { tracks.predicted(ts) } else { vec![] };
        let windows = sweep.as_mut().map(|(_, s)| s.windows(ts, w, h, &tracked)).unwrap_or_default();
        let calls_before = detector.calls;
        let detections = detector.detect_windows(&frame.image, &windows).unwrap_or_else(|e| {
            report("detection", &e);
            Vec::new()
        });
        stats.detect += t0.elapsed();
        stats.detector_calls += detector.calls - calls_before;

        let boxes: Vec<BBox> = detections.iter().map(|d| d.bbox).collect();
        let seen = tracks.on_detections(ts, &boxes);
        let t = Instant::now();
        for (det, &id) in detections.iter().zip(&seen.ids) {
            let (crop, _) = align(&frame.image, &det.bbox, det.eyes(), &cfg.align);
            match classifier.classify((&crop).into()) {
                Ok(c) => {
                    if let Some(e) = tracks.on_classification(id, ts, det.bbox, c) {
                        emit(&mut fanout, Event::Expression(e), &mut summary);
                    }
                }
                Err(e) => report("classification", &e),
            }
        }
        stats.classify += t.elapsed();
        // A frame's own changes first, then the tracks it ended.
        for e in seen.ended {
            emit(&mut fanout, Event::Expression(e), &mut summary);
        }
        stats.total += t0.elapsed();
        stats.frames_out += 1;
        summary.frames_processed += 1;
        if let Some(interval) = cfg.stats_interval {
            let now = Instant::now();
            if now.saturating_duration_since(stats.started) >= interval {
                let frames_in = counters.frames_in.load(Ordering::Relaxed);
                let sinks = fanout.sink_stats();
                let totals = Totals {
                    frames_in,
                    frames_processed: summary.frames_processed,
                    frames_dropped: slot.dropped(),
                    bad_frames: counters.bad_frames.load(Ordering::Relaxed),
                    capture: counters.source(),
                    sinks: &sinks,
                    tracks: tracks.len(),
                    sweep_period: sweep.as_ref().and_then(|(_, s)| s.last_period()),
                };
                let event = stats.finish(&cfg.camera, now, &totals);
                log::debug!("stats: {event:?}");
                emit(&mut fanout, Event::Stats(event), &mut summary);
                stats = StatsWindow::new(now, frames_in);
            }
        }
    }
    for e in tracks.finish() {
        emit(&mut fanout, Event::Expression(e), &mut summary);
    }
    let closed = fanout.close();
    summary.outputs = fanout.sink_stats();
    summary.events_dropped = stats::events_dropped(&summary.outputs);
    summary.publish_errors = summary.outputs.iter().map(|s| s.failed).sum::<u64>() + u64::from(closed.is_err());
    if let Err(e) = closed {
        log::warn!("closing the outputs failed: {e}");
    }
    summary
}

/// Hand an event to every output's queue.
fn emit(fanout: &mut Fanout, event: Event, summary: &mut RunSummary) {
    // The fan-out never fails: a full queue drops the event and counts it.
    let _ = fanout.publish(&event);
    summary.events += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::EventKind;
    use crate::testutil::{BrightnessClassifier, CentreFace, Collect, Gate, ScriptedSource, Step, DEADLINE};

    fn config(frames: FramePolicy) -> LiveConfig {
        LiveConfig {
            camera: "cam".into(),
            tiling: TilingOptions { min_face: 0, ..TilingOptions::for_input(192) },
            merge_iou: 0.3,
            sweep_frames: 1,
            track_regions: false,
            tracker: TrackerConfig::default(),
            smoother: SmootherConfig::default(),
            clip_window: 4,
            align: AlignOptions { margin: 0.0, size: 8, rotate: false },
            frames,
            output_queue: 16,
            stats_interval: None,
            watchdog: None,
        }
    }

    #[test]
    fn a_scripted_run_emits_start_change_end_and_counts_bad_frames() {
        // Bright for 10 frames, dim for 10, then nobody; call 25 is a corrupt frame.
        let mut steps: Vec<Step> = [255u8; 10].into_iter().chain([100; 10]).chain([0; 5]).map(Step::Frame).collect();
        steps.push(Step::Bad);
        steps.extend([Step::Frame(0); 14]);
        let source = Box::new(ScriptedSource::new(steps));
        let sink = Collect::default();
        let mut classifier = BrightnessClassifier::new();
        let summary =
            run(source, &mut CentreFace, &mut classifier, sink.sink(), &config(FramePolicy::Block), &Shutdown::new()).expect("run");
        assert_eq!(
            sink.expressions(),
            vec![(EventKind::Start, "bright".into()), (EventKind::Change, "dim".into()), (EventKind::End, "dim".into())]
        );
        // 40 scripted frames, one of which was corrupt.
        assert_eq!((summary.frames_in, summary.frames_processed, summary.bad_frames, summary.frames_dropped), (39, 39, 1, 0));
        let events = sink.events();
        let Event::Expression(change) = &events[1] else { panic!("not an expression event") };
        assert_eq!(change.previous.as_deref(), Some("bright"));
        assert_eq!(change.clip_frames, 4);
        assert_eq!((summary.events, summary.events_dropped, summary.outputs[0].name.as_str()), (3, 0, "collect"));
    }

    #[test]
    fn freshest_wins_drops_frames_when_inference_is_slow_and_stats_report_them() {
        // Inference holds its first frame until the source has delivered all 200: every
        // frame captured meanwhile replaces the one before it in the slot.
        let all_captured = Gate::new();
        let source = Box::new(ScriptedSource::frames([255u8; 200]).open_at_end(&all_captured));
        let sink = Collect::default();
        let mut classifier = BrightnessClassifier::gated(&all_captured);
        let mut cfg = config(FramePolicy::FreshestWins);
        cfg.stats_interval = Some(Duration::ZERO);
        let summary = run(source, &mut CentreFace, &mut classifier, sink.sink(), &cfg, &Shutdown::new()).expect("run");
        assert_eq!(summary.frames_in, 200);
        assert!(summary.frames_dropped > 0, "{summary:?}");
        assert_eq!(summary.frames_in, summary.frames_processed + summary.frames_dropped);
        let events = sink.events();
        let last_stats =
            events.iter().rev().find_map(|e| if let Event::Stats(s) = e { Some(s.clone()) } else { None }).expect("a stats event");
        assert!(last_stats.frames_dropped > 0 && last_stats.latency_ms["classify"] > 0.0);
        assert!(last_stats.outputs.contains_key("collect"), "{last_stats:?}");
    }

    #[test]
    fn shutdown_stops_an_endless_source() {
        let running = Gate::new();
        let source = ScriptedSource::endless(255).open_after(5, &running);
        let delivered = source.delivered();
        let shutdown = Shutdown::new();
        let (done_tx, done) = std::sync::mpsc::channel();
        let stop = shutdown.clone();
        std::thread::spawn(move || {
            let mut classifier = BrightnessClassifier::new();
            let cfg = config(FramePolicy::FreshestWins);
            let _ = done_tx.send(run(Box::new(source), &mut CentreFace, &mut classifier, Collect::default().sink(), &cfg, &stop));
        });
        running.wait();
        shutdown.trigger();
        // Capture checks the handle before every frame: at most the call in flight follows.
        let at_trigger = delivered.load(Ordering::SeqCst);
        let summary = done.recv_timeout(DEADLINE).expect("the run stops once shutdown is triggered").expect("run");
        assert!(summary.frames_in >= 5 && summary.frames_in <= at_trigger + 1, "{} frames, {at_trigger} at the trigger", summary.frames_in);
    }
}
