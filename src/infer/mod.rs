//! Inference backends: the [`Engine`] seam that the face detector and the expression
//! encoder run on, and the configuration that picks one.
//!
//! `tract` (pure Rust, CPU) is the default everywhere. `ort` (ONNX Runtime through the `ort`
//! crate, feature `ort`) exists for boards whose fast path is a GPU: TensorRT or CUDA on a
//! Jetson. Both take the same ONNX file and the same folded descriptor set; an engine is an
//! f32 tensor in and f32 tensors out, so detection and classification code is shared.

pub mod config;
pub mod kernels;
#[cfg(feature = "ort")]
pub mod onnx_fold;
#[cfg(feature = "ort")]
pub mod ort;
pub mod tract;

pub use config::{BackendKind, InferenceConfig, Kernels, OrtOptions, Provider};

use crate::model::manifest::ModelFiles;
use crate::model::{Folded, ModelError};

/// One loaded network, ready to run.
pub trait Engine: Send {
    /// Run on one f32 input tensor of the manifest's input shape; every output flattened,
    /// in the model's output order.
    fn run(&mut self, input: Vec<f32>) -> Result<Vec<Vec<f32>>, EngineError>;
    /// Output shapes, in order, known once the engine is loaded.
    fn output_shapes(&self) -> &[Vec<usize>];
    /// What runs the model, for logs (`tract`, `ort [tensorrt, cpu]`).
    fn describe(&self) -> String;
}

/// A failed inference call, with the backend's own error as its source.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// tract could not run the plan.
    #[error(transparent)]
    Tract(#[from] tract::TractFailure),
    /// Another backend (ONNX Runtime) failed.
    #[error("{0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The model returned a different number of outputs than its caller reads.
    #[error("the model returned {got} outputs, expected {expected}")]
    Outputs { got: usize, expected: usize },
}

/// Load `files` on the configured backend. With `folded`, the model must be an encoder
/// with one `[1, D]` output and the engine returns `[embedding, descriptor logits, class
/// logits]`; without, the model's own outputs.
pub fn load(files: &ModelFiles, folded: Option<&Folded>, cfg: &InferenceConfig) -> Result<Box<dyn Engine>, ModelError> {
    match cfg.backend {
        BackendKind::Tract => Ok(Box::new(tract::TractEngine::load(files, folded, cfg.kernels)?)),
        BackendKind::Ort => load_ort(files, folded, &cfg.ort),
    }
}

#[cfg(feature = "ort")]
fn load_ort(files: &ModelFiles, folded: Option<&Folded>, opts: &OrtOptions) -> Result<Box<dyn Engine>, ModelError> {
    Ok(Box::new(ort::OrtEngine::load(files, folded, opts)?))
}

#[cfg(not(feature = "ort"))]
fn load_ort(files: &ModelFiles, _folded: Option<&Folded>, _opts: &OrtOptions) -> Result<Box<dyn Engine>, ModelError> {
    Err(ModelError::Backend {
        path: files.onnx_path.clone(),
        backend: "ort",
        reason: "this cliper was built without ONNX Runtime support; rebuild with `cargo build --release --features ort`".into(),
    })
}

#[cfg(all(test, not(feature = "ort")))]
mod tests {
    use super::*;

    #[test]
    fn asking_for_ort_without_the_feature_names_the_rebuild() {
        let files = crate::model::embedded::model("faceapi_expression").expect("embedded");
        let cfg = InferenceConfig { backend: BackendKind::Ort, ..Default::default() };
        let err = load(&files, None, &cfg).err().expect("must fail");
        assert!(err.to_string().contains("--features ort"), "{err}");
    }
}
