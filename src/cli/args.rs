//! Arguments shared by several subcommands, and their conversion into the library's config
//! types (the library has no clap types).

use clap::Args;
use cliper::align::{AlignOptions, DEFAULT_MARGIN, DEFAULT_SIZE};
use cliper::detect::tiles::DEFAULT_MIN_FACE;
use cliper::infer::{BackendKind, InferenceConfig, Kernels, OrtOptions, Provider};
use cliper::model::config::ModelsConfig;
use cliper::model::embedded::{DEFAULT_DESCRIPTORS, DEFAULT_DETECTOR, DEFAULT_ENCODER};
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The TOML configuration (see config/cliper.example.toml).
    #[arg(long, short)]
    pub config: PathBuf,
}

/// Which models to use; each is an embedded name or a path to a manifest / descriptor set.
#[derive(Debug, Clone, Args)]
pub struct ModelArgs {
    /// Face detector: an embedded name (blazeface_full_range, blazeface_short_range) or a
    /// model manifest (.toml).
    #[arg(long, default_value = DEFAULT_DETECTOR, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub detector: String,
    /// Expression encoder: an embedded name or a model manifest (.toml).
    #[arg(long, default_value = DEFAULT_ENCODER, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub encoder: String,
    /// Descriptor set (.json) scored against the encoder's embedding.
    #[arg(long, default_value = DEFAULT_DESCRIPTORS, value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub descriptors: String,
    /// Minimum face detection score, 0..=1 (default: the detector manifest's).
    #[arg(long, value_parser = fraction(1.0))]
    pub min_score: Option<f32>,
    /// Smallest face to look for, px wide in the image: the detector also runs over
    /// overlapping windows at the scales this needs (0: the whole image only).
    #[arg(long, value_name = "PX", default_value_t = DEFAULT_MIN_FACE)]
    pub min_face: u32,
    /// Margin added around each detected face, as a fraction of its size (0..=1).
    #[arg(long, default_value_t = DEFAULT_MARGIN, value_parser = fraction(cliper::align::MAX_MARGIN))]
    pub margin: f32,
    /// Do not rotate faces to level the eyes.
    #[arg(long)]
    pub no_rotate: bool,
    #[command(flatten)]
    pub inference: InferenceArgs,
}

/// A number within `0..=max` (NaN refused), for flags that are fractions.
fn fraction(max: f32) -> impl Fn(&str) -> Result<f32, String> + Clone + Send + Sync + 'static {
    move |s| match s.parse::<f32>() {
        Ok(v) if (0.0..=max).contains(&v) => Ok(v),
        Ok(v) => Err(format!("must be within 0..={max}, got {v}")),
        Err(e) => Err(e.to_string()),
    }
}

impl ModelArgs {
    /// The models, as a config's `[models]` would name them.
    pub fn selection(&self) -> ModelsConfig {
        ModelsConfig {
            detector: self.detector.clone(),
            encoder: self.encoder.clone(),
            descriptors: self.descriptors.clone(),
            min_score: self.min_score,
        }
    }

    pub fn align_options(&self) -> AlignOptions {
        AlignOptions { margin: self.margin, size: DEFAULT_SIZE, rotate: !self.no_rotate }
    }
}

/// Which backend runs the models (the config's `[inference]`).
#[derive(Debug, Clone, Args)]
pub struct InferenceArgs {
    /// Inference backend; `ort` needs a build with `--features ort`.
    #[arg(long, value_enum, default_value_t = BackendArg::Tract)]
    pub backend: BackendArg,
    /// tract backend: `cliper` runs cliper's own kernels where a node matches one, `tract`
    /// leaves every node to tract (for comparison).
    #[arg(long, value_enum, default_value_t = KernelsArg::Cliper)]
    pub kernels: KernelsArg,
    /// libonnxruntime.so for `--backend ort` (default: $ORT_DYLIB_PATH, else the loader's path).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
    /// ONNX Runtime execution providers in order of preference.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "cpu")]
    pub providers: Vec<ProviderArg>,
    /// Go on without a provider that fails to register instead of stopping.
    #[arg(long)]
    pub allow_fallback: bool,
    /// ONNX Runtime intra-op CPU threads (0: its default, one per core).
    #[arg(long, default_value_t = 0)]
    pub ort_threads: usize,
    /// TensorRT engine cache directory, so only the first run builds engines.
    #[arg(long)]
    pub trt_cache_dir: Option<PathBuf>,
}

impl InferenceArgs {
    pub fn config(&self) -> InferenceConfig {
        InferenceConfig {
            backend: self.backend.into(),
            kernels: self.kernels.into(),
            ort: OrtOptions {
                library: self.ort_library.clone(),
                providers: self.providers.iter().map(|&p| p.into()).collect(),
                allow_fallback: self.allow_fallback,
                intra_threads: self.ort_threads,
                trt_cache_dir: self.trt_cache_dir.clone(),
                ..OrtOptions::default()
            },
        }
    }
}

/// `--backend`: [`BackendKind`] as clap parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// tract, pure Rust on the CPU.
    Tract,
    /// ONNX Runtime loaded at run time (TensorRT, CUDA or CPU execution providers).
    Ort,
}

impl From<BackendArg> for BackendKind {
    fn from(b: BackendArg) -> BackendKind {
        match b {
            BackendArg::Tract => BackendKind::Tract,
            BackendArg::Ort => BackendKind::Ort,
        }
    }
}

/// `--kernels`: [`Kernels`] as clap parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum KernelsArg {
    /// cliper's kernels where a node matches, tract elsewhere.
    Cliper,
    /// tract's own kernels everywhere.
    Tract,
}

impl From<KernelsArg> for Kernels {
    fn from(k: KernelsArg) -> Kernels {
        match k {
            KernelsArg::Cliper => Kernels::Cliper,
            KernelsArg::Tract => Kernels::Tract,
        }
    }
}

/// `--providers`: [`Provider`] as clap parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderArg {
    /// NVIDIA TensorRT (builds an engine per model on first use; cached).
    Tensorrt,
    /// NVIDIA CUDA.
    Cuda,
    /// ONNX Runtime's own CPU kernels.
    Cpu,
}

impl From<ProviderArg> for Provider {
    fn from(p: ProviderArg) -> Provider {
        match p {
            ProviderArg::Tensorrt => Provider::Tensorrt,
            ProviderArg::Cuda => Provider::Cuda,
            ProviderArg::Cpu => Provider::Cpu,
        }
    }
}
