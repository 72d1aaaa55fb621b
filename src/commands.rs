//! The subcommands behind the `cliper` binary. They write to the writers they are given,
//! so tests drive them exactly as the binary does.

use crate::align::{AlignOptions, DEFAULT_MARGIN, DEFAULT_SIZE};
use crate::classify::{Classifier, FoldedClassifier};
use crate::decode::files::expand_inputs;
use crate::detect::{BlazeFaceDetector, FaceDetector};
use crate::infer::{BackendKind, InferenceConfig, OrtOptions, Provider};
use crate::model::embedded::{self, DEFAULT_DESCRIPTORS, DEFAULT_DETECTOR, DEFAULT_ENCODER};
use crate::model::ModelError;
use crate::pipeline::StillPipeline;
use crate::report;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Facial expression recognition on edge devices.
#[derive(Debug, Parser)]
#[command(name = "cliper", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify the expression of every face in photos (files or directories).
    Classify(ClassifyArgs),
    /// Time every stage on photos and print per-stage figures.
    Bench(crate::bench::BenchArgs),
    /// List the embedded models and descriptor sets.
    Models,
    /// Watch a source continuously: JSON events on stdout when a face's expression starts,
    /// changes or ends, plus periodic statistics.
    Run(ConfigArgs),
    /// Load the config and every model it names, check the source, and exit; nothing runs.
    Validate(ConfigArgs),
    /// List V4L2 capture devices with their formats, sizes and frame rates.
    Devices,
}

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
    #[arg(long, default_value = DEFAULT_DETECTOR)]
    pub detector: String,
    /// Expression encoder: an embedded name or a model manifest (.toml).
    #[arg(long, default_value = DEFAULT_ENCODER)]
    pub encoder: String,
    /// Descriptor set (.json) scored against the encoder's embedding.
    #[arg(long, default_value = DEFAULT_DESCRIPTORS)]
    pub descriptors: String,
    /// Minimum face detection score (default: the detector manifest's).
    #[arg(long)]
    pub min_score: Option<f32>,
    /// Margin added around each detected face, as a fraction of its size.
    #[arg(long, default_value_t = DEFAULT_MARGIN)]
    pub margin: f32,
    /// Do not rotate faces to level the eyes.
    #[arg(long)]
    pub no_rotate: bool,
    #[command(flatten)]
    pub inference: InferenceArgs,
}

