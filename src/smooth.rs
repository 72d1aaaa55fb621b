//! Temporal smoothing of a track's class probabilities: an exponential moving average
//! with a time-based rate, plus hysteresis (a new label must lead the current one by a
//! margin for a minimum dwell before it replaces it).
//!
//! A pure state machine on `heapless` buffers: no allocation per frame, no clock reads;
//! the caller passes each frame's timestamp.

use crate::classify::scores::argmax;
use crate::schema::{self, Invalid, Key};
use heapless::Vec as HVec;
use serde::Deserialize;
use std::time::Duration;

/// Most classes a smoother handles (descriptor sets beyond this are refused at config time).
pub const MAX_CLASSES: usize = 32;

/// Smoothing parameters (config `[smoothing]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SmootherConfig {
    /// Time for a new frame's probabilities to make up half of the average.
    pub half_life: Duration,
    /// How far (in probability) a challenger must lead the current label.
    pub switch_margin: f32,
    /// How long it must keep that lead before it takes over; also how long a new track's
    /// leader must hold before the first label is announced.
    pub min_dwell: Duration,
}

impl Default for SmootherConfig {
    /// At 15 fps: a single-frame flicker moves the average by ~20 %, short of the margin;
    /// a real change crosses in about one half-life and holds for the dwell (~0.45 s).
    fn default() -> Self {
        SmootherConfig { half_life: Duration::from_millis(200), switch_margin: 0.1, min_dwell: Duration::from_millis(250) }
    }
}

/// What a frame changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The track has its first label.
    Start { label: usize },
    /// The label changed.
    Changed { from: usize, to: usize },
}

/// Per-track smoothing state.
#[derive(Debug, Clone)]
pub struct Smoother {
    config: SmootherConfig,
    probs: HVec<f32, MAX_CLASSES>,
    last_ts: Option<Duration>,
    current: Option<usize>,
    /// Challenger and when it started leading.
    candidate: Option<(usize, Duration)>,
}

impl Smoother {
    pub fn new(config: SmootherConfig) -> Smoother {
        Smoother { config, probs: HVec::new(), last_ts: None, current: None, candidate: None }
    }

    /// The smoothed probabilities so far.
    pub fn probs(&self) -> &[f32] {
        &self.probs
    }

    /// The current (announced) label.
    pub fn label(&self) -> Option<usize> {
        self.current
    }

    /// Feed one frame's probabilities. Frames older than the last one are ignored; more
    /// than `MAX_CLASSES` values are truncated (the live path refuses such descriptor sets
    /// when it loads them, `pipeline::models::load_live`).
    pub fn update(&mut self, ts: Duration, frame_probs: &[f32]) -> Option<Change> {
        let n = frame_probs.len().min(MAX_CLASSES);
        let alpha = match self.last_ts {
            None => 1.0,
            Some(last) if ts < last => return None,
            Some(_) if self.probs.len() != n => 1.0,
            Some(last) => {
                let dt = (ts - last).as_secs_f32();
                let hl = self.config.half_life.as_secs_f32();
                if hl <= 0.0 {
                    1.0
                } else {
                    1.0 - (-dt * std::f32::consts::LN_2 / hl).exp()
                }
            }
        };
        if self.probs.len() != n {
            self.probs.clear();
            // Cannot fail: n <= MAX_CLASSES.
            let _ = self.probs.resize(n, 0.0);
        }
        for (s, p) in self.probs.iter_mut().zip(frame_probs) {
            *s += alpha * (p - *s);
        }
        self.last_ts = Some(ts);
        let leader = argmax(&self.probs)?;
        match self.current {
            Some(cur) if leader == cur => {
                self.candidate = None;
                None
            }
            Some(cur) if self.probs[leader] < self.probs[cur] + self.config.switch_margin => {
                self.candidate = None;
                None
            }
            current => {
                let since = match self.candidate {
                    Some((c, since)) if c == leader => since,
                    _ => {
                        self.candidate = Some((leader, ts));
                        ts
                    }
                };
                if ts.saturating_sub(since) < self.config.min_dwell {
                    return None;
                }
                self.candidate = None;
                self.current = Some(leader);
                Some(match current {
                    None => Change::Start { label: leader },
                    Some(from) => Change::Changed { from, to: leader },
                })
            }
        }
    }
}

