//! `cliper bench`: per-stage wall times of the still-image path on real photos, so speed
//! claims come from a run anyone can repeat (see bench/ for the onnxruntime comparison).

use super::args::ModelArgs;
use super::exit::Error;
use clap::Args;
use cliper::align::align;
use cliper::decode::decode_file;
use cliper::decode::files::expand_inputs;
use cliper::detect::FaceDetector;
use cliper::infer;
use cliper::model::embedded;
use cliper::pipeline::models;
use cliper::preprocess::prepare;
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub models: ModelArgs,
    /// Passes over the photos; the first pass is a warm-up and is not counted.
    #[arg(long, default_value_t = 5)]
    pub iterations: usize,
    /// Instead of the stage table: detector time per 1920×1080 frame for the whole frame
    /// only, every tile window, and the live path's schedule, side by side (the first photo,
    /// scaled to far faces), and the frames a far face that appears waits to be found.
    #[arg(long)]
    pub detection: bool,
    /// With `--detection`: frames a full tile sweep is spread over (`detection.sweep_frames`).
    #[arg(long, default_value_t = cliper::detect::config::DEFAULT_SWEEP_FRAMES)]
    pub sweep_frames: usize,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Photos (files or directories).
    #[arg(default_value = "samples")]
    pub paths: Vec<PathBuf>,
}

/// Mean milliseconds per call of one stage.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stage {
    pub calls: usize,
    pub mean_ms: f64,
}

impl Stage {
    fn from(total: Duration, calls: usize) -> Stage {
        Stage { calls, mean_ms: if calls == 0 { 0.0 } else { total.as_secs_f64() * 1e3 / calls as f64 } }
    }
}

/// Figures of one `cliper bench` run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BenchReport {
    pub images: usize,
    pub faces_per_pass: usize,
    pub passes: usize,
    pub detector: String,
    /// Smallest face looked for (`--min-face`, px).
    pub min_face: u32,
    /// Detector runs per image: the whole image plus the tile windows `min_face` needs.
    pub detector_calls_per_image: f64,
    pub encoder: String,
    /// What ran the models (`tract`, `ort [cpu]`).
    pub backend: String,
    /// JPEG/PNG decode, per image.
    pub decode: Stage,
    /// Whole image and tile windows: crop + letterbox + normalise + detector inference +
    /// decode + NMS per window, and the cross-window merge, per image.
    pub detect: Stage,
    /// Detector inference alone on a prepared tensor, per image.
    pub detect_model: Stage,
    /// Rotation and crop, per face.
    pub align: Stage,
    /// Encoder resize + normalise, per face.
    pub prepare: Stage,
    /// Encoder alone (the exported graph), per face.
    pub encode: Stage,
    /// Encoder with the folded descriptor scoring, per face: what `classify` runs.
    pub encode_and_score: Stage,
}

/// `--detection`: the three detection budgets on the first photo.
pub fn run_detection(args: &BenchArgs, out: &mut dyn Write) -> Result<super::bench_detection::DetectionBench, Error> {
    let paths: Vec<PathBuf> = expand_inputs(&args.paths).into_iter().collect::<Result<_, _>>().map_err(Error::input)?;
    let Some(path) = paths.first() else {
        return Err(Error::input("bench: no images found"));
    };
    let photo = decode_file(path).map_err(Error::input)?;
    let (selection, inference) = (args.models.selection(), args.models.inference.config());
    let mut detector = models::load_tiled_detector(&selection, &inference, args.models.min_face)?;
    let rounds = args.iterations.max(1);
    super::bench_detection::run(&mut detector, &photo, &path.display().to_string(), rounds, args.sweep_frames.max(1), args.json, out)
}

