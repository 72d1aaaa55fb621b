//! Model manifests (`models/<name>.toml`): how to feed an ONNX file and where it came from.

use super::{sha256_hex, ModelError};
use crate::preprocess::{ColorOrder, InputSpec, Layout, ResizeRule};
use crate::schema::{self, Invalid, Key};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Face crop → embedding `[1, embedding_dim]`.
    Encoder,
    /// Frame → BlazeFace regressors and scores.
    Detector,
}

/// Where a converted model came from; reproduced by `script`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// `registry:name@version` of the package that ships the original weights.
    pub package: String,
    /// Paths of the original files inside the package.
    pub paths: Vec<String>,
    /// SHA-256 of each original file, as shipped.
    #[serde(default)]
    pub source_sha256: Vec<String>,
    /// The export script that produces `file` from the package.
    pub script: String,
    #[serde(default)]
    pub notes: Option<String>,
}

/// A model manifest; see docs/model-contract.md for every field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    pub name: String,
    pub role: Role,
    pub file: String,
    pub sha256: String,
    pub input_width: usize,
    pub input_height: usize,
    pub layout: Layout,
    pub color: ColorOrder,
    pub resize: ResizeRule,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
    pub licence: String,
    #[serde(default)]
    pub embedding_dim: Option<usize>,
    #[serde(default)]
    pub detector: Option<BlazeFaceOptions>,
    pub provenance: Provenance,
}

/// Anchor and decoding options of one BlazeFace variant: the manifest's `[detector]` table
/// (docs/model-contract.md), read by `detect::blazeface`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlazeFaceOptions {
    /// One stride per anchor layer; consecutive layers with equal strides share a grid.
    pub strides: Vec<u32>,
    /// When > 0, every layer adds a second anchor (MediaPipe's interpolated scale).
    pub interpolated_scale_aspect_ratio: f32,
    /// Anchor centre offset within a grid cell.
    #[serde(default = "default_anchor_offset")]
    pub anchor_offset: f32,
    /// Raw scores are clipped to ±score_clip before the sigmoid.
    #[serde(default = "default_score_clip")]
    pub score_clip: f32,
    /// Detections scoring below this are dropped before suppression.
    #[serde(default = "default_score_threshold")]
    pub score_threshold: f32,
    /// Boxes overlapping the best remaining one by more than this IoU are merged into it.
    #[serde(default = "default_nms_iou")]
    pub nms_iou: f32,
    /// Keypoints per detection (6 for BlazeFace).
    #[serde(default = "default_num_keypoints")]
    pub num_keypoints: usize,
}

/// Most anchor layers a detector may declare (BlazeFace has 1 or 4).
const MAX_ANCHOR_LAYERS: usize = 16;
/// Most keypoints a detection may carry (BlazeFace has 6).
const MAX_KEYPOINTS: usize = 64;
/// Largest `score_clip`: the sigmoid is already 0 or 1 in f32 well before it.
const MAX_SCORE_CLIP: f32 = 1000.0;

impl BlazeFaceOptions {
    /// Every value in its documented range (docs/model-contract.md), NaN and infinities
    /// refused: decoding and suppression then always end with finite boxes. `side`: the
    /// smaller input side, which no stride may exceed.
    pub fn validate(&self, key: &Key, side: usize) -> Result<(), Invalid> {
        let strides = key.field("strides");
        if self.strides.is_empty() || self.strides.len() > MAX_ANCHOR_LAYERS {
            return Err(strides.invalid(format!("must list 1 to {MAX_ANCHOR_LAYERS} strides, got {}", self.strides.len())));
        }
        for (i, s) in self.strides.iter().enumerate() {
            schema::within(&strides.index(i), *s as usize, 1, side)?;
        }
        schema::within(&key.field("interpolated_scale_aspect_ratio"), self.interpolated_scale_aspect_ratio, 0.0, 100.0)?;
        schema::within(&key.field("anchor_offset"), self.anchor_offset, 0.0, 1.0)?;
        schema::positive(&key.field("score_clip"), self.score_clip)?;
        schema::within(&key.field("score_clip"), self.score_clip, 0.0, MAX_SCORE_CLIP)?;
        schema::within(&key.field("score_threshold"), self.score_threshold, 0.0, 1.0)?;
        schema::within(&key.field("nms_iou"), self.nms_iou, 0.0, 1.0)?;
        schema::within(&key.field("num_keypoints"), self.num_keypoints, 0, MAX_KEYPOINTS)
    }
}

