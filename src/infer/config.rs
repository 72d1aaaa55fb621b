//! `[inference]`: which backend runs the models, and ONNX Runtime's settings.

use serde::Deserialize;
use std::path::PathBuf;

/// Which backend runs the models (`[inference]` in the config).
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InferenceConfig {
    /// `tract` (default) or `ort` (needs a build with `--features ort`).
    #[serde(default)]
    pub backend: BackendKind,
    /// tract backend: `cliper` (default) runs cliper's own kernels where a node matches one
    /// exactly (depthwise 3×3 convolutions), `tract` leaves the whole graph to tract.
    #[serde(default)]
    pub kernels: Kernels,
    /// ONNX Runtime settings; read only when `backend = "ort"`.
    #[serde(default)]
    pub ort: OrtOptions,
}

/// The inference backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// tract, pure Rust on the CPU.
    #[default]
    Tract,
    /// ONNX Runtime loaded at run time (TensorRT, CUDA or CPU execution providers).
    Ort,
}

/// Who runs the nodes cliper has its own kernels for (`[inference] kernels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kernels {
    /// cliper's kernels (src/infer/kernels/) where the pattern matches, tract elsewhere.
    #[default]
    Cliper,
    /// tract's own kernels everywhere, for comparison.
    Tract,
}

/// An ONNX Runtime execution provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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
        assert_eq!(InferenceConfig::default().kernels, Kernels::Cliper);
        let cfg: InferenceConfig = toml::from_str("kernels = \"tract\"\n").expect("parse");
        assert_eq!(cfg.kernels, Kernels::Tract);
        let err = toml::from_str::<InferenceConfig>("kernels = \"fast\"\n").expect_err("unknown kernels");
        assert!(err.to_string().contains("fast"), "{err}");
        assert_eq!(InferenceConfig::default().ort.providers, vec![Provider::Cpu]);
        let err = toml::from_str::<InferenceConfig>("[ort]\nprovider = [\"cuda\"]\n").expect_err("unknown key");
        assert!(err.to_string().contains("provider"), "{err}");
        let err = toml::from_str::<InferenceConfig>("[ort]\nproviders = [\"opencl\"]\n").expect_err("unknown provider");
        assert!(err.to_string().contains("opencl"), "{err}");
    }
}
