//! Folding a descriptor set into matrices: the maths of the contract, with no inference
//! engine in sight.
//!
//! The text side of CLIPER is fixed after training, so every descriptor becomes a column of
//! one `D × K` matrix (normalised and pre-scaled for cosine scoring) and class aggregation a
//! `K × C` matrix. The inference backends append these matrices to the encoder's graph
//! (`infer::tract::wire_folded`, `infer::onnx_fold`), so one plan returns the embedding,
//! every descriptor's logit and every class's logit; [`Folded::score`] is the same maths in
//! plain Rust, for clip-level (mean embedding) scoring.

use super::descriptors::{Aggregate, DescriptorSet, Scoring};

/// A descriptor set as matrices.
#[derive(Debug, Clone, PartialEq)]
pub struct Folded {
    /// Embedding dimension D.
    pub dim: usize,
    /// `D × K`, row-major: column k is descriptor k (unit length × scale for cosine).
    pub weights: Vec<f32>,
    /// K biases (zero for cosine).
    pub bias: Vec<f32>,
    /// `K × C`, row-major: `1 / n_c` where descriptor k belongs to class c.
    pub aggregate: Vec<f32>,
    /// L2-normalise the image embedding first (cosine scoring).
    pub normalize: bool,
    /// Class labels, C of them.
    pub labels: Vec<String>,
    /// Descriptor names, K of them, in column order.
    pub descriptor_names: Vec<String>,
    /// The class of each descriptor.
    pub descriptor_class: Vec<usize>,
}

impl Folded {
    pub fn new(set: &DescriptorSet) -> Folded {
        let d = set.dim;
        let k_total = set.descriptor_count();
        let c_total = set.classes.len();
        let mut weights = vec![0f32; d * k_total];
        let mut bias = Vec::with_capacity(k_total);
        let mut aggregate = vec![0f32; k_total * c_total];
        let mut descriptor_names = Vec::with_capacity(k_total);
        let mut descriptor_class = Vec::with_capacity(k_total);
        let mut k = 0;
        for (c, class) in set.classes.iter().enumerate() {
            let n = class.descriptors.len() as f32;
            for desc in &class.descriptors {
                let factor = match set.scoring {
                    Scoring::Cosine { scale } => {
                        let norm = desc.embedding.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
                        (scale as f64 / norm) as f32
                    }
                    Scoring::Linear => 1.0,
                };
                for (i, v) in desc.embedding.iter().enumerate() {
                    weights[i * k_total + k] = v * factor;
                }
                bias.push(match set.scoring {
                    Scoring::Cosine { .. } => 0.0,
                    Scoring::Linear => desc.bias,
                });
                match set.aggregate {
                    Aggregate::Mean => aggregate[k * c_total + c] = 1.0 / n,
                }
                descriptor_names.push(desc.name.clone());
                descriptor_class.push(c);
                k += 1;
            }
        }
        Folded {
            dim: d,
            weights,
            bias,
            aggregate,
            normalize: matches!(set.scoring, Scoring::Cosine { .. }),
            labels: set.labels(),
            descriptor_names,
            descriptor_class,
        }
    }

    pub fn descriptors(&self) -> usize {
        self.bias.len()
    }

    pub fn classes(&self) -> usize {
        self.labels.len()
    }

    /// Score an embedding in plain Rust: `(descriptor logits, class logits)`. Used for
    /// clip-level (mean embedding) scoring, where running the encoder again is pointless.
    pub fn score(&self, embedding: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (k_total, c_total) = (self.descriptors(), self.classes());
        let scale = if self.normalize {
            let n = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
            if n > 0.0 {
                1.0 / n
            } else {
                0.0
            }
        } else {
            1.0
        };
        let mut desc = self.bias.clone();
        for (i, e) in embedding.iter().take(self.dim).enumerate() {
            let e = e * scale;
            for (k, d) in desc.iter_mut().enumerate() {
                *d += e * self.weights[i * k_total + k];
            }
        }
        let mut class = vec![0f32; c_total];
        for (k, d) in desc.iter().enumerate() {
            for (c, out) in class.iter_mut().enumerate() {
                *out += d * self.aggregate[k * c_total + c];
            }
        }
        (desc, class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::toy_descriptor_set as toy_set;
    use std::path::Path;

    fn set(scoring: &str) -> DescriptorSet {
        DescriptorSet::parse(&toy_set(scoring), Path::new("t.json")).expect("toy set")
    }

    #[test]
    fn cosine_fold_is_scale_times_mean_cosine() {
        let f = Folded::new(&set(r#"{"type": "cosine", "scale": 100}"#));
        let (desc, class) = f.score(&[3.0, 4.0]);
        // cos with [1,0] = 0.6, with [0,2] = 0.8, with [-1,1] = 0.1*sqrt(2)
        assert!((desc[0] - 60.0).abs() < 1e-4 && (desc[1] - 80.0).abs() < 1e-4);
        assert!((desc[2] - 100.0 * 0.1 * 2f32.sqrt()).abs() < 1e-4);
        assert!((class[0] - 70.0).abs() < 1e-4);
        assert!((class[1] - desc[2]).abs() < 1e-6);
        assert_eq!(f.descriptor_class, vec![0, 0, 1]);
        // Scale invariance of the image side.
        let (_, class2) = f.score(&[30.0, 40.0]);
        assert!((class2[0] - class[0]).abs() < 1e-3);
    }

    #[test]
    fn linear_fold_is_dot_plus_bias() {
        let f = Folded::new(&set(r#"{"type": "linear"}"#));
        let (desc, class) = f.score(&[3.0, 4.0]);
        assert_eq!(desc, vec![3.0, 8.5, 1.0]);
        assert_eq!(class, vec![5.75, 1.0]);
    }
}
