//! The retained per-camera state (`<prefix>/<camera>/expression`): which expression each
//! camera shows now, from the events seen so far. Pure.

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

/// The retained `<prefix>/<camera>/expression` state of every camera: the expression of the
/// most recently updated live track, or `none` when no face is tracked.
#[derive(Debug, Clone, Default)]
pub struct CameraStates {
    /// Per camera: live tracks in update order (latest last), and the last event's time.
    cameras: BTreeMap<String, (Vec<TrackState>, f64)>,
}

impl CameraStates {
    /// Apply an event; returns the camera's new state payload.
    pub fn apply(&mut self, e: &ExpressionEvent) -> String {
        let (tracks, last) = self.cameras.entry(e.camera.clone()).or_default();
        tracks.retain(|t| t.track != e.track);
        if e.kind != EventKind::End {
            tracks.push(TrackState { track: e.track, expression: e.expression.clone(), confidence: e.confidence, timestamp: e.timestamp });
        }
        *last = e.timestamp;
        Self::payload(tracks, *last)
    }

    /// Every camera seen, with its current payload (to refresh retained state).
    pub fn all(&self) -> Vec<(String, String)> {
        self.cameras.iter().map(|(c, (t, last))| (c.clone(), Self::payload(t, *last))).collect()
    }

    pub fn knows(&self, camera: &str) -> bool {
        self.cameras.contains_key(camera)
    }

    fn payload(tracks: &[TrackState], timestamp: f64) -> String {
        match tracks.last() {
            Some(t) => json!({"expression": t.expression, "track": t.track, "confidence": t.confidence,
                              "timestamp": t.timestamp, "tracks": tracks.len()}),
            None => json!({"expression": "none", "track": null, "confidence": null, "timestamp": timestamp, "tracks": 0}),
        }
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::expression_event as event;

    #[test]
    fn state_is_the_latest_live_track_or_none() {
        let mut s = CameraStates::default();
        let p = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("json");
        assert_eq!(p(&s.apply(&event(EventKind::Start, "a", 1, "happy", 1.0)))["expression"], "happy");
        let two = p(&s.apply(&event(EventKind::Start, "a", 2, "sad", 2.0)));
        assert_eq!((two["expression"].as_str(), two["tracks"].as_u64()), (Some("sad"), Some(2)));
        // Track 2 leaves: track 1 is what remains.
        assert_eq!(p(&s.apply(&event(EventKind::End, "a", 2, "sad", 3.0)))["track"], 1);
        let none = p(&s.apply(&event(EventKind::End, "a", 1, "happy", 4.0)));
        assert_eq!((none["expression"].as_str(), none["timestamp"].as_f64()), (Some("none"), Some(4.0)));
        assert_eq!(s.all().len(), 1);
        // Other cameras are independent.
        s.apply(&event(EventKind::Start, "b", 1, "surprised", 5.0));
        assert_eq!((p(&s.all()[0].1)["expression"].as_str(), p(&s.all()[0].1)["timestamp"].as_f64()), (Some("none"), Some(4.0)));
        assert_eq!(p(&s.all()[1].1)["expression"], "surprised");
    }
}
