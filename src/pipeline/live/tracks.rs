//! The per-track logic of the live path, without threads or clocks: which track each face
//! belongs to, each track's smoothed expression and clip average, and the events they make.
//!
//! Two entry points, so detection and classification can be fed from different places:
//! [`Tracks::on_detections`] with a frame's boxes (updates the tracks, returns the events of
//! tracks that ended) and [`Tracks::on_classification`] with one track's scores (returns its
//! `start` or `change`, if any). Timestamps come in; nothing here reads the clock.

use crate::classify::clip::ClipAverager;
use crate::classify::scores::{argmax, softmax};
use crate::classify::Classification;
use crate::frame::BBox;
use crate::model::Folded;
use crate::publish::indexmap_like::OrderedProbs;
use crate::publish::{EventKind, ExpressionEvent, FiredDescriptor, Scored};
use crate::smooth::{Change, Smoother, SmootherConfig};
use crate::track::{Tracker, TrackerConfig};
use std::collections::HashMap;
use std::time::Duration;

/// What the per-track logic needs to know.
#[derive(Debug, Clone)]
pub struct TrackParams {
    /// Camera name in events.
    pub camera: String,
    pub tracker: TrackerConfig,
    pub smoother: SmootherConfig,
    /// Frames in the clip-level average.
    pub clip_window: usize,
}

/// One live track that has been classified at least once.
struct TrackState {
    smoother: Smoother,
    clip: ClipAverager,
    started: Duration,
    bbox: BBox,
    last: Classification,
    ts: Duration,
}

/// The outcome of a frame's detections.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameTracks {
    /// The track id of each detection, in detection order.
    pub ids: Vec<u64>,
    /// `end` events of tracks unseen for longer than the tracker's `max_age` (only tracks
    /// that had announced an expression end with an event).
    pub ended: Vec<ExpressionEvent>,
}

/// Every track of one camera.
pub struct Tracks {
    params: TrackParams,
    folded: Folded,
    tracker: Tracker,
    states: HashMap<u64, TrackState>,
}

impl Tracks {
    /// `folded` gives the labels, descriptor names and clip-level scoring.
    pub fn new(params: TrackParams, folded: Folded) -> Tracks {
        Tracks { tracker: Tracker::new(params.tracker), params, folded, states: HashMap::new() }
    }

    /// Where every live track's face is expected at `ts`.
    pub fn predicted(&self, ts: Duration) -> Vec<BBox> {
        self.tracker.predicted(ts)
    }

    /// A frame's detections at `ts`: associate them with tracks, end the stale ones.
    pub fn on_detections(&mut self, ts: Duration, boxes: &[BBox]) -> FrameTracks {
        let update = self.tracker.update(ts, boxes);
        let ended = update.ended.iter().filter_map(|&id| self.end(id)).collect();
        FrameTracks { ids: update.ids, ended }
    }

    /// One track's classification at `ts` (its face at `bbox`): returns the track's `start`
    /// once its first expression holds, and a `change` when it changes. A track that has
    /// already ended (or never existed) is ignored, so a late classification cannot bring
    /// it back.
    pub fn on_classification(&mut self, track: u64, ts: Duration, bbox: BBox, c: Classification) -> Option<ExpressionEvent> {
        if !self.tracker.contains(track) {
            return None;
        }
        let (p, dim) = (&self.params, self.folded.dim);
        let state = self.states.entry(track).or_insert_with(|| TrackState {
            smoother: Smoother::new(p.smoother),
            clip: ClipAverager::new(p.clip_window, dim),
            started: ts,
            bbox,
            last: c.clone(),
            ts,
        });
        state.clip.push(&c.embedding);
        state.bbox = bbox;
        state.ts = ts;
        let change = state.smoother.update(ts, &c.probs);
        state.last = c;
        let (kind, previous) = match change? {
            Change::Start { .. } => (EventKind::Start, None),
            Change::Changed { from, .. } => (EventKind::Change, self.folded.labels.get(from).cloned()),
        };
        Some(expression_event(kind, track, state, &self.folded, &self.params.camera, previous))
    }

    /// End every track (the source is finished): their `end` events, by track id.
    pub fn finish(&mut self) -> Vec<ExpressionEvent> {
        let mut ids = self.tracker.finish();
        ids.sort_unstable();
        ids.into_iter().filter_map(|id| self.end(id)).collect()
    }

