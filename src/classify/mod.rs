//! Expression classification: the `Classifier` seam, its result type, and the encoder with
//! folded descriptors under tract.

pub mod clip;

use crate::frame::Frame;
use crate::model::fold::softmax;
use crate::model::manifest::ModelFiles;
use crate::model::tract::{folded_encoder_plan, run_f32, Plan};
use crate::model::{DescriptorSet, Folded, ModelError};
use crate::preprocess::{prepare, InputSpec};

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
        let probs = softmax(&class_logits);
        Classification { embedding, descriptor_logits, class_logits, probs }
    }

    /// Index of the most probable class (the first one on ties).
    pub fn best_class(&self) -> usize {
        argmax(&self.probs)
    }

    /// Index of the highest-scoring descriptor of class `class`.
    pub fn best_descriptor_of(&self, class: usize, folded: &Folded) -> usize {
        let mut best = None::<(usize, f32)>;
        for (k, &c) in folded.descriptor_class.iter().enumerate() {
            if c == class && best.is_none_or(|(_, l)| self.descriptor_logits[k] > l) {
                best = Some((k, self.descriptor_logits[k]));
            }
        }
        best.map(|(k, _)| k).unwrap_or(0)
    }
}

/// Index of the largest value, the first one on ties (0 for an empty slice).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Why classification failed on a crop.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("expression encoder inference failed: {0}")]
    Inference(String),
}

/// Scores a face crop against a descriptor set.
pub trait Classifier {
    fn classify(&mut self, crop: &Frame) -> Result<Classification, ClassifyError>;
    /// The matrices behind the scores: labels, descriptor names and clip-level scoring.
    fn folded(&self) -> &Folded;
}

/// An encoder ONNX under tract with its descriptor set folded into the graph.
pub struct TractClassifier {
    plan: Plan,
    spec: InputSpec,
    folded: Folded,
    /// `encoder-name/descriptor-set-name`, for logs.
    pub name: String,
}

impl TractClassifier {
    pub fn load(files: &ModelFiles, set: &DescriptorSet) -> Result<TractClassifier, ModelError> {
        set.check_encoder(&files.manifest)?;
        let folded = Folded::new(set);
        let plan = folded_encoder_plan(files, &folded)?;
        Ok(TractClassifier {
            plan,
            spec: files.manifest.input_spec(),
            folded,
            name: format!("{}/{}", files.manifest.name, set.name),
        })
    }

    /// The manifest's preprocessing.
    pub fn input_spec(&self) -> &InputSpec {
        &self.spec
    }

    /// Run on an already prepared input tensor (benchmarks and parity tests).
    pub fn classify_prepared(&self, data: Vec<f32>) -> Result<Classification, ClassifyError> {
        let out = run_f32(&self.plan, data, &self.spec.shape()).map_err(|e| ClassifyError::Inference(format!("{e:#}")))?;
        let [emb, desc, class]: [Vec<f32>; 3] = out
            .try_into()
            .map_err(|o: Vec<_>| ClassifyError::Inference(format!("folded plan returned {} outputs, expected 3", o.len())))?;
        Ok(Classification::from_logits(emb, desc, class))
    }
}

impl Classifier for TractClassifier {
    fn classify(&mut self, crop: &Frame) -> Result<Classification, ClassifyError> {
        self.classify_prepared(prepare(crop, &self.spec).data)
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
}
