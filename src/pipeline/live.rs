//! The live path: capture → detect → align → classify → track → smooth → publish, on three
//! threads joined by bounded hand-offs.
//!
//! - capture → inference: a one-frame [`Slot`] (freshest frame wins for cameras, blocking
//!   for files), dropped frames counted;
//! - inference → publishing: a bounded channel; when the sink falls behind, new events are
//!   dropped and counted rather than queued without limit.
//!
//! One [`Shutdown`] handle (SIGINT/SIGTERM) stops capture; the other stages drain and stop.

use super::slot::Slot;
use crate::align::{align, AlignOptions};
use crate::capture::{CaptureError, CapturedFrame, FrameSource};
use crate::classify::clip::ClipAverager;
use crate::classify::scores::{argmax, softmax};
use crate::classify::{Classification, Classifier};
use crate::config::FramePolicy;
use crate::detect::FaceDetector;
use crate::frame::BBox;
use crate::model::Folded;
use crate::publish::indexmap_like::OrderedProbs;
use crate::publish::{Event, EventKind, ExpressionEvent, FiredDescriptor, Publisher, Scored, StatsEvent};
use crate::shutdown::Shutdown;
use crate::smooth::{Change, Smoother, SmootherConfig};
use crate::track::{Tracker, TrackerConfig};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, TrySendError};
use std::time::{Duration, Instant};

/// Everything the live loop needs besides its stages.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    pub camera: String,
    pub tracker: TrackerConfig,
    pub smoother: SmootherConfig,
    pub clip_window: usize,
    pub align: AlignOptions,
    pub frames: FramePolicy,
    pub event_queue: usize,
    /// `None`: no statistics events.
    pub stats_interval: Option<Duration>,
    /// systemd watchdog ping interval; `None` when not under a watchdog.
    pub watchdog: Option<Duration>,
}

/// Why a run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("capture stopped: {0}")]
    Capture(CaptureError),
    #[error("a pipeline thread panicked")]
    Panicked,
}

/// Totals of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub frames_in: u64,
    pub frames_processed: u64,
    pub frames_dropped: u64,
    pub bad_frames: u64,
    pub events: u64,
    pub events_dropped: u64,
    pub publish_errors: u64,
}

/// Per-track state in the inference thread.
struct TrackState {
    smoother: Smoother,
    clip: ClipAverager,
    started: Duration,
    bbox: BBox,
    last: Classification,
    ts: Duration,
}

