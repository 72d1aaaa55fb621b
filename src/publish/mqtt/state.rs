//! The retained per-camera state (`<prefix>/<node>/<camera>/expression`): which expression
//! each camera shows now, from the events seen so far, and when it is worth publishing. Pure.

use crate::publish::{EventKind, ExpressionEvent};
use serde_json::json;
use std::collections::BTreeMap;

/// One live track as the retained state remembers it.
#[derive(Debug, Clone, PartialEq)]
struct TrackState {
    track: u64,
    expression: String,
    confidence: f32,
    timestamp: f64,
}

/// What a user sees of a camera's state: the churn rule compares these.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    expression: String,
    tracks: usize,
    expressions: Vec<String>,
    confidence: Option<f32>,
}

/// One camera: live tracks in update order (latest last), the last event's time (`None`
/// before any), and what was last published.
#[derive(Debug, Clone, Default)]
struct Camera {
    tracks: Vec<TrackState>,
    last: Option<f64>,
    published: Option<Shown>,
}

/// The retained state of every camera: the expression of the most recently updated live
/// track, or `none` when no face is tracked.
///
/// Churn rule: [`CameraStates::apply`] returns a payload only when the expression, the
/// number of faces, the set of expressions in view, or the confidence (by more than
/// `step`) changed since the last one published; [`CameraStates::all`] (reconnect) always
/// gives every camera's.
#[derive(Debug, Clone, Default)]
pub struct CameraStates {
    cameras: BTreeMap<String, Camera>,
    step: f32,
}

impl CameraStates {
    /// The configured cameras start with `none`, so a restart replaces whatever a crashed
    /// run left retained; `step` is the churn rule's confidence step.
    pub fn new(cameras: &[String], step: f32) -> CameraStates {
        CameraStates { cameras: cameras.iter().map(|c| (c.clone(), Camera::default())).collect(), step }
    }

    /// Apply an event; returns the camera's new state payload when it is worth publishing.
    pub fn apply(&mut self, e: &ExpressionEvent) -> Option<String> {
        let cam = self.cameras.entry(e.camera.clone()).or_default();
        cam.tracks.retain(|t| t.track != e.track);
        if e.kind != EventKind::End {
            cam.tracks.push(TrackState {
                track: e.track,
                expression: e.expression.clone(),
                confidence: e.confidence,
                timestamp: e.timestamp,
            });
        }
        cam.last = Some(e.timestamp);
        let now = cam.shown();
        let worth = match &cam.published {
            None => true,
            Some(p) => {
                p.expression != now.expression
                    || p.tracks != now.tracks
                    || p.expressions != now.expressions
                    || match (p.confidence, now.confidence) {
                        (Some(a), Some(b)) => (a - b).abs() > self.step,
                        (a, b) => a.is_some() != b.is_some(),
                    }
            }
        };
        if !worth {
            return None;
        }
        cam.published = Some(now);
        Some(cam.payload())
    }

    /// Every camera known, with its current payload (to refresh retained state); marks
    /// them published.
    pub fn all(&mut self) -> Vec<(String, String)> {
        self.cameras
            .iter_mut()
            .map(|(c, cam)| {
                cam.published = Some(cam.shown());
                (c.clone(), cam.payload())
            })
            .collect()
    }

    /// The cameras known, configured or seen.
    pub fn cameras(&self) -> Vec<String> {
        self.cameras.keys().cloned().collect()
    }

    /// Start following a camera (at `none`) if not yet known.
    pub fn add(&mut self, camera: &str) {
        self.cameras.entry(camera.to_owned()).or_default();
    }

    pub fn knows(&self, camera: &str) -> bool {
        self.cameras.contains_key(camera)
    }

    /// A clean stop: every camera's `none` payload (the tracks are forgotten).
    pub fn clear(&mut self) -> Vec<(String, String)> {
        for cam in self.cameras.values_mut() {
            cam.tracks.clear();
        }
        self.all()
    }
}

impl Camera {
    fn shown(&self) -> Shown {
        let mut expressions: Vec<String> = self.tracks.iter().map(|t| t.expression.clone()).collect();
        expressions.sort();
        expressions.dedup();
        match self.tracks.last() {
            Some(t) => Shown { expression: t.expression.clone(), tracks: self.tracks.len(), expressions, confidence: Some(t.confidence) },
            None => Shown { expression: "none".into(), tracks: 0, expressions, confidence: None },
        }
    }

