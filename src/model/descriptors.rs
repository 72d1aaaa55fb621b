//! Descriptor sets (`descriptors/<name>.json`): classes, each with one or more descriptor
//! embeddings, and the rule that turns an image embedding into class logits.
//!
//! CLIPER's METD is the `cosine` rule with scale 100 and 5 descriptors a class; a plain
//! classifier head is the `linear` rule with one descriptor a class.

use super::{ModelError, ModelManifest};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Largest magnitude of a descriptor value or bias: real embeddings are unit-scale; this
/// keeps every dot product over thousands of dimensions finite in f32.
pub const MAX_DESCRIPTOR_VALUE: f32 = 1e6;
/// Smallest norm of a cosine descriptor: below it the direction is numerical noise.
pub const MIN_COSINE_NORM: f64 = 1e-6;
/// Largest cosine scale (CLIPER uses 100): logits stay far from f32 overflow in softmax.
pub const MAX_COSINE_SCALE: f32 = 1e4;

/// How a descriptor's logit is computed from the image embedding.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scoring {
    /// `scale × cos(image, descriptor)`.
    Cosine { scale: f32 },
    /// `descriptor · image + bias`.
    Linear,
}

/// How descriptor logits combine into a class logit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// Mean of the class's descriptor logits (CLIPER's inference rule).
    Mean,
}

/// One descriptor: a text (or a name) and its embedding.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Descriptor {
    pub name: String,
    #[serde(default)]
    pub text: Option<String>,
    pub embedding: Vec<f32>,
    #[serde(default)]
    pub bias: f32,
}

/// A class and its descriptors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassDescriptors {
    pub label: String,
    pub descriptors: Vec<Descriptor>,
}

/// A descriptor set; see docs/model-contract.md.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptorSet {
    pub name: String,
    /// The encoder manifest `name` these embeddings belong to.
    pub encoder: String,
    pub dim: usize,
    pub scoring: Scoring,
    pub aggregate: Aggregate,
    pub classes: Vec<ClassDescriptors>,
    #[serde(default)]
    pub licence: Option<String>,
    #[serde(default)]
    pub provenance: Option<serde_json::Value>,
}

