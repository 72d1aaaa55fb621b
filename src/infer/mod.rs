//! Inference backends: the [`Engine`] seam that the face detector and the expression
//! encoder run on, and the configuration that picks one.
//!
//! `tract` (pure Rust, CPU) is the default everywhere. `ort` (ONNX Runtime through the `ort`
//! crate, feature `ort`) exists for boards whose fast path is a GPU: TensorRT or CUDA on a
//! Jetson. Both take the same ONNX file and the same folded descriptor set; an engine is an
//! f32 tensor in and f32 tensors out, so detection and classification code is shared.

#[cfg(feature = "ort")]
pub mod onnx_fold;
#[cfg(feature = "ort")]
pub mod ort;
pub mod tract;

use crate::model::manifest::ModelFiles;
use crate::model::{Folded, ModelError};
use serde::Deserialize;
use std::path::PathBuf;

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

/// A failed inference call.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

/// Which backend runs the models (`[inference]` in the config).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InferenceConfig {
    /// `tract` (default) or `ort` (needs a build with `--features ort`).
    #[serde(default)]
    pub backend: BackendKind,
    /// ONNX Runtime settings; read only when `backend = "ort"`.
    #[serde(default)]
    pub ort: OrtOptions,
}

/// The inference backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// tract, pure Rust on the CPU.
    #[default]
    Tract,
    /// ONNX Runtime loaded at run time (TensorRT, CUDA or CPU execution providers).
    Ort,
}

/// An ONNX Runtime execution provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// NVIDIA TensorRT (builds an engine per model on first use; cached).
    Tensorrt,
    /// NVIDIA CUDA.
    Cuda,
    /// ONNX Runtime's own CPU kernels.
    Cpu,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Tensorrt => "tensorrt",
            Provider::Cuda => "cuda",
            Provider::Cpu => "cpu",
        }
    }
}

/// `[inference.ort]`: where ONNX Runtime is and which execution providers to register.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrtOptions {
    /// Path of libonnxruntime.so (ONNX Runtime ≥ 1.17). Unset: `$ORT_DYLIB_PATH`, else
    /// `libonnxruntime.so` from the dynamic loader's search path.
    #[serde(default)]
    pub library: Option<PathBuf>,
    /// Execution providers in order of preference; ONNX Runtime gives each node to the first
    /// one that supports it.
    #[serde(default = "default_providers")]
    pub providers: Vec<Provider>,
    /// A provider that fails to register is an error at start; `true` logs a warning and
    /// goes on with the others (ONNX Runtime's CPU kernels always remain).
    #[serde(default)]
    pub allow_fallback: bool,
    /// TensorRT: allow fp16 kernels.
    #[serde(default = "default_trt_fp16")]
    pub trt_fp16: bool,
    /// TensorRT: engine and timing cache directory, so only the first start builds engines.
    /// Unset: no cache.
    #[serde(default)]
    pub trt_cache_dir: Option<PathBuf>,
    /// Intra-op CPU threads; 0: ONNX Runtime's default.
    #[serde(default)]
    pub intra_threads: usize,
}

fn default_providers() -> Vec<Provider> {
    vec![Provider::Cpu]
}
fn default_trt_fp16() -> bool {
    true
}

impl Default for OrtOptions {
    fn default() -> Self {
        OrtOptions {
            library: None,
            providers: default_providers(),
            allow_fallback: false,
            trt_fp16: default_trt_fp16(),
            trt_cache_dir: None,
            intra_threads: 0,
        }
    }
}

/// Load `files` on the configured backend. With `folded`, the model must be an encoder
/// with one `[1, D]` output and the engine returns `[embedding, descriptor logits, class
/// logits]`; without, the model's own outputs.
pub fn load(files: &ModelFiles, folded: Option<&Folded>, cfg: &InferenceConfig) -> Result<Box<dyn Engine>, ModelError> {
    match cfg.backend {
        BackendKind::Tract => Ok(Box::new(tract::TractEngine::load(files, folded)?)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ort_settings_parse_with_named_defaults() {
        let cfg: InferenceConfig = toml::from_str("backend = \"ort\"\n[ort]\nproviders = [\"tensorrt\", \"cuda\"]\n").expect("parse");
        assert_eq!(cfg.backend, BackendKind::Ort);
        assert_eq!(cfg.ort.providers, vec![Provider::Tensorrt, Provider::Cuda]);
        assert!(!cfg.ort.allow_fallback);
        assert!(cfg.ort.trt_fp16);
        assert_eq!(InferenceConfig::default().backend, BackendKind::Tract);
        assert_eq!(InferenceConfig::default().ort.providers, vec![Provider::Cpu]);
        let err = toml::from_str::<InferenceConfig>("[ort]\nprovider = [\"cuda\"]\n").expect_err("unknown key");
        assert!(err.to_string().contains("provider"), "{err}");
        let err = toml::from_str::<InferenceConfig>("[ort]\nproviders = [\"opencl\"]\n").expect_err("unknown provider");
        assert!(err.to_string().contains("opencl"), "{err}");
    }

    #[cfg(not(feature = "ort"))]
    #[test]
    fn asking_for_ort_without_the_feature_names_the_rebuild() {
        let files = crate::model::embedded::model("faceapi_expression").expect("embedded");
        let cfg = InferenceConfig { backend: BackendKind::Ort, ..Default::default() };
        let err = load(&files, None, &cfg).err().expect("must fail");
        assert!(err.to_string().contains("--features ort"), "{err}");
    }
}
