//! Face tracking: stable ids across frames by greedy IoU association with constant-velocity
//! prediction, falling back to centre distance for fast moves. Pure: timestamps come in.
//!
//! Prediction is what keeps two people who cross from swapping ids: each track is matched
//! where it is heading, not where it was.

use crate::frame::BBox;
use crate::schema::{self, Invalid, Key};
use serde::Deserialize;
use std::time::Duration;

/// Tracking parameters (config `[tracking]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackerConfig {
    /// Minimum IoU between a predicted track box and a detection to associate them.
    pub iou_threshold: f32,
    /// With no IoU, associate if the centres are closer than this many box sizes.
    pub max_center_distance: f32,
    /// A track unseen for longer than this ends.
    pub max_age: Duration,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig { iou_threshold: 0.3, max_center_distance: 1.0, max_age: Duration::from_millis(1000) }
    }
}

#[derive(Debug, Clone)]
struct Track {
    id: u64,
    bbox: BBox,
    /// Centre velocity in pixels per second.
    vx: f32,
    vy: f32,
    last_seen: Duration,
}

impl Track {
    fn predict(&self, ts: Duration) -> BBox {
        let dt = ts.saturating_sub(self.last_seen).as_secs_f32();
        BBox { x: self.bbox.x + self.vx * dt, y: self.bbox.y + self.vy * dt, ..self.bbox }
    }
}

/// Result of one tracker update.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrackUpdate {
    /// The track id of each detection, in detection order.
    pub ids: Vec<u64>,
    /// Ids of tracks that started with this update.
    pub started: Vec<u64>,
    /// Ids of tracks that ended (unseen for longer than `max_age`).
    pub ended: Vec<u64>,
}

/// Keeps tracks between frames.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
}

impl Tracker {
    pub fn new(config: TrackerConfig) -> Tracker {
        Tracker { config, tracks: Vec::new(), next_id: 1 }
    }

    /// Associate this frame's detections with tracks.
    pub fn update(&mut self, ts: Duration, boxes: &[BBox]) -> TrackUpdate {
        let predicted: Vec<BBox> = self.tracks.iter().map(|t| t.predict(ts)).collect();
        // Candidate pairs, best first: any IoU match outranks any distance match.
        let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
        for (ti, p) in predicted.iter().enumerate() {
            for (di, b) in boxes.iter().enumerate() {
                let iou = p.iou(b);
                if iou >= self.config.iou_threshold {
                    pairs.push((1.0 + iou, ti, di));
                } else {
                    let (pc, bc) = (p.center(), b.center());
                    let size = p.w.max(p.h).max(b.w.max(b.h)).max(1.0);
                    let dist = ((pc.x - bc.x).powi(2) + (pc.y - bc.y).powi(2)).sqrt() / size;
                    if dist < self.config.max_center_distance {
                        pairs.push((1.0 - dist, ti, di));
                    }
                }
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut track_for_det: Vec<Option<usize>> = vec![None; boxes.len()];
        let mut track_taken = vec![false; self.tracks.len()];
        for (_, ti, di) in pairs {
            if !track_taken[ti] && track_for_det[di].is_none() {
                track_taken[ti] = true;
                track_for_det[di] = Some(ti);
            }
        }
        let mut update = TrackUpdate::default();
        for (di, b) in boxes.iter().enumerate() {
            let id = match track_for_det[di] {
                Some(ti) => {
                    let t = &mut self.tracks[ti];
                    let dt = ts.saturating_sub(t.last_seen).as_secs_f32();
                    if dt > 0.0 {
                        let (old, new) = (t.bbox.center(), b.center());
                        // Light smoothing of the velocity keeps one noisy box from throwing
                        // the prediction off.
                        t.vx = 0.5 * t.vx + 0.5 * (new.x - old.x) / dt;
                        t.vy = 0.5 * t.vy + 0.5 * (new.y - old.y) / dt;
                    }
                    t.bbox = *b;
                    t.last_seen = ts;
                    t.id
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track { id, bbox: *b, vx: 0.0, vy: 0.0, last_seen: ts });
                    update.started.push(id);
                    id
                }
            };
            update.ids.push(id);
        }
        let max_age = self.config.max_age;
        self.tracks.retain(|t| {
            let alive = ts.saturating_sub(t.last_seen) <= max_age;
            if !alive {
                update.ended.push(t.id);
            }
            alive
        });
        update
    }

    /// End every track (source finished or shutting down).
    pub fn finish(&mut self) -> Vec<u64> {
        self.tracks.drain(..).map(|t| t.id).collect()
    }

    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Where every live track's face is expected at `ts` (last box moved by its velocity):
    /// the live path re-finds each one there at its own scale.
    pub fn predicted(&self, ts: Duration) -> Vec<BBox> {
        self.tracks.iter().map(|t| t.predict(ts)).collect()
    }

    /// Whether track `id` is live (started and not ended).
    pub fn contains(&self, id: u64) -> bool {
        self.tracks.iter().any(|t| t.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }
}

/// `[tracking]`: how faces are followed across frames.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingConfig {
    /// Minimum IoU between a track's predicted box and a detection.
    #[serde(default = "default_iou")]
    pub iou_threshold: f32,
    /// Without overlap, follow a face whose centre moved less than this many box sizes.
    #[serde(default = "default_center_distance")]
    pub max_center_distance: f32,
    /// A face unseen for this long ends its track (milliseconds).
    #[serde(default = "default_max_age_ms")]
    pub max_age_ms: u64,
}

fn default_iou() -> f32 {
    TrackerConfig::default().iou_threshold
}
fn default_center_distance() -> f32 {
    TrackerConfig::default().max_center_distance
}
fn default_max_age_ms() -> u64 {
    TrackerConfig::default().max_age.as_millis() as u64
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig { iou_threshold: default_iou(), max_center_distance: default_center_distance(), max_age_ms: default_max_age_ms() }
    }
}