/// `[smoothing]`: how a track's expression is stabilised.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmoothingConfig {
    /// Half-life of the probability average (milliseconds).
    #[serde(default = "default_half_life_ms")]
    pub half_life_ms: u64,
    /// How far a new expression must lead the current one to replace it.
    #[serde(default = "default_switch_margin")]
    pub switch_margin: f32,
    /// How long it must keep that lead (milliseconds).
    #[serde(default = "default_min_dwell_ms")]
    pub min_dwell_ms: u64,
}

fn default_half_life_ms() -> u64 {
    SmootherConfig::default().half_life.as_millis() as u64
}
fn default_switch_margin() -> f32 {
    SmootherConfig::default().switch_margin
}
fn default_min_dwell_ms() -> u64 {
    SmootherConfig::default().min_dwell.as_millis() as u64
}

impl Default for SmoothingConfig {
    fn default() -> Self {
        SmoothingConfig {
            half_life_ms: default_half_life_ms(),
            switch_margin: default_switch_margin(),
            min_dwell_ms: default_min_dwell_ms(),
        }
    }
}

/// Longest `half_life_ms` and `min_dwell_ms`: one day.
pub const MAX_MS: u64 = 86_400_000;

impl SmoothingConfig {
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        // Probabilities differ by at most 1: a larger margin could never be met.
        schema::within(&key.field("switch_margin"), self.switch_margin, 0.0, 1.0)?;
        schema::within(&key.field("half_life_ms"), self.half_life_ms, 0, MAX_MS)?;
        schema::within(&key.field("min_dwell_ms"), self.min_dwell_ms, 0, MAX_MS)
    }

    pub fn smoother(&self) -> SmootherConfig {
        SmootherConfig {
            half_life: Duration::from_millis(self.half_life_ms),
            switch_margin: self.switch_margin,
            min_dwell: Duration::from_millis(self.min_dwell_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [f32; 3] = [0.9, 0.05, 0.05];
    const B: [f32; 3] = [0.05, 0.9, 0.05];

    fn frame(i: u64) -> Duration {
        // 15 fps.
        Duration::from_micros(i * 66_667)
    }

    /// Feed a scripted sequence; returns (frame index, change) for every change.
    fn run(seq: &[[f32; 3]]) -> Vec<(usize, Change)> {
        let mut s = Smoother::new(SmootherConfig::default());
        seq.iter().enumerate().filter_map(|(i, p)| s.update(frame(i as u64), p).map(|c| (i, c))).collect()
    }

    #[test]
    fn the_first_label_is_announced_after_the_dwell() {
        let changes = run(&[A; 10]);
        // Dwell 250 ms = 3.75 frames: announced on frame 4.
        assert_eq!(changes, vec![(4, Change::Start { label: 0 })]);
    }

    #[test]
    fn a_one_frame_flicker_is_suppressed() {
        let mut seq = vec![A; 10];
        seq.push(B);
        seq.extend([A; 10]);
        assert_eq!(run(&seq), vec![(4, Change::Start { label: 0 })]);
        // Even two frames of flicker stay below the margin for long enough.
        let mut seq = vec![A; 10];
        seq.extend([B; 2]);
        seq.extend([A; 10]);
        assert_eq!(run(&seq), vec![(4, Change::Start { label: 0 })]);
    }

    #[test]
    fn a_real_change_comes_through_within_half_a_second() {
        let mut seq = vec![A; 10];
        seq.extend([B; 15]);
        let changes = run(&seq);
        assert_eq!(changes.len(), 2, "{changes:?}");
        let (i, c) = changes[1];
        assert_eq!(c, Change::Changed { from: 0, to: 1 });
        let lag = frame(i as u64) - frame(10);
        assert!(lag <= Duration::from_millis(500), "lag {lag:?}");
        assert!(lag >= SmootherConfig::default().min_dwell, "lag {lag:?}");
    }

    #[test]
    fn out_of_order_frames_are_ignored_and_class_count_changes_reset() {
        let mut s = Smoother::new(SmootherConfig::default());
        s.update(frame(5), &A);
        assert_eq!(s.update(frame(4), &B), None);
        assert_eq!(s.probs(), &A);
        s.update(frame(6), &[0.5, 0.5]);
        assert_eq!(s.probs(), &[0.5, 0.5]);
    }
}