impl DescriptorSet {
    pub fn load(path: &Path) -> Result<DescriptorSet, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read { path: path.to_owned(), source })?;
        DescriptorSet::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<DescriptorSet, ModelError> {
        let set: DescriptorSet =
            serde_json::from_str(text).map_err(|e| ModelError::Parse { path: path.to_owned(), source: Box::new(e) })?;
        set.validate(path)?;
        Ok(set)
    }

    fn validate(&self, path: &Path) -> Result<(), ModelError> {
        let bad = |reason: String| Err(ModelError::Invalid { path: PathBuf::from(path), reason });
        if self.classes.is_empty() {
            return bad("no classes".into());
        }
        if let Scoring::Cosine { scale } = self.scoring {
            if !(scale.is_finite() && scale > 0.0 && scale <= MAX_COSINE_SCALE) {
                return bad(format!("cosine scale must be positive and at most {MAX_COSINE_SCALE}, got {scale}"));
            }
        }
        let mut labels = HashSet::new();
        for class in &self.classes {
            if !labels.insert(class.label.as_str()) {
                return bad(format!("class {} appears twice", class.label));
            }
            if class.descriptors.is_empty() {
                return bad(format!("class {} has no descriptors", class.label));
            }
            for d in &class.descriptors {
                if d.embedding.len() != self.dim {
                    return bad(format!(
                        "descriptor {} of class {} has {} values, the set says dim {}",
                        d.name,
                        class.label,
                        d.embedding.len(),
                        self.dim
                    ));
                }
                // Bounded values keep every dot product and norm finite in f32.
                let bounded = |v: f32| v.is_finite() && v.abs() <= MAX_DESCRIPTOR_VALUE;
                if !d.embedding.iter().all(|v| bounded(*v)) || !bounded(d.bias) {
                    return bad(format!(
                        "descriptor {} of class {} has a value that is not a finite number within ±{MAX_DESCRIPTOR_VALUE}",
                        d.name, class.label
                    ));
                }
                let norm = d.embedding.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>().sqrt();
                if matches!(self.scoring, Scoring::Cosine { .. }) && norm < MIN_COSINE_NORM {
                    return bad(format!(
                        "descriptor {} of class {} has norm {norm:e}, below {MIN_COSINE_NORM:e} (no direction for cosine)",
                        d.name, class.label
                    ));
                }
            }
        }
        Ok(())
    }

    /// Refuse a set made for another encoder or another embedding size.
    pub fn check_encoder(&self, encoder: &ModelManifest) -> Result<(), ModelError> {
        let mismatch = |reason: String| Err(ModelError::Mismatch { set: self.name.clone(), encoder: encoder.name.clone(), reason });
        if self.encoder != encoder.name {
            return mismatch(format!("the set was made for encoder {}", self.encoder));
        }
        match encoder.embedding_dim {
            Some(d) if d == self.dim => Ok(()),
            Some(d) => mismatch(format!("descriptor dim {} but encoder embedding dim {d}", self.dim)),
            None => mismatch(format!("descriptor dim {} but the encoder declares no embedding_dim", self.dim)),
        }
    }

    /// Keep only the named classes, in the given order: changing the label set needs no
    /// re-export.
    pub fn select(&self, labels: &[&str]) -> Result<DescriptorSet, ModelError> {
        let mut out = self.clone();
        out.classes = labels
            .iter()
            .map(|l| {
                self.classes.iter().find(|c| c.label == *l).cloned().ok_or_else(|| ModelError::Invalid {
                    path: PathBuf::from(&self.name),
                    reason: format!("no class {l} in descriptor set {}", self.name),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(out)
    }

    pub fn labels(&self) -> Vec<String> {
        self.classes.iter().map(|c| c.label.clone()).collect()
    }

    pub fn descriptor_count(&self) -> usize {
        self.classes.iter().map(|c| c.descriptors.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::toy_descriptor_set as toy_set;

    #[test]
    fn parses_and_selects_classes() {
        let s = DescriptorSet::parse(&toy_set(r#"{"type": "cosine", "scale": 100}"#), Path::new("t.json")).expect("parse");
        assert_eq!(s.scoring, Scoring::Cosine { scale: 100.0 });
        assert_eq!(s.descriptor_count(), 3);
        let r = s.select(&["b", "a"]).expect("select");
        assert_eq!(r.labels(), vec!["b", "a"]);
        assert!(s.select(&["c"]).expect_err("missing").to_string().contains("no class c"));
    }

    #[test]
    fn rejects_wrong_dimensions_duplicates_and_unknown_keys() {
        let base = toy_set(r#"{"type": "linear"}"#);
        for (text, needle) in [
            (base.replace("[0.0, 2.0]", "[0.0, 2.0, 3.0]"), "has 3 values, the set says dim 2"),
            (base.replace(r#""label": "b""#, r#""label": "a""#), "class a appears twice"),
            (base.replace(r#""aggregate""#, r#""agregate""#), "unknown field `agregate`"),
            (toy_set(r#"{"type": "cosine", "scale": -1}"#), "scale must be positive"),
            (toy_set(r#"{"type": "cosine", "scale": 1e30}"#), "at most 10000"),
            (base.replace("[0.0, 2.0]", "[0.0, 3e38]"), "descriptor a2 of class a has a value that is not a finite number"),
            (toy_set(r#"{"type": "cosine", "scale": 100}"#).replace("[1.0, 0.0]", "[1e-30, 0.0]"), "descriptor a1 of class a has norm"),
        ] {
            let e = DescriptorSet::parse(&text, Path::new("t.json")).expect_err(needle).to_string();
            assert!(e.starts_with("t.json: ") && e.contains(needle), "{e}");
        }
    }
}