    /// Live tracks.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }

    /// The end event of a track that had announced an expression.
    fn end(&mut self, id: u64) -> Option<ExpressionEvent> {
        let state = self.states.remove(&id)?;
        state.smoother.label()?;
        Some(expression_event(EventKind::End, id, &state, &self.folded, &self.params.camera, None))
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
        face_px: crate::pipeline::face_px(&b),
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
    use crate::testutil::folded;

    fn params() -> TrackParams {
        TrackParams { camera: "cam".into(), tracker: TrackerConfig::default(), smoother: SmootherConfig::default(), clip_window: 4 }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const FACE: BBox = BBox { x: 10.0, y: 10.0, w: 40.0, h: 40.0 };

    /// Scores favouring class `class` of two, with a matching embedding.
    fn scores(class: usize) -> Classification {
        let logits = if class == 0 { vec![5.0, 0.0] } else { vec![0.0, 5.0] };
        let embedding = if class == 0 { vec![1.0, 0.0] } else { vec![0.0, 1.0] };
        Classification::from_logits(embedding, logits.clone(), logits)
    }

    /// Feeds one face per frame every 66 ms with the given classes; returns the events.
    fn feed(t: &mut Tracks, classes: &[usize], start_ms: u64) -> Vec<ExpressionEvent> {
        let mut out = Vec::new();
        for (i, &c) in classes.iter().enumerate() {
            let ts = ms(start_ms + i as u64 * 66);
            let frame = t.on_detections(ts, &[FACE]);
            out.extend(t.on_classification(frame.ids[0], ts, FACE, scores(c)));
            out.extend(frame.ended);
        }
        out
    }

    #[test]
    fn a_track_starts_after_the_dwell_changes_and_ends_after_max_age() {
        let mut t = Tracks::new(params(), folded(&["bright", "dim"]));
        let mut classes = vec![0; 10];
        classes.extend([1; 10]);
        let events = feed(&mut t, &classes, 0);
        let kinds: Vec<(EventKind, &str)> = events.iter().map(|e| (e.kind, e.expression.as_str())).collect();
        assert_eq!(kinds, [(EventKind::Start, "bright"), (EventKind::Change, "dim")]);
        assert_eq!(events[1].previous.as_deref(), Some("bright"));
        assert_eq!(events[1].clip_frames, 4);
        assert_eq!((events[0].camera.as_str(), events[0].track_started), ("cam", 0.0));
        // No face for longer than max_age (1 s): the track ends with its last expression.
        let last = ms(19 * 66);
        assert!(t.on_detections(last + ms(900), &[]).ended.is_empty());
        let ended = t.on_detections(last + ms(1100), &[]).ended;
        assert_eq!(ended.iter().map(|e| (e.kind, e.expression.as_str())).collect::<Vec<_>>(), [(EventKind::End, "dim")]);
        assert!(t.is_empty() && t.finish().is_empty());
    }

    #[test]
    fn a_late_classification_of_an_ended_track_is_ignored() {
        let mut t = Tracks::new(params(), folded(&["bright", "dim"]));
        let id = t.on_detections(ms(0), &[FACE]).ids[0];
        t.on_detections(ms(2000), &[]);
        assert_eq!(t.on_classification(id, ms(2000), FACE, scores(0)), None);
        assert_eq!(t.on_classification(99, ms(2000), FACE, scores(0)), None);
        assert!(t.finish().is_empty(), "no state was created for the dead track");
    }

    #[test]
    fn finish_ends_only_tracks_that_announced_an_expression() {
        let mut t = Tracks::new(params(), folded(&["bright", "dim"]));
        // Track 1 announces (10 frames); track 2, far away, is seen once and never does.
        let events = feed(&mut t, &[0; 10], 0);
        assert_eq!(events.len(), 1);
        let other = BBox { x: 300.0, ..FACE };
        let frame = t.on_detections(ms(700), &[FACE, other]);
        assert_eq!(t.on_classification(frame.ids[1], ms(700), other, scores(1)), None);
        assert_eq!(t.len(), 2);
        let ended: Vec<(EventKind, u64)> = t.finish().iter().map(|e| (e.kind, e.track)).collect();
        assert_eq!(ended, [(EventKind::End, frame.ids[0])]);
    }
}
