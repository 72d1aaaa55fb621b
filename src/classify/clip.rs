//! CLIPER's dynamic (video) FER: average a track's last N frame embeddings and score the
//! mean against the folded descriptors, as CLIPER classifies a clip.
//!
//! A fixed-size ring allocated once per track; pushing is O(D) with a running sum.

use crate::schema::{self, Invalid, Key};
use serde::Deserialize;

/// The mean of the last `window` embeddings of one track.
#[derive(Debug, Clone)]
pub struct ClipAverager {
    window: usize,
    dim: usize,
    ring: Vec<f32>,
    /// Running sum in f64 so that adding and removing thousands of frames does not drift.
    sum: Vec<f64>,
    len: usize,
    head: usize,
}

impl ClipAverager {
    pub fn new(window: usize, dim: usize) -> ClipAverager {
        let window = window.max(1);
        ClipAverager { window, dim, ring: vec![0.0; window * dim], sum: vec![0.0; dim], len: 0, head: 0 }
    }

    /// Add a frame's embedding; embeddings of another size are ignored (and counted by the
    /// caller through the return value).
    pub fn push(&mut self, embedding: &[f32]) -> bool {
        if embedding.len() != self.dim {
            return false;
        }
        let slot = &mut self.ring[self.head * self.dim..(self.head + 1) * self.dim];
        if self.len == self.window {
            for (s, old) in self.sum.iter_mut().zip(slot.iter()) {
                *s -= *old as f64;
            }
        } else {
            self.len += 1;
        }
        slot.copy_from_slice(embedding);
        for (s, new) in self.sum.iter_mut().zip(embedding) {
            *s += *new as f64;
        }
        self.head = (self.head + 1) % self.window;
        true
    }

    /// Frames currently averaged.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mean embedding, or `None` before the first frame.
    pub fn mean(&self) -> Option<Vec<f32>> {
        (self.len > 0).then(|| self.sum.iter().map(|s| (s / self.len as f64) as f32).collect())
    }
}

/// `[clip]`: clip-level (dynamic FER) scoring.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipConfig {
    /// Frames of a track averaged for the clip-level (dynamic FER) result.
    #[serde(default = "default_clip_window")]
    pub window: usize,
}

fn default_clip_window() -> usize {
    16
}

impl Default for ClipConfig {
    fn default() -> Self {
        ClipConfig { window: default_clip_window() }
    }
}

impl ClipConfig {
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        schema::within(&key.field("window"), self.window, 1, MAX_WINDOW)
    }
}

/// The longest clip window: a ring of this many embeddings is allocated per track.
pub const MAX_WINDOW: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_only_the_last_window_frames() {
        let mut c = ClipAverager::new(3, 2);
        assert_eq!(c.mean(), None);
        for v in [[1.0, 0.0], [2.0, 0.0], [3.0, 3.0], [4.0, 6.0]] {
            assert!(c.push(&v));
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.mean(), Some(vec![3.0, 3.0]));
        assert!(!c.push(&[1.0]));
    }

    #[test]
    fn cosine_scoring_of_the_mean_differs_from_the_mean_of_scores() {
        use crate::model::{DescriptorSet, Folded};
        let set = DescriptorSet::parse(
            r#"{"name": "s", "encoder": "e", "dim": 2, "scoring": {"type": "cosine", "scale": 100}, "aggregate": "mean",
                "classes": [{"label": "x", "descriptors": [{"name": "x", "embedding": [1, 0]}]},
                            {"label": "y", "descriptors": [{"name": "y", "embedding": [0, 1]}]}]}"#,
            std::path::Path::new("s.json"),
        )
        .expect("set");
        let f = Folded::new(&set);
        let mut c = ClipAverager::new(2, 2);
        // A long embedding pointing at x and a short one pointing at y: the clip is x.
        c.push(&[10.0, 0.0]);
        c.push(&[0.0, 1.0]);
        let (_, clip) = f.score(&c.mean().expect("mean"));
        assert!(clip[0] > clip[1]);
    }
}
