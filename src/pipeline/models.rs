//! Loading the models a selection names (`[models]`, or `classify`'s flags) on the configured
//! backend: the detector, and the encoder with its descriptor set folded in.

use crate::classify::{Classifier, FoldedClassifier};
use crate::detect::tiles::{TiledDetector, TilingOptions};
use crate::detect::BlazeFaceDetector;
use crate::infer::InferenceConfig;
use crate::model::config::ModelsConfig;
use crate::model::embedded;
use crate::model::ModelError;
use std::path::PathBuf;

/// The face detector, with `min_score` applied when set.
pub fn load_detector(sel: &ModelsConfig, inference: &InferenceConfig) -> Result<BlazeFaceDetector, ModelError> {
    let mut d = BlazeFaceDetector::load_with(&embedded::resolve_model(&sel.detector)?, inference)?;
    if let Some(s) = sel.min_score {
        d.set_score_threshold(s);
    }
    Ok(d)
}

/// The face detector over the whole image and the windows faces down to `min_face` px wide
/// need (still images: `classify`, `bench`).
pub fn load_tiled_detector(
    sel: &ModelsConfig,
    inference: &InferenceConfig,
    min_face: u32,
) -> Result<TiledDetector<BlazeFaceDetector>, ModelError> {
    let d = load_detector(sel, inference)?;
    let opts = TilingOptions { min_face, ..TilingOptions::for_input(d.input_side()) };
    let iou = d.options().nms_iou;
    Ok(TiledDetector::new(d, opts, iou))
}

/// The encoder with the descriptor set folded in; the set must fit the encoder.
pub fn load_classifier(sel: &ModelsConfig, inference: &InferenceConfig) -> Result<FoldedClassifier, ModelError> {
    let set = embedded::resolve_descriptors(&sel.descriptors)?;
    FoldedClassifier::load_with(&embedded::resolve_model(&sel.encoder)?, &set, inference)
}

/// Both models for the live path, whose smoothing holds at most
/// [`MAX_CLASSES`](crate::smooth::MAX_CLASSES) classes.
pub fn load_live(sel: &ModelsConfig, inference: &InferenceConfig) -> Result<(BlazeFaceDetector, FoldedClassifier), ModelError> {
    let classifier = load_classifier(sel, inference)?;
    let classes = classifier.folded().classes();
    if classes > crate::smooth::MAX_CLASSES {
        return Err(ModelError::Invalid {
            path: PathBuf::from(&sel.descriptors),
            reason: format!("{classes} classes; live smoothing handles at most {}", crate::smooth::MAX_CLASSES),
        });
    }
    Ok((load_detector(sel, inference)?, classifier))
}
