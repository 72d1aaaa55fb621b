//! `cliper bench --detection`: the detector's cost per 1920×1080 frame under the three
//! detection budgets, side by side in one run (alternating rounds), and how many frames a
//! far face that appears waits until the scheduled path finds it.

use super::exit::Error;
use cliper::detect::schedule::SweepScheduler;
use cliper::detect::tiles::{TiledDetector, Window};
use cliper::detect::{BlazeFaceDetector, DetectError, Detection};
use cliper::frame::{BBox, Frame};
use image::{imageops, Rgb, RgbImage};
use serde::Serialize;
use std::io::Write;
use std::time::{Duration, Instant};

const FRAME_W: u32 = 1920;
const FRAME_H: u32 = 1080;
/// The photo is scaled by this before it is placed in the frame: the bundled photos' faces
/// (160–270 px wide in 1920 px) become 30–55 px, a person 4–6 m from a 1080p camera.
const FAR_SCALE: f32 = 0.2;
/// Camera rate the time to first detection is expressed at.
const FPS: f64 = 15.0;

/// One budget's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Budget {
    pub frames: usize,
    pub mean_ms: f64,
    pub detector_calls_per_frame: f64,
    /// Faces found on the last frame.
    pub faces: usize,
}

/// What `bench --detection` measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DetectionBench {
    pub photo: String,
    pub rounds: usize,
    pub sweep_frames: usize,
    pub full_frame_only: Budget,
    pub full_sweep: Budget,
    pub scheduled: Budget,
    /// Frames from a far face's first frame to the frame that finds it (1: that frame), over
    /// every phase of the sweep: the worst and the mean; and both in ms at 15 fps.
    pub first_detection_frames_max: usize,
    pub first_detection_frames_mean: f64,
    pub first_detection_ms_max_at_15fps: f64,
    /// Whether the whole frame alone ever finds it.
    pub full_frame_only_finds_it: bool,
}