/// Run until the source ends or `shutdown` is triggered. Events go to `publisher`.
pub fn run(
    mut source: Box<dyn FrameSource>,
    detector: &mut dyn FaceDetector,
    classifier: &mut dyn Classifier,
    mut publisher: Box<dyn Publisher>,
    cfg: &LiveConfig,
    shutdown: &Shutdown,
) -> Result<RunSummary, LiveError> {
    let slot: Slot<CapturedFrame> = Slot::new(cfg.frames);
    let frames_in = AtomicU64::new(0);
    let bad_frames = AtomicU64::new(0);
    let (tx, rx) = sync_channel::<Event>(cfg.event_queue.max(1));
    let source_name = source.name().to_owned();
    log::info!("source {source_name} opened; camera {}", cfg.camera);

    let (capture_result, summary, publish_errors) = std::thread::scope(|scope| {
        let capture = scope.spawn(|| {
            let result = capture_loop(source.as_mut(), &slot, &frames_in, &bad_frames, shutdown);
            slot.close();
            result
        });
        let publishing = scope.spawn(move || {
            let mut errors = 0u64;
            for event in rx {
                if let Err(e) = publisher.publish(&event) {
                    if errors == 0 {
                        log::warn!("publishing failed (further failures are counted): {e}");
                    }
                    errors += 1;
                }
            }
            if let Err(e) = publisher.close() {
                log::warn!("closing the publisher failed: {e}");
                errors += 1;
            }
            errors
        });
        let mut inference = Inference::new(cfg, classifier.folded().clone());
        let mut summary = RunSummary::default();
        let emit = |event: Event, summary: &mut RunSummary| match tx.try_send(event) {
            Ok(()) => summary.events += 1,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => summary.events_dropped += 1,
        };
        let mut stats = StatsWindow::new(Instant::now(), 0);
        let mut watchdog = cfg.watchdog.map(crate::notify::Watchdog::new);
        while let Some(frame) = slot.take() {
            if let Some(w) = watchdog.as_mut() {
                w.kick();
            }
            let t0 = Instant::now();
            let events = inference.process(&frame, detector, classifier, &mut stats);
            stats.total += t0.elapsed();
            stats.frames_out += 1;
            summary.frames_processed += 1;
            for e in events {
                emit(Event::Expression(e), &mut summary);
            }
            if let Some(interval) = cfg.stats_interval {
                if stats.started.elapsed() >= interval {
                    let totals = (frames_in.load(Ordering::Relaxed), summary.frames_processed, slot.dropped());
                    let event = stats.finish(
                        &cfg.camera,
                        totals,
                        bad_frames.load(Ordering::Relaxed),
                        summary.events_dropped,
                        inference.tracker.len(),
                    );
                    log::debug!("stats: {event:?}");
                    emit(Event::Stats(event), &mut summary);
                    stats = StatsWindow::new(Instant::now(), totals.0);
                }
            }
        }
        for e in inference.finish() {
            emit(Event::Expression(e), &mut summary);
        }
        drop(tx);
        let capture_result = capture.join();
        let publish_errors = publishing.join();
        (capture_result, summary, publish_errors)
    });
    let mut summary = summary;
    summary.frames_in = frames_in.load(Ordering::Relaxed);
    summary.frames_dropped = slot.dropped();
    summary.bad_frames = bad_frames.load(Ordering::Relaxed);
    summary.publish_errors = publish_errors.map_err(|_| LiveError::Panicked)?;
    log::info!(
        "source {source_name} stopped: {} frames in, {} processed, {} dropped, {} bad, {} events ({} dropped)",
        summary.frames_in,
        summary.frames_processed,
        summary.frames_dropped,
        summary.bad_frames,
        summary.events,
        summary.events_dropped
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
    frames_in: &AtomicU64,
    bad_frames: &AtomicU64,
    shutdown: &Shutdown,
) -> Result<(), CaptureError> {
    let mut reported_bad = false;
    while !shutdown.is_triggered() {
        match source.next_frame() {
            Ok(Some(frame)) => {
                frames_in.fetch_add(1, Ordering::Relaxed);
                if !slot.put(frame) {
                    break;
                }
            }
            Ok(None) => break,
            Err(CaptureError::BadFrame { source_name, reason }) => {
                if !reported_bad {
                    log::warn!("{source_name}: skipping bad frames (counted in stats), first: {reason}");
                    reported_bad = true;
                }
                bad_frames.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Mean stage latencies and rates over one statistics interval.
struct StatsWindow {
    started: Instant,
    frames_out: u64,
    frames_in_at_start: u64,
    detect: Duration,
    classify: Duration,
    total: Duration,
}

impl StatsWindow {
    fn new(started: Instant, frames_in: u64) -> StatsWindow {
        StatsWindow {
            started,
            frames_out: 0,
            frames_in_at_start: frames_in,
            detect: Duration::ZERO,
            classify: Duration::ZERO,
            total: Duration::ZERO,
        }
    }

    fn finish(
        &self,
        camera: &str,
        (frames_in, processed, dropped): (u64, u64, u64),
        bad: u64,
        events_dropped: u64,
        tracks: usize,
    ) -> StatsEvent {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let per_frame = |d: Duration| if self.frames_out == 0 { 0.0 } else { d.as_secs_f64() * 1e3 / self.frames_out as f64 };
        let mut latency_ms = BTreeMap::new();
        latency_ms.insert("detect", per_frame(self.detect));
        latency_ms.insert("classify", per_frame(self.classify));
        latency_ms.insert("total", per_frame(self.total));
        let in_interval = frames_in.saturating_sub(self.frames_in_at_start);
        StatsEvent {
            kind: "stats",
            camera: camera.to_owned(),
            interval_s: secs,
            fps_in: in_interval as f64 / secs,
            fps_out: self.frames_out as f64 / secs,
            frames_in,
            frames_processed: processed,
            frames_dropped: dropped,
            bad_frames: bad,
            events_dropped,
            tracks,
            latency_ms,
        }
    }
}

/// The inference thread's state: tracker and per-track smoothing.
struct Inference<'c> {
    cfg: &'c LiveConfig,
    folded: Folded,
    tracker: Tracker,
    tracks: HashMap<u64, TrackState>,
    reported_error: bool,
}

impl<'c> Inference<'c> {
    fn new(cfg: &'c LiveConfig, folded: Folded) -> Self {
        Inference { cfg, folded, tracker: Tracker::new(cfg.tracker), tracks: HashMap::new(), reported_error: false }
    }

    fn process(
        &mut self,
        frame: &CapturedFrame,
        detector: &mut dyn FaceDetector,
        classifier: &mut dyn Classifier,
        stats: &mut StatsWindow,
    ) -> Vec<ExpressionEvent> {
        let ts = frame.timestamp;
        let t = Instant::now();
        let detections = match detector.detect(&frame.image) {
            Ok(d) => d,
            Err(e) => {
                self.report(&e.to_string());
                Vec::new()
            }
        };
        stats.detect += t.elapsed();
        let boxes: Vec<BBox> = detections.iter().map(|d| d.bbox).collect();
        let update = self.tracker.update(ts, &boxes);
        let mut events = Vec::new();
        let t = Instant::now();
        for (det, &id) in detections.iter().zip(&update.ids) {
            let (crop, _) = align(&frame.image, &det.bbox, det.eyes(), &self.cfg.align);
            let c = match classifier.classify((&crop).into()) {
                Ok(c) => c,
                Err(e) => {
                    self.report(&e.to_string());
                    continue;
                }
            };
            let (cfg, dim) = (self.cfg, self.folded.dim);
            let state = self.tracks.entry(id).or_insert_with(|| TrackState {
                smoother: Smoother::new(cfg.smoother),
                clip: ClipAverager::new(cfg.clip_window, dim),
                started: ts,
                bbox: det.bbox,
                last: c.clone(),
                ts,
            });
            state.clip.push(&c.embedding);
            state.bbox = det.bbox;
            state.ts = ts;
            let change = state.smoother.update(ts, &c.probs);
            state.last = c;
            let event = match change {
                Some(Change::Start { .. }) => Some((EventKind::Start, None)),
                Some(Change::Changed { from, .. }) => Some((EventKind::Change, self.folded.labels.get(from).cloned())),
                None => None,
            };
            if let Some((kind, previous)) = event {
                events.push(expression_event(kind, id, state, &self.folded, &self.cfg.camera, previous));
            }
        }
        stats.classify += t.elapsed();
        for id in update.ended {
            events.extend(self.end(id));
        }
        events
    }

    /// The end event of a track that had announced an expression.
    fn end(&mut self, id: u64) -> Option<ExpressionEvent> {
        let state = self.tracks.remove(&id)?;
        state.smoother.label()?;
        Some(expression_event(EventKind::End, id, &state, &self.folded, &self.cfg.camera, None))
    }

    /// End every track: the source is finished.
    fn finish(&mut self) -> Vec<ExpressionEvent> {
        let mut ids = self.tracker.finish();
        ids.sort_unstable();
        ids.into_iter().filter_map(|id| self.end(id)).collect()
    }

    fn report(&mut self, msg: &str) {
        if !self.reported_error {
            log::warn!("inference failed on a frame (further failures are not logged): {msg}");
            self.reported_error = true;
        }
    }
}

fn scored(folded: &Folded, probs: &[f32]) -> Scored {
    let best = argmax(probs).unwrap_or(0);
    Scored {
        expression: folded.labels.get(best).cloned().unwrap_or_default(),
        confidence: probs.get(best).copied().unwrap_or(0.0),
        probs: OrderedProbs(folded.labels.iter().cloned().zip(probs.iter().copied()).collect()),
    }
}

fn expression_event(
    kind: EventKind,
    track: u64,
    state: &TrackState,
    folded: &Folded,
    camera: &str,
    previous: Option<String>,
) -> ExpressionEvent {
    let smoothed = state.smoother.probs();
    let label = state.smoother.label().or_else(|| argmax(smoothed)).unwrap_or(0);
    let k = state.last.best_descriptor_of(label, folded);
    let (clip_probs, clip_frames) = match state.clip.mean() {
        Some(mean) => (softmax(&folded.score(&mean).1), state.clip.len()),
        None => (state.last.probs.clone(), 0),
    };
    let b = state.bbox;
    ExpressionEvent {
        kind,
        camera: camera.to_owned(),
        track,
        bbox: [b.x, b.y, b.w, b.h],
        expression: folded.labels.get(label).cloned().unwrap_or_default(),
        confidence: smoothed.get(label).copied().unwrap_or(0.0),
        probs: OrderedProbs(folded.labels.iter().cloned().zip(smoothed.iter().copied()).collect()),
        previous,
        frame: scored(folded, &state.last.probs),
        clip: scored(folded, &clip_probs),
        clip_frames,
        descriptor: FiredDescriptor {
            name: folded.descriptor_names.get(k).cloned().unwrap_or_default(),
            logit: state.last.descriptor_logits.get(k).copied().unwrap_or(0.0),
        },
        timestamp: state.ts.as_secs_f64(),
        track_started: state.started.as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::ClassifyError;
    use crate::detect::{DetectError, Detection};
    use crate::frame::{Frame, Point};
    use crate::preprocess::CropRef;
    use crate::publish::PublishError;
    use std::sync::Mutex;

    /// Frames whose red channel says which expression the fake classifier reports.
    struct Script {
        frames: Vec<u8>,
        next: usize,
        bad_at: Option<usize>,
    }
    impl FrameSource for Script {
        fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError> {
            let i = self.next;
            self.next += 1;
            if Some(i) == self.bad_at {
                return Err(CaptureError::BadFrame { source_name: "script".into(), reason: "corrupt".into() });
            }
            Ok(self.frames.get(i).map(|&v| CapturedFrame {
                image: image::RgbImage::from_pixel(64, 64, image::Rgb([v, 0, 0])),
                timestamp: Duration::from_millis(i as u64 * 66),
                sequence: i as u64,
            }))
        }
        fn name(&self) -> &str {
            "script"
        }
    }

    /// One face in the middle while the frame is not black.
    struct OneFace;
    impl FaceDetector for OneFace {
        fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectError> {
            if frame.get_pixel(0, 0)[0] == 0 {
                return Ok(vec![]);
            }
            Ok(vec![Detection {
                bbox: BBox { x: 16.0, y: 16.0, w: 32.0, h: 32.0 },
                score: 0.9,
                keypoints: vec![Point { x: 24.0, y: 24.0 }, Point { x: 40.0, y: 24.0 }],
            }])
        }
    }

    /// Class 0 for a bright crop, class 1 for a dim one; optionally slow.
    struct ByBrightness {
        folded: Folded,
        delay: Duration,
    }
    impl Classifier for ByBrightness {
        fn classify(&mut self, crop: CropRef<'_>) -> Result<Classification, ClassifyError> {
            std::thread::sleep(self.delay);
            let (w, h) = crop.dims();
            let v = crop.value(w / 2, h / 2, 0);
            let logits = if v > 128.0 { vec![5.0, 0.0] } else { vec![0.0, 5.0] };
            Ok(Classification::from_logits(vec![1.0, 0.0], logits.clone(), logits))
        }
        fn folded(&self) -> &Folded {
            &self.folded
        }
    }

    fn folded() -> Folded {
        Folded {
            dim: 2,
            weights: vec![1.0, 0.0, 0.0, 1.0],
            bias: vec![0.0, 0.0],
            aggregate: vec![1.0, 0.0, 0.0, 1.0],
            normalize: false,
            labels: vec!["bright".into(), "dim".into()],
            descriptor_names: vec!["bright/0".into(), "dim/0".into()],
            descriptor_class: vec![0, 1],
        }
    }

    /// Collects events for inspection.
    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Vec<Event>>>);
    impl Publisher for Collect {
        fn publish(&mut self, event: &Event) -> Result<(), PublishError> {
            self.0.lock().map_err(|_| PublishError::Sink { sink: "collect".into(), reason: "poisoned".into() })?.push(event.clone());
            Ok(())
        }
    }

    fn config(frames: FramePolicy) -> LiveConfig {
        LiveConfig {
            camera: "cam".into(),
            tracker: TrackerConfig::default(),
            smoother: SmootherConfig::default(),
            clip_window: 4,
            align: AlignOptions { margin: 0.0, size: 8, rotate: false },
            frames,
            event_queue: 16,
            stats_interval: None,
            watchdog: None,
        }
    }

    use std::sync::Arc;

    #[test]
    fn a_scripted_run_emits_start_change_end_and_counts_bad_frames() {
        let mut frames = vec![255u8; 10];
        frames.extend([100u8; 10]);
        frames.extend([0u8; 20]);
        let source = Box::new(Script { frames, next: 0, bad_at: Some(25) });
        let sink = Collect::default();
        let mut classifier = ByBrightness { folded: folded(), delay: Duration::ZERO };
        let summary =
            run(source, &mut OneFace, &mut classifier, Box::new(sink.clone()), &config(FramePolicy::Block), &Shutdown::new()).expect("run");
        let events = sink.0.lock().expect("events").clone();
        let kinds: Vec<(EventKind, String)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Expression(x) => Some((x.kind, x.expression.clone())),
                Event::Stats(_) => None,
            })
            .collect();
        assert_eq!(kinds, vec![(EventKind::Start, "bright".into()), (EventKind::Change, "dim".into()), (EventKind::End, "dim".into())]);
        // 40 scripted frames, one of which was corrupt.
        assert_eq!((summary.frames_in, summary.frames_processed, summary.bad_frames, summary.frames_dropped), (39, 39, 1, 0));
        let Event::Expression(change) = &events[1] else { panic!("not an expression event") };
        assert_eq!(change.previous.as_deref(), Some("bright"));
        assert_eq!(change.clip_frames, 4);
    }

    #[test]
    fn freshest_wins_drops_frames_when_inference_is_slow_and_stats_report_them() {
        let source = Box::new(Script { frames: vec![255u8; 200], next: 0, bad_at: None });
        let sink = Collect::default();
        let mut classifier = ByBrightness { folded: folded(), delay: Duration::from_millis(5) };
        let mut cfg = config(FramePolicy::FreshestWins);
        cfg.stats_interval = Some(Duration::from_millis(1));
        let summary = run(source, &mut OneFace, &mut classifier, Box::new(sink.clone()), &cfg, &Shutdown::new()).expect("run");
        assert_eq!(summary.frames_in, 200);
        assert!(summary.frames_dropped > 0, "{summary:?}");
        assert_eq!(summary.frames_in, summary.frames_processed + summary.frames_dropped);
        let events = sink.0.lock().expect("events").clone();
        let last_stats =
            events.iter().rev().find_map(|e| if let Event::Stats(s) = e { Some(s.clone()) } else { None }).expect("a stats event");
        assert!(last_stats.frames_dropped > 0 && last_stats.latency_ms["classify"] > 0.0);
    }

    #[test]
    fn shutdown_stops_an_endless_source() {
        let source = Box::new(Script { frames: vec![255u8; usize::MAX >> 40], next: 0, bad_at: None });
        let shutdown = Shutdown::new();
        let trigger = shutdown.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            trigger.trigger();
        });
        let mut classifier = ByBrightness { folded: folded(), delay: Duration::ZERO };
        let summary =
            run(source, &mut OneFace, &mut classifier, Box::new(Collect::default()), &config(FramePolicy::FreshestWins), &shutdown)
                .expect("run");
        t.join().expect("trigger");
        assert!(summary.frames_in > 0);
    }
}