/// Which backend runs the models (the config's `[inference]`).
#[derive(Debug, Clone, Args)]
pub struct InferenceArgs {
    /// Inference backend; `ort` needs a build with `--features ort`.
    #[arg(long, value_enum, default_value_t = BackendArg::Tract)]
    pub backend: BackendArg,
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

/// `--backend`: [`BackendKind`] as clap parses it (the library has no clap types).
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

impl InferenceArgs {
    pub fn config(&self) -> InferenceConfig {
        InferenceConfig {
            backend: self.backend.into(),
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

impl ModelArgs {
    pub fn align_options(&self) -> AlignOptions {
        AlignOptions { margin: self.margin, size: DEFAULT_SIZE, rotate: !self.no_rotate }
    }

    pub fn load_detector(&self) -> Result<BlazeFaceDetector, ModelError> {
        self.load_detector_on(&self.inference.config())
    }

    pub fn load_classifier(&self) -> Result<FoldedClassifier, ModelError> {
        self.load_classifier_on(&self.inference.config())
    }

    fn load_detector_on(&self, inference: &InferenceConfig) -> Result<BlazeFaceDetector, ModelError> {
        let mut d = BlazeFaceDetector::load_with(&embedded::resolve_model(&self.detector)?, inference)?;
        if let Some(s) = self.min_score {
            d.set_score_threshold(s);
        }
        Ok(d)
    }

    fn load_classifier_on(&self, inference: &InferenceConfig) -> Result<FoldedClassifier, ModelError> {
        let set = embedded::resolve_descriptors(&self.descriptors)?;
        FoldedClassifier::load_with(&embedded::resolve_model(&self.encoder)?, &set, inference)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub models: ModelArgs,
    /// Treat every image as an already aligned face crop: no detection.
    #[arg(long)]
    pub aligned: bool,
    /// One JSON object per face per line.
    #[arg(long)]
    pub json: bool,
    /// Image files or directories (searched recursively for .jpg, .jpeg, .png).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Why a command stopped before doing its work.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Source(#[from] crate::capture::CaptureError),
    #[error(transparent)]
    Live(#[from] crate::pipeline::live::LiveError),
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Mqtt(#[from] crate::publish::mqtt::MqttError),
    #[error(transparent)]
    Gpio(#[from] crate::publish::gpio::GpioError),
}

impl CommandError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CommandError::Model(_) => crate::exit::MODEL,
            CommandError::Config(_) => crate::exit::CONFIG,
            CommandError::Source(_) => crate::exit::SOURCE,
            CommandError::Live(crate::pipeline::live::LiveError::Capture(_)) => crate::exit::SOURCE,
            CommandError::Live(_) => crate::exit::RUNTIME,
            CommandError::Output(_) => crate::exit::RUNTIME,
            CommandError::Input(_) => crate::exit::INPUT_FAILED,
            CommandError::Mqtt(_) | CommandError::Gpio(_) => crate::exit::RUNTIME,
        }
    }
}

/// What a classify run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassifyOutcome {
    pub images: usize,
    pub faces: usize,
    pub failed: usize,
}

/// `cliper classify`: results to `out`, one error line per failed input to `err`.
pub fn classify(args: &ClassifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<ClassifyOutcome, CommandError> {
    let classifier = args.models.load_classifier()?;
    let detector: Option<Box<dyn FaceDetector>> = if args.aligned { None } else { Some(Box::new(args.models.load_detector()?)) };
    let mut pipeline = StillPipeline::new(detector, Box::new(classifier), args.models.align_options());
    let mut outcome = ClassifyOutcome::default();
    for input in expand_inputs(&args.paths) {
        let path = match input {
            Ok(p) => p,
            Err(e) => {
                outcome.failed += 1;
                fail(args.json, "", &e.to_string(), out, err)?;
                continue;
            }
        };
        let name = path.display().to_string();
        match pipeline.process_file(&path) {
            Ok(faces) => {
                outcome.images += 1;
                outcome.faces += faces.len();
                let folded = pipeline.classifier().folded();
                if faces.is_empty() && !args.json {
                    writeln!(out, "{name}: no face found")?;
                }
                for f in &faces {
                    if args.json {
                        writeln!(out, "{}", report::face_json(&name, f, folded))?;
                    } else {
                        writeln!(out, "{}", report::face_line(&name, f, folded))?;
                    }
                }
            }
            Err(e) => {
                outcome.failed += 1;
                fail(args.json, &name, &e.to_string(), out, err)?;
            }
        }
    }
    Ok(outcome)
}

fn fail(json: bool, image: &str, msg: &str, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), CommandError> {
    writeln!(err, "error: {msg}")?;
    if json {
        writeln!(out, "{}", report::error_json(image, msg))?;
    }
    Ok(())
}

/// `cliper models`: what is compiled in, with provenance.
pub fn models(out: &mut dyn Write) -> Result<(), CommandError> {
    for name in embedded::model_names() {
        let m = embedded::model(name)?;
        let man = &m.manifest;
        writeln!(
            out,
            "{name}: {:?} {}x{} {} licence {} from {} ({})",
            man.role,
            man.input_width,
            man.input_height,
            man.name,
            man.licence,
            man.provenance.package,
            man.provenance.paths.join(", ")
        )?;
    }
    let set = embedded::descriptor_set(DEFAULT_DESCRIPTORS)?;
    writeln!(
        out,
        "{DEFAULT_DESCRIPTORS}: descriptor set {} for {} ({} classes, {} descriptors, {:?})",
        set.name,
        set.encoder,
        set.classes.len(),
        set.descriptor_count(),
        set.scoring
    )?;
    Ok(())
}

/// The models a config names, loaded and checked.
fn config_models(cfg: &crate::config::Config) -> Result<(BlazeFaceDetector, FoldedClassifier), ModelError> {
    let m = &cfg.models;
    let args = ModelArgs {
        detector: m.detector.clone(),
        encoder: m.encoder.clone(),
        descriptors: m.descriptors.clone(),
        min_score: m.min_score,
        margin: cfg.align.margin,
        no_rotate: !cfg.align.rotate,
        inference: InferenceArgs {
            backend: BackendArg::Tract,
            ort_library: None,
            providers: vec![],
            allow_fallback: false,
            ort_threads: 0,
            trt_cache_dir: None,
        },
    };
    let classifier = args.load_classifier_on(&cfg.inference)?;
    if classifier.folded().classes() > crate::smooth::MAX_CLASSES {
        return Err(ModelError::Invalid {
            path: PathBuf::from(&m.descriptors),
            reason: format!("{} classes; live smoothing handles at most {}", classifier.folded().classes(), crate::smooth::MAX_CLASSES),
        });
    }
    Ok((args.load_detector_on(&cfg.inference)?, classifier))
}

/// `cliper validate`: config, models, descriptor set, output files/devices and source
/// checked; nothing runs or connects.
pub fn validate(args: &ConfigArgs, out: &mut dyn Write) -> Result<(), CommandError> {
    let cfg = crate::config::Config::load(&args.config)?;
    let (detector, classifier) = config_models(&cfg)?;
    if let crate::config::SourceConfig::V4l2(s) = &cfg.source {
        if s.device.starts_with('/') && !Path::new(&s.device).exists() {
            return Err(CommandError::Source(crate::capture::CaptureError::Unavailable {
                source_name: s.device.clone(),
                reason: "no such device".into(),
            }));
        }
    }
    for o in &cfg.outputs {
        match o {
            crate::config::OutputConfig::Mqtt(m) => crate::publish::mqtt::check(m)?,
            crate::config::OutputConfig::Gpio(g) => crate::publish::gpio::check(g)?,
            crate::config::OutputConfig::Stdout(_) => {}
        }
    }
    let source = crate::capture::open(&cfg.source, &crate::shutdown::Shutdown::new())?;
    writeln!(
        out,
        "{}: ok (camera {}, source {}, detector {}, classifier {})",
        args.config.display(),
        cfg.camera,
        source.name(),
        detector.name,
        classifier.name
    )?;
    Ok(())
}

/// `cliper run`: events as JSON lines on `out` until the source ends or a signal arrives.
pub fn run<W: Write + Send + 'static>(args: &ConfigArgs, out: W) -> Result<crate::pipeline::live::RunSummary, CommandError> {
    use crate::pipeline::live::{self, LiveConfig};
    use crate::shutdown::Shutdown;
    let cfg = crate::config::Config::load(&args.config)?;
    let (mut detector, mut classifier) = config_models(&cfg)?;
    log::info!(
        "models loaded: detector {} on {}, classifier {} on {}",
        detector.name,
        detector.backend(),
        classifier.name,
        classifier.backend()
    );
    let shutdown = Shutdown::new();
    shutdown.on_signals()?;
    let source = crate::capture::open(&cfg.source, &shutdown)?;
    let live_cfg = LiveConfig {
        camera: cfg.camera.clone(),
        tracker: cfg.tracker(),
        smoother: cfg.smoother(),
        clip_window: cfg.clip.window,
        align: cfg.align_options(),
        frames: cfg.frame_policy(),
        event_queue: cfg.pipeline.event_queue,
        stats_interval: (cfg.pipeline.stats_interval_s > 0.0).then(|| std::time::Duration::from_secs_f64(cfg.pipeline.stats_interval_s)),
        watchdog: crate::notify::watchdog_interval(),
    };
    let publisher = Box::new(outputs(&cfg, out)?);
    crate::notify::ready(&format!("watching {} as camera {}", source.name(), cfg.camera));
    let result = live::run(source, &mut detector, &mut classifier, publisher, &live_cfg, &shutdown);
    crate::notify::stopping();
    Ok(result?)
}

/// Every configured sink behind one fan-out; `out` is the `stdout` sink's writer.
fn outputs<W: Write + Send + 'static>(cfg: &crate::config::Config, out: W) -> Result<crate::publish::fanout::Fanout, CommandError> {
    use crate::config::OutputConfig;
    use crate::publish::Publisher;
    let mut out = Some(out);
    let mut sinks: Vec<(String, Box<dyn Publisher>)> = Vec::new();
    for o in &cfg.outputs {
        let sink: Box<dyn Publisher> = match o {
            // Config validation allows one stdout output, so `out` is still there.
            OutputConfig::Stdout(_) => match out.take() {
                Some(w) => Box::new(crate::publish::stdout::JsonLines::new(w)),
                None => continue,
            },
            OutputConfig::Mqtt(m) => Box::new(crate::publish::mqtt::MqttPublisher::start(m)?),
            OutputConfig::Gpio(g) if g.backend == crate::config::GpioBackend::Rppal => Box::new(crate::publish::gpio::open_rppal(g)?),
            OutputConfig::Gpio(g) => Box::new(crate::publish::gpio::open_chip(g)?),
        };
        sinks.push((o.name().to_owned(), sink));
    }
    Ok(crate::publish::fanout::Fanout::new(sinks, cfg.pipeline.output_queue)?)
}

/// `cliper devices`.
pub fn devices(out: &mut dyn Write) -> Result<(), CommandError> {
    #[cfg(feature = "v4l2")]
    {
        let n = crate::capture::v4l2::list_devices(out)?;
        if n == 0 {
            writeln!(out, "no V4L2 capture devices")?;
        }
    }
    #[cfg(not(feature = "v4l2"))]
    writeln!(out, "this cliper was built without V4L2 support (feature v4l2)")?;
    Ok(())
}
