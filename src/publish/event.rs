//! The events cliper tells the world about: what every sink receives.

use serde::Serialize;
use std::collections::BTreeMap;

/// What happened to a track's expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The track's first stable expression.
    Start,
    /// Its stable expression changed.
    Change,
    /// The face left (or the source ended).
    End,
}

/// A label with its probability and the scores behind it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    pub expression: String,
    pub confidence: f32,
    /// Label → probability, in descriptor-set order.
    pub probs: indexmap_like::OrderedProbs,
}

/// The descriptor that fired: the best descriptor of the winning class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredDescriptor {
    pub name: String,
    pub logit: f32,
}

/// A change in a track's smoothed expression.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExpressionEvent {
    #[serde(rename = "type")]
    pub kind: EventKind,
    pub camera: String,
    pub track: u64,
    /// Last box, `[x, y, w, h]` in frame pixels.
    pub bbox: [f32; 4],
    /// Face width in frame px (the box's width, rounded): small faces are upscaled for the
    /// encoder, so consumers can ignore faces too small to judge.
    pub face_px: u32,
    /// The smoothed (announced) expression.
    pub expression: String,
    pub confidence: f32,
    /// Smoothed probabilities.
    pub probs: indexmap_like::OrderedProbs,
    /// The previous expression, on `change`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// This frame's own result.
    pub frame: Scored,
    /// CLIPER's clip-level result: the mean embedding of the track's last frames, scored.
    pub clip: Scored,
    /// Frames in the clip average.
    pub clip_frames: usize,
    pub descriptor: FiredDescriptor,
    /// Source clock, seconds: this frame, and when the track started.
    pub timestamp: f64,
    pub track_started: f64,
}

/// Periodic pipeline statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct StatsEvent {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub camera: String,
    /// Over the last interval.
    pub interval_s: f64,
    pub fps_in: f64,
    pub fps_out: f64,
    /// Totals since start.
    pub frames_in: u64,
    pub frames_processed: u64,
    pub frames_dropped: u64,
    pub bad_frames: u64,
    /// Events dropped because an output's queue was full, summed over the outputs.
    pub events_dropped: u64,
    pub tracks: usize,
    /// Mean detector runs per frame over the interval: the whole frame, a region per live
    /// track, and the frame's slice of the tile sweep (`[detection]`).
    pub detector_calls_per_frame: f64,
    /// Source seconds the last complete sweep over every tile window took (`null` before the
    /// first one completes, or with `detection.min_face = 0`).
    pub sweep_period_s: Option<f64>,
    /// Mean per-frame latency of each stage over the interval, milliseconds.
    pub latency_ms: BTreeMap<&'static str, f64>,
    /// Per output (by name, `mqtt`, `mqtt-2` for a second one): `queue_dropped` (its queue was
    /// full), `failed` (publishes that failed), and the sink's own counters (MQTT:
    /// `outage_dropped`, `outage_queued`, `stats_dropped`, `connection_failures`). Totals.
    pub outputs: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Times the source was lost (a camera unplugged), and reopen attempts that failed. Totals.
    pub capture_losses: u64,
    pub capture_failed_reopens: u64,
}

/// Anything a sink receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Event {
    Expression(ExpressionEvent),
    Stats(StatsEvent),
}

/// Label → probability maps that keep the descriptor set's class order in JSON.
pub mod indexmap_like {
    use serde::ser::{Serialize, SerializeMap, Serializer};

    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct OrderedProbs(pub Vec<(String, f32)>);

    impl Serialize for OrderedProbs {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
    }
}
