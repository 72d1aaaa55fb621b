//! `[models]`: which detector, encoder and descriptor set a config selects (embedded names
//! or paths), resolved by [`super::embedded`].

use super::embedded::{DEFAULT_DESCRIPTORS, DEFAULT_DETECTOR, DEFAULT_ENCODER};
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
    /// Minimum face detection score; unset: the detector manifest's.
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

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig { detector: default_detector(), encoder: default_encoder(), descriptors: default_descriptors(), min_score: None }
    }
}