/// Largest `max_center_distance`, in box sizes: further than this is another face.
pub const MAX_CENTER_DISTANCE: f32 = 100.0;
/// Longest `max_age_ms`: one day.
pub const MAX_AGE_MS: u64 = 86_400_000;

impl TrackingConfig {
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        schema::within(&key.field("iou_threshold"), self.iou_threshold, 0.0, 1.0)?;
        schema::within(&key.field("max_center_distance"), self.max_center_distance, 0.0, MAX_CENTER_DISTANCE)?;
        schema::within(&key.field("max_age_ms"), self.max_age_ms, 0, MAX_AGE_MS)
    }

    pub fn tracker(&self) -> TrackerConfig {
        TrackerConfig {
            iou_threshold: self.iou_threshold,
            max_center_distance: self.max_center_distance,
            max_age: Duration::from_millis(self.max_age_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(x: f32, y: f32) -> BBox {
        BBox { x, y, w: 40.0, h: 40.0 }
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn two_faces_crossing_keep_their_ids() {
        let mut t = Tracker::new(TrackerConfig::default());
        // A walks right, B walks left, 15 px a frame at 15 fps; they pass through each
        // other around frame 10 (boxes fully overlapping).
        let mut ids_a = Vec::new();
        let mut ids_b = Vec::new();
        for f in 0..21u64 {
            let ax = 0.0 + 15.0 * f as f32;
            let bx = 300.0 - 15.0 * f as f32;
            // Detection order flips halfway, as a detector's score order would.
            let (boxes, a_first) =
                if f % 2 == 0 { (vec![b(ax, 100.0), b(bx, 104.0)], true) } else { (vec![b(bx, 104.0), b(ax, 100.0)], false) };
            let u = t.update(ms(f * 66), &boxes);
            let (a, bb) = if a_first { (u.ids[0], u.ids[1]) } else { (u.ids[1], u.ids[0]) };
            ids_a.push(a);
            ids_b.push(bb);
        }
        assert!(ids_a.iter().all(|i| *i == ids_a[0]), "A swapped: {ids_a:?}");
        assert!(ids_b.iter().all(|i| *i == ids_b[0]), "B swapped: {ids_b:?}");
        assert_ne!(ids_a[0], ids_b[0]);
    }

    #[test]
    fn a_track_ends_after_max_age_and_a_returning_face_gets_a_new_id() {
        let mut t = Tracker::new(TrackerConfig { max_age: ms(500), ..TrackerConfig::default() });
        let first = t.update(ms(0), &[b(10.0, 10.0)]);
        assert_eq!(first.started, first.ids);
        assert!(t.update(ms(400), &[]).ended.is_empty());
        let u = t.update(ms(600), &[]);
        assert_eq!(u.ended, first.ids);
        let back = t.update(ms(700), &[b(10.0, 10.0)]);
        assert_ne!(back.ids, first.ids);
        assert_eq!(t.finish(), back.ids);
        assert!(t.is_empty());
    }

    #[test]
    fn a_fast_move_without_overlap_is_followed_by_centre_distance() {
        let mut t = Tracker::new(TrackerConfig::default());
        let a = t.update(ms(0), &[b(0.0, 0.0)]).ids;
        // 30 px right of a 40 px box: IoU 0.14, centres 0.75 box sizes apart.
        let u = t.update(ms(66), &[b(30.0, 0.0)]);
        assert_eq!(u.ids, a);
        assert!(u.started.is_empty());
    }
}
