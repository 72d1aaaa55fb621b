//! Shared fakes and builders for tests: the unit tests of every module, and the integration
//! tests through the `testutil` feature (the crate is its own dev-dependency with it on).
//! Nothing here is built into the library otherwise.

use crate::capture::{CaptureError, CapturedFrame, FrameSource};
use crate::classify::{Classification, Classifier, ClassifyError};
use crate::detect::{DetectError, Detection, FaceDetector};
use crate::frame::{BBox, Frame, Point};
use crate::infer::EngineError;
use crate::model::Folded;
use crate::preprocess::CropRef;
use crate::publish::indexmap_like::OrderedProbs;
use crate::publish::{Event, EventKind, ExpressionEvent, FiredDescriptor, NamedSink, PublishError, Publisher, Scored};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// A file of `tests/fixtures/capture/` (frames ffmpeg made from a real face photo).
pub fn capture_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/capture").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Largest and mean absolute per-channel difference of two images' bytes.
pub fn pixel_diff(a: &[u8], b: &[u8]) -> (u8, f64) {
    assert_eq!(a.len(), b.len());
    let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
    let sum: u64 = a.iter().zip(b).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    (max, sum as f64 / a.len() as f64)
}

/// A two-class descriptor set for encoder `toy` (dim 2; class `a` has two descriptors, `b`
/// one) with the given `scoring` JSON.
pub fn toy_descriptor_set(scoring: &str) -> String {
    format!(
        r#"{{"name": "toy-set", "encoder": "toy", "dim": 2, "scoring": {scoring}, "aggregate": "mean",
        "classes": [
          {{"label": "a", "descriptors": [{{"name": "a1", "embedding": [1.0, 0.0]}}, {{"name": "a2", "embedding": [0.0, 2.0], "bias": 0.5}}]}},
          {{"label": "b", "descriptors": [{{"name": "b1", "text": "a photo of b", "embedding": [-1.0, 1.0]}}]}}
        ]}}"#
    )
}

// ---------------------------------------------------------------------------------------
// Synchronisation: gates instead of sleeps.

/// How long a test waits for something that must happen before calling it a hang. Generous
/// on purpose: it guards against hangs, it is never what a test measures.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A one-way gate between threads: closed until [`Gate::open`], then open for good.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    pub fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap_or_else(|p| p.into_inner()) = true;
        changed.notify_all();
    }

    pub fn is_open(&self) -> bool {
        *self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Block until the gate opens; panics after [`DEADLINE`] (the test would hang otherwise).
    pub fn wait(&self) {
        let (open, changed) = &*self.0;
        let guard = open.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, timeout) = changed.wait_timeout_while(guard, DEADLINE, |open| !*open).unwrap_or_else(|p| p.into_inner());
        assert!(*guard && !timeout.timed_out(), "a gate stayed closed for {DEADLINE:?}");
    }
}

/// Poll `cond` until it holds; panics naming `what` after [`DEADLINE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + DEADLINE;
    while !cond() {
        assert!(Instant::now() < until, "{what}: not within {DEADLINE:?}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------------------------------
// Frame sources.

/// What a [`ScriptedSource`] does on one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A 64×64 frame whose red channel is this value (the fakes below read it).
    Frame(u8),
    /// A corrupt frame (`BadFrame`).
    Bad,
    /// The source went away (`Unavailable`).
    Gone,
    /// The end of the source.
    End,
}

/// A frame source playing a script. Call `n` (from 0) has timestamp `n × 66 ms` and
/// sequence `n + 1`; past the script it ends, or repeats its `endless` frame forever.
/// Several sources may share one script (a reconnecting source reopening "the same camera").
pub struct ScriptedSource {
    script: Arc<Mutex<VecDeque<Step>>>,
    endless: Option<u8>,
    calls: u64,
    delivered: Arc<AtomicU64>,
    open_after: Option<(u64, Gate)>,
    open_at_end: Option<Gate>,
}

impl ScriptedSource {
    pub fn new(steps: impl IntoIterator<Item = Step>) -> ScriptedSource {
        ScriptedSource::shared(Arc::new(Mutex::new(steps.into_iter().collect())))
    }

    /// Frames of these red values, in order, then the end.
    pub fn frames(values: impl IntoIterator<Item = u8>) -> ScriptedSource {
        ScriptedSource::new(values.into_iter().map(Step::Frame))
    }

    /// Frames of red value `v`, forever.
    pub fn endless(v: u8) -> ScriptedSource {
        ScriptedSource { endless: Some(v), ..ScriptedSource::new([]) }
    }

    /// A source reading a script shared with other sources.
    pub fn shared(script: Arc<Mutex<VecDeque<Step>>>) -> ScriptedSource {
        ScriptedSource { script, endless: None, calls: 0, delivered: Arc::default(), open_after: None, open_at_end: None }
    }

    /// Opens `gate` once `n` frames have been delivered.
    pub fn open_after(mut self, n: u64, gate: &Gate) -> ScriptedSource {
        self.open_after = Some((n, gate.clone()));
        self
    }

    /// Opens `gate` when the script has run out (every frame has been delivered).
    pub fn open_at_end(mut self, gate: &Gate) -> ScriptedSource {
        self.open_at_end = Some(gate.clone());
        self
    }

    /// Frames delivered so far, readable from other threads.
    pub fn delivered(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.delivered)
    }
}