/// Unreadable photos are input failures; a model that fails to run is a runtime failure.
pub fn run(args: &BenchArgs, out: &mut dyn Write) -> Result<BenchReport, Error> {
    let paths: Vec<PathBuf> = expand_inputs(&args.paths).into_iter().collect::<Result<_, _>>().map_err(Error::input)?;
    if paths.is_empty() {
        return Err(Error::input("bench: no images found"));
    }
    let (selection, inference) = (args.models.selection(), args.models.inference.config());
    let mut detector = models::load_tiled_detector(&selection, &inference, args.models.min_face)?;
    let mut classifier = models::load_classifier(&selection, &inference)?;
    let encoder_files = embedded::resolve_model(&args.models.encoder)?;
    let mut raw = infer::load(&encoder_files, None, &inference)?;
    let detector_files = embedded::resolve_model(&args.models.detector)?;
    let mut raw_detector = infer::load(&detector_files, None, &inference)?;
    let detector_spec = detector_files.manifest.input_spec();
    let spec = classifier.input_spec().clone();
    let align_opts = args.models.align_options();

    let mut t = [Duration::ZERO; 7];
    let mut n = [0usize; 7];
    let passes = args.iterations.max(2);
    let mut faces_per_pass = 0;
    let mut calls = 0u64;
    for pass in 0..passes {
        let counted = pass > 0;
        let mut add = |i: usize, d: Duration| {
            if counted {
                t[i] += d;
                n[i] += 1;
            }
        };
        faces_per_pass = 0;
        for path in &paths {
            let s = Instant::now();
            let frame = decode_file(path).map_err(Error::input)?;
            add(0, s.elapsed());
            let s = Instant::now();
            let before = detector.calls;
            let dets = detector.detect(&frame).map_err(|e| Error::inference(path.display().to_string(), e))?;
            add(1, s.elapsed());
            if counted {
                calls += detector.calls - before;
            }
            let prepared = prepare(&frame, &detector_spec);
            let s = Instant::now();
            raw_detector.run(prepared.data).map_err(|e| Error::inference("detector", e))?;
            add(6, s.elapsed());
            for det in &dets {
                faces_per_pass += 1;
                let s = Instant::now();
                let (crop, _) = align(&frame, &det.bbox, det.eyes(), &align_opts);
                add(2, s.elapsed());
                let s = Instant::now();
                let prepared = prepare(&crop, &spec);
                add(3, s.elapsed());
                let s = Instant::now();
                raw.run(prepared.data.clone()).map_err(|e| Error::inference("encoder", e))?;
                add(4, s.elapsed());
                let s = Instant::now();
                classifier.classify_prepared(prepared.data).map_err(|e| Error::inference("encoder with scoring", e))?;
                add(5, s.elapsed());
            }
        }
    }
    let report = BenchReport {
        images: paths.len(),
        faces_per_pass,
        passes: passes - 1,
        detector: detector.inner_mut().name.clone(),
        min_face: args.models.min_face,
        detector_calls_per_image: if n[1] == 0 { 0.0 } else { calls as f64 / n[1] as f64 },
        encoder: classifier.name.clone(),
        backend: classifier.backend(),
        decode: Stage::from(t[0], n[0]),
        detect: Stage::from(t[1], n[1]),
        detect_model: Stage::from(t[6], n[6]),
        align: Stage::from(t[2], n[2]),
        prepare: Stage::from(t[3], n[3]),
        encode: Stage::from(t[4], n[4]),
        encode_and_score: Stage::from(t[5], n[5]),
    };
    if args.json {
        writeln!(out, "{}", serde_json::to_string(&report).map_err(std::io::Error::other)?)?;
    } else {
        writeln!(
            out,
            "{} images, {} faces a pass, {} timed passes ({}, {}; {}), min face {} px: {:.1} detector runs per image",
            report.images,
            report.faces_per_pass,
            report.passes,
            report.detector,
            report.encoder,
            report.backend,
            report.min_face,
            report.detector_calls_per_image
        )?;
        for (name, s) in [
            ("decode (per image)", report.decode),
            ("detect (per image)", report.detect),
            ("detector model only (per image)", report.detect_model),
            ("align (per face)", report.align),
            ("prepare (per face)", report.prepare),
            ("encode (per face)", report.encode),
            ("encode+score, folded (per face)", report.encode_and_score),
        ] {
            writeln!(out, "{name:<34} {:>9.3} ms  ({} calls)", s.mean_ms, s.calls)?;
        }
    }
    Ok(report)
}
