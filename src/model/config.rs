//! `[models]`: which detector, encoder and descriptor set a config selects (embedded names
//! or paths), resolved by [`super::embedded`].

use super::embedded::{DEFAULT_DESCRIPTORS, DEFAULT_DETECTOR, DEFAULT_ENCODER};
use crate::schema::{self, Invalid, Key};
use serde::Deserialize;

/// The models that score the faces.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsConfig {
    /// Face detector: an embedded model name or a manifest path.
    #[serde(default = "default_detector")]
    pub detector: String,
    /// Expression encoder: an embedded model name or a manifest path.
    #[serde(default = "default_encoder")]
    pub encoder: String,
    /// Descriptor set: an embedded name or a JSON path.
    #[serde(default = "default_descriptors")]
    pub descriptors: String,
    /// Minimum face detection score (0..=1); unset: the detector manifest's.
    #[serde(default)]
    pub min_score: Option<f32>,
}

fn default_detector() -> String {
    DEFAULT_DETECTOR.into()
}
fn default_encoder() -> String {
    DEFAULT_ENCODER.into()
}
fn default_descriptors() -> String {
    DEFAULT_DESCRIPTORS.into()
}

impl ModelsConfig {
    /// Every name non-empty, `min_score` within 0..=1 when set.
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        for (name, value) in [("detector", &self.detector), ("encoder", &self.encoder), ("descriptors", &self.descriptors)] {
            if value.trim().is_empty() {
                return Err(key.field(name).invalid("must name an embedded model or a file, got an empty string"));
            }
        }
        self.min_score.map_or(Ok(()), |s| schema::within(&key.field("min_score"), s, 0.0, 1.0))
    }
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig { detector: default_detector(), encoder: default_encoder(), descriptors: default_descriptors(), min_score: None }
    }
}