impl FrameSource for ScriptedSource {
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError> {
        let n = self.calls;
        self.calls += 1;
        let step = self.script.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        let step = step.or(self.endless.map(Step::Frame)).unwrap_or(Step::End);
        match step {
            Step::Frame(v) => {
                let delivered = self.delivered.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some((after, gate)) = &self.open_after {
                    if delivered >= *after {
                        gate.open();
                    }
                }
                Ok(Some(CapturedFrame {
                    image: image::RgbImage::from_pixel(64, 64, image::Rgb([v, 0, 0])),
                    timestamp: Duration::from_millis(n * 66),
                    sequence: n + 1,
                }))
            }
            Step::Bad => Err(CaptureError::BadFrame { source_name: "script".into(), reason: "corrupt".into() }),
            Step::Gone => Err(CaptureError::Unavailable { source_name: "script".into(), reason: "unplugged".into() }),
            Step::End => {
                if let Some(g) = &self.open_at_end {
                    g.open();
                }
                Ok(None)
            }
        }
    }

    fn name(&self) -> &str {
        "script"
    }
}

// ---------------------------------------------------------------------------------------
// Detectors and classifiers.

/// Reports the same detections for every frame.
pub struct FixedDetector(pub Vec<Detection>);

impl FaceDetector for FixedDetector {
    fn detect(&mut self, _: &Frame) -> Result<Vec<Detection>, DetectError> {
        Ok(self.0.clone())
    }
}

/// One face in the middle of a 64×64 frame, unless the frame is black.
pub struct CentreFace;

impl FaceDetector for CentreFace {
    fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectError> {
        if frame.get_pixel(0, 0)[0] == 0 {
            return Ok(vec![]);
        }
        Ok(vec![Detection {
            bbox: BBox { x: 16.0, y: 16.0, w: 32.0, h: 32.0 },
            score: 0.9,
            keypoints: vec![Point { x: 24.0, y: 24.0 }, Point { x: 40.0, y: 24.0 }],
        }])
    }
}

/// Like BlazeFace on a synthetic frame: one face per bright (red ≥ 128) 4-connected blob,
/// boxed as far as the image shows it (a blob cut by the image edge gives the visible part),
/// and missed when its larger side is under `min_fraction` of the image's longer side.
#[derive(Debug, Clone, Copy)]
pub struct BrightSquares {
    pub min_fraction: f32,
}

