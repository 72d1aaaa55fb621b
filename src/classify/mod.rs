//! Expression classification: the `Classifier` seam, its result type, the score maths every
//! consumer shares ([`scores`]), and the encoder with folded descriptors on an inference
//! [`Engine`].

pub mod clip;
pub mod scores;

use crate::infer::{self, Engine, EngineError, InferenceConfig};
use crate::model::manifest::ModelFiles;
use crate::model::{DescriptorSet, Folded, ModelError};
use crate::preprocess::{CropRef, InputSpec};

/// Scores for one face crop.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// The encoder's raw embedding (for clip-level averaging).
    pub embedding: Vec<f32>,
    /// One logit per descriptor, in the descriptor set's order.
    pub descriptor_logits: Vec<f32>,
    /// One logit per class.
    pub class_logits: Vec<f32>,
    /// Softmax of the class logits.
    pub probs: Vec<f32>,
}

impl Classification {
    /// Build from logits (used for both per-frame and mean-embedding scores).
    pub fn from_logits(embedding: Vec<f32>, descriptor_logits: Vec<f32>, class_logits: Vec<f32>) -> Classification {
        let probs = scores::softmax(&class_logits);
        Classification { embedding, descriptor_logits, class_logits, probs }
    }

    /// [`Classification::from_logits`], refusing any value that is not finite.
    pub fn checked(embedding: Vec<f32>, descriptor_logits: Vec<f32>, class_logits: Vec<f32>) -> Result<Classification, ClassifyError> {
        for (what, values) in [("embedding", &embedding), ("descriptor logit", &descriptor_logits), ("class logit", &class_logits)] {
            if !values.iter().all(|x| x.is_finite()) {
                return Err(ClassifyError::NonFinite { what });
            }
        }
        let c = Classification::from_logits(embedding, descriptor_logits, class_logits);
        if !c.probs.iter().all(|x| x.is_finite()) {
            return Err(ClassifyError::NonFinite { what: "probability" });
        }
        Ok(c)
    }

    /// Index of the most probable class (the first one on ties).
    pub fn best_class(&self) -> usize {
        scores::argmax(&self.probs).unwrap_or(0)
    }

    /// Index of the highest-scoring descriptor of class `class` (the first one on ties).
    pub fn best_descriptor_of(&self, class: usize, folded: &Folded) -> usize {
        scores::best_descriptor(&self.descriptor_logits, &folded.descriptor_class, class).unwrap_or(0)
    }
}

/// Why classification failed on a crop.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("expression encoder inference failed: {0}")]
    Inference(#[source] EngineError),
    /// A NaN or infinite embedding value or score: the encoder, its manifest and the
    /// descriptor set do not fit together. An error for this face, never a published NaN.
    #[error("expression encoder gave a non-finite {what} (NaN or infinity)")]
    NonFinite { what: &'static str },
}

/// Scores a face crop against a descriptor set. `Send`: the live path runs it on its
/// inference thread.
pub trait Classifier: Send {
    /// Score one crop: an 8-bit image (a decoded file, a whole frame) or an aligned float crop.
    fn classify(&mut self, crop: CropRef<'_>) -> Result<Classification, ClassifyError>;
    /// The matrices behind the scores: labels, descriptor names and clip-level scoring.
    fn folded(&self) -> &Folded;
}

/// An encoder ONNX with its descriptor set folded into the graph, on tract or ONNX Runtime.
pub struct FoldedClassifier {
    engine: Box<dyn Engine>,
    spec: InputSpec,
    folded: Folded,
    /// `encoder-name/descriptor-set-name`, for logs.
    pub name: String,
}

impl FoldedClassifier {
    /// Load on tract.
    pub fn load(files: &ModelFiles, set: &DescriptorSet) -> Result<FoldedClassifier, ModelError> {
        Self::load_with(files, set, &InferenceConfig::default())
    }

    pub fn load_with(files: &ModelFiles, set: &DescriptorSet, inference: &InferenceConfig) -> Result<FoldedClassifier, ModelError> {
        set.check_encoder(&files.manifest)?;
        let folded = Folded::new(set);
        let engine = infer::load(files, Some(&folded), inference)?;
        Ok(FoldedClassifier { engine, spec: files.manifest.input_spec(), folded, name: format!("{}/{}", files.manifest.name, set.name) })
    }

    /// What runs the model, for logs.
    pub fn backend(&self) -> String {
        self.engine.describe()
    }

    /// The manifest's preprocessing.
    pub fn input_spec(&self) -> &InputSpec {
        &self.spec
    }

    /// Run on an already prepared input tensor (benchmarks and parity tests).
    pub fn classify_prepared(&mut self, data: Vec<f32>) -> Result<Classification, ClassifyError> {
        let out = self.engine.run(data).map_err(ClassifyError::Inference)?;
        let [emb, desc, class]: [Vec<f32>; 3] =
            out.try_into().map_err(|o: Vec<_>| ClassifyError::Inference(EngineError::Outputs { got: o.len(), expected: 3 }))?;
        Classification::checked(emb, desc, class)
    }
}

impl Classifier for FoldedClassifier {
    fn classify(&mut self, crop: CropRef<'_>) -> Result<Classification, ClassifyError> {
        self.classify_prepared(crop.prepare(&self.spec).data)
    }

    fn folded(&self) -> &Folded {
        &self.folded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_descriptor_is_chosen_within_the_winning_class() {
        let folded = Folded {
            dim: 1,
            weights: vec![0.0; 3],
            bias: vec![0.0; 3],
            aggregate: vec![0.0; 6],
            normalize: false,
            labels: vec!["a".into(), "b".into()],
            descriptor_names: vec!["a1".into(), "a2".into(), "b1".into()],
            descriptor_class: vec![0, 0, 1],
        };
        let c = Classification::from_logits(vec![], vec![1.0, 3.0, 9.0], vec![2.0, 9.0]);
        assert_eq!(c.best_class(), 1);
        assert_eq!(c.best_descriptor_of(1, &folded), 2);
        assert_eq!(c.best_descriptor_of(0, &folded), 1);
        assert!((c.probs.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_non_finite_value_is_an_error_for_the_face() {
        assert!(Classification::checked(vec![1.0], vec![1.0, 2.0], vec![2.0, 9.0]).is_ok());
        for (emb, desc, class, what) in [
            (vec![f32::NAN], vec![1.0], vec![1.0], "embedding"),
            (vec![1.0], vec![f32::INFINITY], vec![1.0], "descriptor logit"),
            (vec![1.0], vec![1.0], vec![f32::NAN, 1.0], "class logit"),
        ] {
            let e = Classification::checked(emb, desc, class).expect_err(what).to_string();
            assert_eq!(e, format!("expression encoder gave a non-finite {what} (NaN or infinity)"));
        }
    }
}
