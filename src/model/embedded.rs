//! The default models, compiled into the binary so `cliper classify photo.jpg` works from
//! any directory and a release binary is self-contained. Each is checked against its
//! manifest's checksum when loaded, exactly like a model read from disk.

use super::manifest::ModelFiles;
use super::{DescriptorSet, ModelError};
use std::path::Path;

struct Embedded {
    label: &'static str,
    manifest: &'static str,
    onnx: &'static [u8],
}

const MODELS: &[Embedded] = &[
    Embedded {
        label: "blazeface_full_range",
        manifest: include_str!("../../models/blazeface_full_range.toml"),
        onnx: include_bytes!("../../models/blazeface_full_range.onnx"),
    },
    Embedded {
        label: "blazeface_short_range",
        manifest: include_str!("../../models/blazeface_short_range.toml"),
        onnx: include_bytes!("../../models/blazeface_short_range.onnx"),
    },
    Embedded {
        label: "faceapi_expression",
        manifest: include_str!("../../models/faceapi_expression.toml"),
        onnx: include_bytes!("../../models/faceapi_expression.onnx"),
    },
];

const DESCRIPTOR_SETS: &[(&str, &str)] = &[("faceapi_expression", include_str!("../../descriptors/faceapi_expression.json"))];

/// Default detector: the full-range model finds the small faces of group photos and rooms;
/// the short-range one is faster for a face within about 2 m of the camera.
pub const DEFAULT_DETECTOR: &str = "blazeface_full_range";
/// Default expression encoder and its descriptor set.
pub const DEFAULT_ENCODER: &str = "faceapi_expression";
pub const DEFAULT_DESCRIPTORS: &str = "faceapi_expression";

/// Names of the embedded models.
pub fn model_names() -> impl Iterator<Item = &'static str> {
    MODELS.iter().map(|m| m.label)
}

/// An embedded model by file stem (e.g. `blazeface_short_range`).
pub fn model(label: &str) -> Result<ModelFiles, ModelError> {
    let m = MODELS.iter().find(|m| m.label == label).ok_or_else(|| ModelError::UnknownEmbedded(label.to_owned()))?;
    ModelFiles::from_parts(m.manifest, m.label, m.onnx.to_vec())
}

/// An embedded descriptor set by file stem.
pub fn descriptor_set(label: &str) -> Result<DescriptorSet, ModelError> {
    let (_, text) = DESCRIPTOR_SETS.iter().find(|(l, _)| *l == label).ok_or_else(|| ModelError::UnknownEmbedded(label.to_owned()))?;
    DescriptorSet::parse(text, Path::new(&format!("embedded:{label}.json")))
}

/// A model given on the command line or in config: an embedded name, or a manifest path.
pub fn resolve_model(spec: &str) -> Result<ModelFiles, ModelError> {
    if MODELS.iter().any(|m| m.label == spec) {
        model(spec)
    } else {
        ModelFiles::load(Path::new(spec))
    }
}

/// A descriptor set given as an embedded name or a JSON path.
pub fn resolve_descriptors(spec: &str) -> Result<DescriptorSet, ModelError> {
    if DESCRIPTOR_SETS.iter().any(|(l, _)| *l == spec) {
        descriptor_set(spec)
    } else {
        DescriptorSet::load(Path::new(spec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_model_matches_its_checksum() {
        for name in model_names() {
            model(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        descriptor_set(DEFAULT_DESCRIPTORS).expect("default descriptors");
        assert!(matches!(model("nope"), Err(ModelError::UnknownEmbedded(_))));
    }
}
