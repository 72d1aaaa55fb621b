//! `[detection]`: how the live path spends detector runs on faces of every size (the whole
//! frame, a region per live track, a tile sweep spread over frames).

use super::tiles::{TilingOptions, DEFAULT_MIN_FACE};
use crate::schema::{self, Invalid, Key};
use serde::Deserialize;

/// Default frames a full tile sweep is spread over: at 15 fps a new far face is found
/// within about two thirds of a second.
pub const DEFAULT_SWEEP_FRAMES: usize = 10;

/// `[detection]`: the live path's detection budget.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionConfig {
    /// Smallest face to look for, px wide in the frame; 0: the whole frame only (no tiles,
    /// no track regions).
    #[serde(default = "default_min_face")]
    pub min_face: u32,
    /// Frames a full sweep over the tile windows is spread over (1: every tile every frame).
    #[serde(default = "default_sweep_frames")]
    pub sweep_frames: usize,
    /// Re-find every live track each frame in a window around its predicted box, at its own
    /// scale.
    #[serde(default = "default_track_regions")]
    pub track_regions: bool,
}

fn default_min_face() -> u32 {
    DEFAULT_MIN_FACE
}
fn default_sweep_frames() -> usize {
    DEFAULT_SWEEP_FRAMES
}
fn default_track_regions() -> bool {
    true
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig { min_face: default_min_face(), sweep_frames: default_sweep_frames(), track_regions: default_track_regions() }
    }
}

impl DetectionConfig {
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        schema::within(&key.field("min_face"), self.min_face, 0, 4096)?;
        schema::within(&key.field("sweep_frames"), self.sweep_frames, 1, 1000)
    }

    /// The window layout for a detector whose input square has side `input`.
    pub fn tiling(&self, input: usize) -> TilingOptions {
        TilingOptions { min_face: self.min_face, ..TilingOptions::for_input(input) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_ranges_name_the_key() {
        let c: DetectionConfig = toml::from_str("").expect("empty");
        assert_eq!(c, DetectionConfig::default());
        assert_eq!((c.min_face, c.sweep_frames, c.track_regions), (32, 10, true));
        let bad = DetectionConfig { sweep_frames: 0, ..c.clone() };
        let e = bad.validate(&Key::root().field("detection")).expect_err("0 frames");
        assert_eq!(e.key, "detection.sweep_frames");
        assert!(toml::from_str::<DetectionConfig>("tiles = 3").is_err());
        assert_eq!(c.tiling(192).min_face, 32);
    }
}