/// A grey 1080p frame with `photo` scaled to far-face size in its lower right.
fn far_frame(photo: &Frame) -> Frame {
    let (w, h) = ((photo.width() as f32 * FAR_SCALE) as u32, (photo.height() as f32 * FAR_SCALE) as u32);
    let small = imageops::resize(photo, w.max(1), h.max(1), imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(FRAME_W, FRAME_H, Rgb([128, 128, 128]));
    imageops::replace(&mut frame, &small, (FRAME_W - w.min(FRAME_W)) as i64 - 100, (FRAME_H - h.min(FRAME_H)) as i64 - 100);
    frame
}

fn found(dets: &[Detection], truth: &[BBox]) -> bool {
    !truth.is_empty() && truth.iter().all(|t| dets.iter().any(|d| d.bbox.iou(t) >= 0.4))
}

/// `rounds` timed rounds (after one warm-up), each running one sweep's worth of frames of
/// every budget, in a rotating order.
pub fn run(
    detector: &mut TiledDetector<BlazeFaceDetector>,
    photo: &Frame,
    name: &str,
    rounds: usize,
    sweep_frames: usize,
    json: bool,
    out: &mut dyn Write,
) -> Result<DetectionBench, Error> {
    let frame = far_frame(photo);
    let empty = RgbImage::from_pixel(FRAME_W, FRAME_H, Rgb([128, 128, 128]));
    let plan = detector.plan(FRAME_W, FRAME_H).to_vec();
    let full = [Window::full(FRAME_W, FRAME_H)];
    let infer = |e: DetectError| Error::inference("detector", e);
    let truth: Vec<BBox> = detector.detect_windows(&frame, &plan).map_err(infer)?.iter().map(|d| d.bbox).collect();

    let mut time = [Duration::ZERO; 3];
    let mut calls = [0u64; 3];
    let mut frames = [0usize; 3];
    let mut faces = [0usize; 3];
    let mut sched = SweepScheduler::new(&plan, FRAME_W, FRAME_H, sweep_frames);
    let mut tracked: Vec<BBox> = Vec::new();
    let mut ts = Duration::ZERO;
    for round in 0..=rounds {
        for k in 0..3 {
            let budget = (round + k) % 3;
            for _ in 0..sweep_frames.max(1) {
                ts += Duration::from_secs_f64(1.0 / FPS);
                let windows = match budget {
                    0 => full.to_vec(),
                    1 => plan.clone(),
                    _ => sched.windows(ts, FRAME_W, FRAME_H, &tracked),
                };
                let (c0, t0) = (detector.calls, Instant::now());
                let dets = detector.detect_windows(&frame, &windows).map_err(infer)?;
                if round > 0 {
                    time[budget] += t0.elapsed();
                    calls[budget] += detector.calls - c0;
                    frames[budget] += 1;
                }
                faces[budget] = dets.len();
                if budget == 2 {
                    tracked = dets.iter().map(|d| d.bbox).collect();
                }
            }
        }
    }
    let budget = |i: usize| Budget {
        frames: frames[i],
        mean_ms: if frames[i] == 0 { 0.0 } else { time[i].as_secs_f64() * 1e3 / frames[i] as f64 },
        detector_calls_per_frame: if frames[i] == 0 { 0.0 } else { calls[i] as f64 / frames[i] as f64 },
        faces: faces[i],
    };

    // A far face appearing at every phase of the sweep: empty frames first, then the face.
    let mut waits = Vec::new();
    for phase in 0..sweep_frames.max(1) {
        let mut s = SweepScheduler::new(&plan, FRAME_W, FRAME_H, sweep_frames);
        let mut t = Duration::ZERO;
        for _ in 0..phase {
            t += Duration::from_secs_f64(1.0 / FPS);
            let w = s.windows(t, FRAME_W, FRAME_H, &[]);
            detector.detect_windows(&empty, &w).map_err(infer)?;
        }
        let mut wait = 0;
        let mut tracked = Vec::new();
        while wait < 2 * sweep_frames.max(1) {
            wait += 1;
            t += Duration::from_secs_f64(1.0 / FPS);
            let w = s.windows(t, FRAME_W, FRAME_H, &tracked);
            let dets = detector.detect_windows(&frame, &w).map_err(infer)?;
            if found(&dets, &truth) {
                break;
            }
            tracked = dets.iter().map(|d| d.bbox).collect();
        }
        waits.push(wait);
    }
    let whole = detector.detect_windows(&frame, &full).map_err(infer)?;
    let max = waits.iter().copied().max().unwrap_or(0);
    let report = DetectionBench {
        photo: name.to_owned(),
        rounds,
        sweep_frames,
        full_frame_only: budget(0),
        full_sweep: budget(1),
        scheduled: budget(2),
        first_detection_frames_max: max,
        first_detection_frames_mean: waits.iter().sum::<usize>() as f64 / waits.len().max(1) as f64,
        first_detection_ms_max_at_15fps: max as f64 * 1e3 / FPS,
        full_frame_only_finds_it: found(&whole, &truth),
    };
    if json {
        writeln!(out, "{}", serde_json::to_string(&report).map_err(std::io::Error::other)?)?;
    } else {
        writeln!(
            out,
            "{name} at {FAR_SCALE}x in a {FRAME_W}x{FRAME_H} frame ({} faces by the full sweep), {rounds} rounds, sweep over {sweep_frames} frames:",
            truth.len()
        )?;
        for (label, b) in
            [("full frame only", &report.full_frame_only), ("full sweep", &report.full_sweep), ("scheduled", &report.scheduled)]
        {
            writeln!(
                out,
                "{label:<16} {:>9.2} ms/frame  {:>5.1} detector runs/frame  {} faces",
                b.mean_ms, b.detector_calls_per_frame, b.faces
            )?;
        }
        writeln!(
            out,
            "far face appearing: found after {} frames at worst, {:.1} on average ({:.0} ms at 15 fps); whole frame alone finds it: {}",
            report.first_detection_frames_max,
            report.first_detection_frames_mean,
            report.first_detection_ms_max_at_15fps,
            report.full_frame_only_finds_it
        )?;
    }
    Ok(report)
}