fn default_anchor_offset() -> f32 {
    0.5
}
fn default_score_clip() -> f32 {
    100.0
}
fn default_score_threshold() -> f32 {
    0.5
}
fn default_nms_iou() -> f32 {
    0.3
}
fn default_num_keypoints() -> usize {
    6
}

/// Inputs above this side are refused: no face model needs them and they would only
/// multiply preprocessing cost.
const MAX_INPUT_SIDE: usize = 4096;
/// Inputs below this side are refused: no face model works on fewer pixels (and tract's
/// resize panicked on a 7-pixel side).
const MIN_INPUT_SIDE: usize = 8;

impl Role {
    /// The manifest's spelling (`encoder`), for messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Encoder => "encoder",
            Role::Detector => "detector",
        }
    }
}

impl ModelManifest {
    /// Parse and check the manifest's own consistency (not the ONNX file).
    pub fn parse(text: &str, path: &Path) -> Result<ModelManifest, ModelError> {
        let m: ModelManifest = toml::from_str(text).map_err(|e| ModelError::Parse { path: path.to_owned(), source: Box::new(e) })?;
        m.validate(path)?;
        Ok(m)
    }

    fn validate(&self, path: &Path) -> Result<(), ModelError> {
        let bad = |reason: String| Err(ModelError::Invalid { path: path.to_owned(), reason });
        let c = self.color.channels();
        let sides = MIN_INPUT_SIDE..=MAX_INPUT_SIDE;
        if !sides.contains(&self.input_width) || !sides.contains(&self.input_height) {
            return bad(format!(
                "input size {}x{} out of range (input_width and input_height must be within {MIN_INPUT_SIDE}..={MAX_INPUT_SIDE})",
                self.input_width, self.input_height
            ));
        }
        if self.mean.len() != c || self.std.len() != c {
            return bad(format!("mean and std need {c} values for colour {}", self.color.name()));
        }
        if self.std.iter().any(|s| *s == 0.0 || !s.is_finite()) || self.mean.iter().any(|m| !m.is_finite()) {
            return bad("mean/std must be finite and std non-zero".into());
        }
        if self.sha256.len() != 64 || !self.sha256.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return bad("sha256 must be 64 hex digits".into());
        }
        if let Some(d) = &self.detector {
            d.validate(&Key::root().field("detector"), self.input_width.min(self.input_height)).or_else(|e| bad(e.to_string()))?;
        }
        match self.role {
            Role::Encoder if self.embedding_dim.unwrap_or(0) == 0 => bad("an encoder needs embedding_dim".into()),
            Role::Detector if self.detector.is_none() => bad("a detector needs a [detector] table".into()),
            _ => Ok(()),
        }
    }

    /// The preprocessing this model expects.
    pub fn input_spec(&self) -> InputSpec {
        InputSpec {
            width: self.input_width,
            height: self.input_height,
            layout: self.layout,
            color: self.color,
            resize: self.resize,
            mean: self.mean.clone(),
            std: self.std.clone(),
        }
    }

    /// Check ONNX bytes against the manifest's checksum.
    pub fn verify(&self, onnx: &[u8], onnx_path: &Path) -> Result<(), ModelError> {
        let actual = sha256_hex(onnx);
        if !actual.eq_ignore_ascii_case(&self.sha256) {
            return Err(ModelError::Checksum { path: onnx_path.to_owned(), expected: self.sha256.clone(), actual });
        }
        Ok(())
    }
}

/// A manifest with its verified ONNX bytes.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub manifest: ModelManifest,
    /// Where the ONNX came from, for messages (`embedded:` for built-in models).
    pub onnx_path: PathBuf,
    pub onnx: Vec<u8>,
}

impl ModelFiles {
    /// Read `manifest_path` and the ONNX file it names (relative to the manifest), and
    /// check the checksum.
    pub fn load(manifest_path: &Path) -> Result<ModelFiles, ModelError> {
        let text = std::fs::read_to_string(manifest_path).map_err(|source| ModelError::Read { path: manifest_path.to_owned(), source })?;
        let manifest = ModelManifest::parse(&text, manifest_path)?;
        let onnx_path = manifest_path.parent().unwrap_or(Path::new(".")).join(&manifest.file);
        let onnx = std::fs::read(&onnx_path).map_err(|source| ModelError::Read { path: onnx_path.clone(), source })?;
        manifest.verify(&onnx, &onnx_path)?;
        Ok(ModelFiles { manifest, onnx_path, onnx })
    }