impl FaceDetector for BrightSquares {
    fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectError> {
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        let bright = |x: usize, y: usize| frame.get_pixel(x as u32, y as u32)[0] >= 128;
        let mut seen = vec![false; w * h];
        let mut out = Vec::new();
        let min = self.min_fraction * w.max(h) as f32;
        for start in 0..w * h {
            if seen[start] || !bright(start % w, start / w) {
                continue;
            }
            seen[start] = true;
            let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
                let next = [(x > 0).then(|| i - 1), (x + 1 < w).then(|| i + 1), (y > 0).then(|| i - w), (y + 1 < h).then(|| i + w)];
                for j in next.into_iter().flatten() {
                    if !seen[j] && bright(j % w, j / w) {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
            let (bw, bh) = ((x1 - x0) as f32, (y1 - y0) as f32);
            if bw.max(bh) >= min {
                let bbox = BBox { x: x0 as f32, y: y0 as f32, w: bw, h: bh };
                let c = bbox.center();
                out.push(Detection {
                    bbox,
                    score: 0.9,
                    keypoints: vec![Point { x: c.x - bw / 4.0, y: c.y }, Point { x: c.x + bw / 4.0, y: c.y }],
                });
            }
        }
        Ok(out)
    }
}

/// A `w`×`w` face at `x` (eyes at a third and two thirds), scoring 0.9.
pub fn detection(x: f32, w: f32) -> Detection {
    Detection {
        bbox: BBox { x, y: 0.0, w, h: w },
        score: 0.9,
        keypoints: vec![Point { x: x + 0.3 * w, y: 0.3 * w }, Point { x: x + 0.7 * w, y: 0.3 * w }],
    }
}

/// Class 0 (`bright`) for a crop whose centre is bright, class 1 (`dim`) otherwise, with
/// an embedding pointing at the class. With a gate, the first crop waits for it: the test
/// decides when inference may go on.
pub struct BrightnessClassifier {
    pub folded: Folded,
    pub gate: Option<Gate>,
}

impl BrightnessClassifier {
    pub fn new() -> BrightnessClassifier {
        BrightnessClassifier { folded: folded(&["bright", "dim"]), gate: None }
    }

    /// The first classification blocks until `gate` opens.
    pub fn gated(gate: &Gate) -> BrightnessClassifier {
        BrightnessClassifier { gate: Some(gate.clone()), ..BrightnessClassifier::new() }
    }
}

impl Default for BrightnessClassifier {
    fn default() -> Self {
        BrightnessClassifier::new()
    }
}

impl Classifier for BrightnessClassifier {
    fn classify(&mut self, crop: CropRef<'_>) -> Result<Classification, ClassifyError> {
        if let Some(g) = self.gate.take() {
            g.wait();
        }
        let (w, h) = crop.dims();
        let bright = crop.value(w / 2, h / 2, 0) > 128.0;
        let (embedding, logits) = if bright { (vec![1.0, 0.0], vec![5.0, 0.0]) } else { (vec![0.0, 1.0], vec![0.0, 5.0]) };
        Ok(Classification::from_logits(embedding, logits.clone(), logits))
    }
    fn folded(&self) -> &Folded {
        &self.folded
    }
}

/// Scores a crop by its mean red value (`red`, `dark`), so a test can tell which crop it was
/// given; records each crop's size; with `fail`, every call fails with "boom".
pub struct RednessClassifier {
    pub folded: Folded,
    pub sizes: Vec<(u32, u32)>,
    pub fail: bool,
}

impl RednessClassifier {
    pub fn new(fail: bool) -> RednessClassifier {
        RednessClassifier { folded: folded(&["red", "dark"]), sizes: Vec::new(), fail }
    }
}

impl Classifier for RednessClassifier {
    fn classify(&mut self, crop: CropRef<'_>) -> Result<Classification, ClassifyError> {
        if self.fail {
            return Err(ClassifyError::Inference(EngineError::Backend("boom".into())));
        }
        let (w, h) = crop.dims();
        self.sizes.push((w as u32, h as u32));
        let red = (0..h).flat_map(|y| (0..w).map(move |x| (x, y))).map(|(x, y)| crop.value(x, y, 0)).sum::<f32>() / (w * h) as f32;
        Ok(Classification::from_logits(vec![red], vec![red, 255.0 - red], vec![red, 255.0 - red]))
    }
    fn folded(&self) -> &Folded {
        &self.folded
    }
}

/// A linear descriptor set as matrices: one descriptor per label (`<label>/0`), an embedding
/// of one dimension per label, identity weights, no bias. A one-hot embedding scores its
/// class.
pub fn folded(labels: &[&str]) -> Folded {
    let n = labels.len();
    let identity: Vec<f32> = (0..n * n).map(|i| if i / n == i % n { 1.0 } else { 0.0 }).collect();
    Folded {
        dim: n,
        weights: identity.clone(),
        bias: vec![0.0; n],
        aggregate: identity,
        normalize: false,
        labels: labels.iter().map(|l| l.to_string()).collect(),
        descriptor_names: labels.iter().map(|l| format!("{l}/0")).collect(),
        descriptor_class: (0..n).collect(),
    }
}

// ---------------------------------------------------------------------------------------
// Events and publishers.

/// An expression event with fixed scores: `expression` at 0.8 and `neutral` at 0.2, the
/// descriptor `fc.<expression>`, `t` seconds into the source.
pub fn expression_event(kind: EventKind, camera: &str, track: u64, expression: &str, t: f64) -> ExpressionEvent {
    let probs = OrderedProbs(vec![(expression.into(), 0.8), ("neutral".into(), 0.2)]);
    let scored = Scored { expression: expression.into(), confidence: 0.8, probs: probs.clone() };
    ExpressionEvent {
        kind,
        camera: camera.into(),
        track,
        bbox: [1.0, 2.0, 3.0, 4.0],
        face_px: 3,
        expression: expression.into(),
        confidence: 0.8,
        probs,
        previous: None,
        frame: scored.clone(),
        clip: scored,
        clip_frames: 4,
        descriptor: FiredDescriptor { name: format!("fc.{expression}"), logit: 2.0 },
        timestamp: t,
        track_started: 0.0,
    }
}

/// A publisher collecting every event, shared with the test.
#[derive(Clone, Default)]
pub struct Collect(pub Arc<Mutex<Vec<Event>>>);

impl Collect {
    /// Everything published so far.
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The expression events' (type, expression).
    pub fn expressions(&self) -> Vec<(EventKind, String)> {
        self.events()
            .iter()
            .filter_map(|e| match e {
                Event::Expression(x) => Some((x.kind, x.expression.clone())),
                Event::Stats(_) => None,
            })
            .collect()
    }

    /// As a named sink for the live path.
    pub fn sink(&self) -> Vec<NamedSink> {
        vec![("collect".to_owned(), Box::new(self.clone()))]
    }
}

impl Publisher for Collect {
    fn publish(&mut self, event: &Event) -> Result<(), PublishError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event.clone());
        Ok(())
    }
}

/// A deterministic uniform [-1, 1) stream (xorshift), so failures reproduce.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() + 1.0) * 0.5 * n as f32) as usize % n
    }
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.uniform()).collect()
    }
}