    fn payload(&self) -> String {
        let s = self.shown();
        match self.tracks.last() {
            Some(t) => json!({"expression": t.expression, "track": t.track, "confidence": t.confidence,
                              "timestamp": t.timestamp, "tracks": s.tracks, "expressions": s.expressions}),
            None => json!({"expression": "none", "track": null, "confidence": null, "timestamp": self.last,
                           "tracks": 0, "expressions": []}),
        }
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::expression_event as event;

    fn p(s: Option<String>) -> serde_json::Value {
        serde_json::from_str(&s.expect("a state to publish")).expect("json")
    }

    #[test]
    fn state_is_the_latest_live_track_or_none() {
        let mut s = CameraStates::new(&[], 0.05);
        assert_eq!(p(s.apply(&event(EventKind::Start, "a", 1, "happy", 1.0)))["expression"], "happy");
        let two = p(s.apply(&event(EventKind::Start, "a", 2, "sad", 2.0)));
        assert_eq!((two["expression"].as_str(), two["tracks"].as_u64()), (Some("sad"), Some(2)));
        assert_eq!(two["expressions"], json!(["happy", "sad"]));
        // Track 2 leaves: track 1 is what remains.
        assert_eq!(p(s.apply(&event(EventKind::End, "a", 2, "sad", 3.0)))["track"], 1);
        let none = p(s.apply(&event(EventKind::End, "a", 1, "happy", 4.0)));
        assert_eq!((none["expression"].as_str(), none["timestamp"].as_f64()), (Some("none"), Some(4.0)));
        assert_eq!(s.all().len(), 1);
        // Other cameras are independent.
        s.apply(&event(EventKind::Start, "b", 1, "surprised", 5.0));
        let all = s.all();
        let (a, b) = (p(Some(all[0].1.clone())), p(Some(all[1].1.clone())));
        assert_eq!((a["expression"].as_str(), a["timestamp"].as_f64()), (Some("none"), Some(4.0)));
        assert_eq!(b["expression"], "surprised");
    }

    #[test]
    fn configured_cameras_start_at_none_and_a_clean_stop_returns_there() {
        let mut s = CameraStates::new(&["door".into()], 0.05);
        let all = s.all();
        assert_eq!(all.len(), 1);
        let v = p(Some(all[0].1.clone()));
        assert_eq!((all[0].0.as_str(), v["expression"].as_str(), v["tracks"].as_u64()), ("door", Some("none"), Some(0)));
        assert!(v["timestamp"].is_null());
        s.apply(&event(EventKind::Start, "door", 1, "happy", 1.0));
        let v = p(Some(s.clear()[0].1.clone()));
        assert_eq!((v["expression"].as_str(), v["tracks"].as_u64()), (Some("none"), Some(0)));
    }

    #[test]
    fn churn_rule_publishes_only_what_a_user_sees_change() {
        let mut s = CameraStates::new(&["a".into()], 0.05);
        let with = |c: f32, kind, expr: &str| {
            let mut e = event(kind, "a", 1, expr, 1.0);
            e.confidence = c;
            e
        };
        assert!(s.apply(&with(0.80, EventKind::Start, "happy")).is_some());
        // Same expression, same faces, confidence within the step: nothing.
        assert!(s.apply(&with(0.84, EventKind::Change, "happy")).is_none());
        assert!(s.apply(&with(0.76, EventKind::Change, "happy")).is_none());
        // Drift is measured from what was published (0.80), not from the last event.
        assert!(s.apply(&with(0.86, EventKind::Change, "happy")).is_some());
        assert!(s.apply(&with(0.86, EventKind::Change, "sad")).is_some());
        // Another face: the count changed.
        let mut two = with(0.86, EventKind::Start, "sad");
        two.track = 2;
        assert!(s.apply(&two).is_some());
        // An end of a track nobody knew: nothing changed.
        let mut stray = with(0.5, EventKind::End, "x");
        stray.track = 9;
        assert!(s.apply(&stray).is_none());
        // Reconnect: every camera, whatever the rule says.
        assert_eq!(s.all().len(), 1);
    }
}