    /// Build from in-memory manifest text and ONNX bytes (embedded models).
    pub fn from_parts(manifest_text: &str, label: &str, onnx: Vec<u8>) -> Result<ModelFiles, ModelError> {
        let mpath = PathBuf::from(format!("embedded:{label}.toml"));
        let manifest = ModelManifest::parse(manifest_text, &mpath)?;
        let onnx_path = PathBuf::from(format!("embedded:{}", manifest.file));
        manifest.verify(&onnx, &onnx_path)?;
        Ok(ModelFiles { manifest, onnx_path, onnx })
    }

    pub fn expect_role(&self, role: Role) -> Result<(), ModelError> {
        if self.manifest.role != role {
            return Err(ModelError::Invalid {
                path: self.onnx_path.clone(),
                reason: format!("model {} is a {}, expected a {}", self.manifest.name, self.manifest.role.name(), role.name()),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const ENCODER: &str = r#"
name = "toy"
role = "encoder"
file = "toy.onnx"
sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
input_width = 8
input_height = 8
layout = "nchw"
color = "rgb"
resize = "stretch_bilinear"
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
licence = "MIT"
embedding_dim = 4
[provenance]
package = "test"
paths = []
script = "none"
"#;

    #[test]
    fn parses_a_manifest_and_checks_the_checksum() {
        let m = ModelManifest::parse(ENCODER, Path::new("toy.toml")).expect("parse");
        assert_eq!(m.input_spec().shape(), [1, 3, 8, 8]);
        m.verify(b"", Path::new("toy.onnx")).expect("empty bytes hash");
        let e = m.verify(b"x", Path::new("toy.onnx")).expect_err("mismatch").to_string();
        assert!(e.contains("toy.onnx: checksum mismatch"), "{e}");
    }

    #[test]
    fn rejects_unknown_keys_and_inconsistent_fields() {
        let e = ModelManifest::parse(&format!("colour = 1\n{ENCODER}"), Path::new("m.toml")).expect_err("unknown");
        assert!(e.to_string().contains("unknown field `colour`"), "{e}");
        let e = ModelManifest::parse(&ENCODER.replace("mean = [0.0, 0.0, 0.0]", "mean = [0.0]"), Path::new("m.toml")).expect_err("mean");
        assert!(e.to_string().contains("mean and std need 3"), "{e}");
        let e = ModelManifest::parse(&ENCODER.replace("embedding_dim = 4", ""), Path::new("m.toml")).expect_err("dim");
        assert!(e.to_string().contains("embedding_dim"), "{e}");
        let e = ModelManifest::parse(&ENCODER.replace("input_width = 8", "input_width = 7"), Path::new("m.toml")).expect_err("tiny");
        assert!(e.to_string().starts_with("m.toml: input size 7x8 out of range"), "{e}");
    }

    #[test]
    fn every_detector_option_is_range_checked_naming_its_key() {
        let detector = include_str!("../../models/blazeface_full_range.toml");
        ModelManifest::parse(detector, Path::new("d.toml")).expect("the shipped manifest");
        for (line, replacement, needle) in [
            ("nms_iou = 0.3", "nms_iou = nan", "detector.nms_iou must be within 0..=1, got NaN"),
            ("nms_iou = 0.3", "nms_iou = 1.5", "detector.nms_iou must be within 0..=1, got 1.5"),
            ("anchor_offset = 0.5", "anchor_offset = inf", "detector.anchor_offset must be within 0..=1, got inf"),
            ("score_clip = 100.0", "score_clip = -1.0", "detector.score_clip must be positive, got -1"),
            ("score_clip = 100.0", "score_clip = nan", "detector.score_clip must be positive, got NaN"),
            ("score_clip = 100.0", "score_clip = 1e9", "detector.score_clip must be within 0..=1000"),
            ("score_threshold = 0.5", "score_threshold = -1.0", "detector.score_threshold must be within 0..=1"),
            ("strides = [4]", "strides = []", "detector.strides must list 1 to 16 strides, got 0"),
            ("strides = [4]", "strides = [0]", "detector.strides[0] must be within 1..=192, got 0"),
            ("num_keypoints = 6", "num_keypoints = 100000", "detector.num_keypoints must be within 0..=64"),
            ("interpolated_scale_aspect_ratio = 0.0", "interpolated_scale_aspect_ratio = nan", "detector.interpolated_scale_aspect_ratio"),
        ] {
            assert!(detector.contains(line), "{line}");
            let e = ModelManifest::parse(&detector.replace(line, replacement), Path::new("d.toml")).expect_err(needle).to_string();
            assert!(e.starts_with("d.toml: ") && e.contains(needle), "{e}");
        }
    }
}
