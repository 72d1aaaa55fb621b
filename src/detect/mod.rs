//! Face detection: the `FaceDetector` seam and its BlazeFace implementation on an inference
//! [`Engine`].

pub mod blazeface;
pub mod config;
pub mod schedule;
pub mod tiles;

use crate::frame::{BBox, Frame, Point};
use crate::infer::{self, Engine, EngineError, InferenceConfig};
use crate::model::manifest::{ModelFiles, Role};
use crate::model::ModelError;
use crate::preprocess::{prepare, InputSpec};
use blazeface::{decode, ssd_anchors, weighted_nms, Anchor, BlazeFaceOptions};
use serde::Serialize;

/// A face found in a frame, in frame pixels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub bbox: BBox,
    pub score: f32,
    /// BlazeFace order: right eye, left eye (the subject's), nose tip, mouth centre,
    /// right ear tragion, left ear tragion.
    pub keypoints: Vec<Point>,
}

impl Detection {
    /// The two eye keypoints, image-left first, when the detector provides them.
    pub fn eyes(&self) -> Option<(Point, Point)> {
        match self.keypoints.as_slice() {
            [a, b, ..] => Some((*a, *b)),
            _ => None,
        }
    }
}

/// Why detection failed on a frame.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("face detector inference failed: {0}")]
    Inference(#[source] EngineError),
}

/// Finds faces in a frame. `Send`: the live path runs it on its inference thread.
pub trait FaceDetector: Send {
    fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectError>;
}

/// A borrowed detector is one too: the live loop wraps the detector it was lent.
impl<D: FaceDetector + ?Sized> FaceDetector for &mut D {
    fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectError> {
        (**self).detect(frame)
    }
}

/// MediaPipe BlazeFace (short or full range).
pub struct BlazeFaceDetector {
    engine: Box<dyn Engine>,
    spec: InputSpec,
    opts: BlazeFaceOptions,
    anchors: Vec<Anchor>,
    regressors_ix: usize,
    scores_ix: usize,
    /// Name of the manifest, for logs.
    pub name: String,
}

impl BlazeFaceDetector {
    /// Load on tract.
    pub fn load(files: &ModelFiles) -> Result<BlazeFaceDetector, ModelError> {
        Self::load_with(files, &InferenceConfig::default())
    }

    pub fn load_with(files: &ModelFiles, inference: &InferenceConfig) -> Result<BlazeFaceDetector, ModelError> {
        files.expect_role(Role::Detector)?;
        let invalid = |reason: String| ModelError::Invalid { path: files.onnx_path.clone(), reason };
        let m = &files.manifest;
        let opts = m.detector.clone().ok_or_else(|| invalid("no [detector] table".into()))?;
        let spec = m.input_spec();
        let anchors = ssd_anchors(&opts, spec.width, spec.height);
        let engine = infer::load(files, None, inference)?;
        // Tell the two outputs apart by shape: [1, N, 4 + 2K] boxes and [1, N, 1] scores.
        let mut regressors_ix = None;
        let mut scores_ix = None;
        for (ix, shape) in engine.output_shapes().iter().enumerate() {
            match shape[..] {
                [1, n, w] if n == anchors.len() && w == 4 + 2 * opts.num_keypoints => regressors_ix = Some(ix),
                [1, n, 1] if n == anchors.len() => scores_ix = Some(ix),
                ref other => return Err(invalid(format!("unexpected detector output shape {other:?} for {} anchors", anchors.len()))),
            }
        }
        let (Some(regressors_ix), Some(scores_ix)) = (regressors_ix, scores_ix) else {
            return Err(invalid(format!("detector needs box and score outputs for {} anchors", anchors.len())));
        };
        Ok(BlazeFaceDetector { engine, spec, opts, anchors, regressors_ix, scores_ix, name: m.name.clone() })
    }

    /// What runs the model, for logs.
    pub fn backend(&self) -> String {
        self.engine.describe()
    }

    pub fn options(&self) -> &BlazeFaceOptions {
        &self.opts
    }

    /// Side of the model's input square (the longer side if not square), px.
    pub fn input_side(&self) -> usize {
        self.spec.width.max(self.spec.height)
    }

    /// Set the minimum detection score.
    pub fn set_score_threshold(&mut self, threshold: f32) {
        self.opts.score_threshold = threshold;
    }
}

impl FaceDetector for BlazeFaceDetector {
    fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectError> {
        let prepared = prepare(frame, &self.spec);
        let outputs = self.engine.run(prepared.data).map_err(DetectError::Inference)?;
        let (Some(regressors), Some(scores)) = (outputs.get(self.regressors_ix), outputs.get(self.scores_ix)) else {
            let expected = self.regressors_ix.max(self.scores_ix) + 1;
            return Err(DetectError::Inference(EngineError::Outputs { got: outputs.len(), expected }));
        };
        let (w, h) = (self.spec.width, self.spec.height);
        let raw = decode(regressors, scores, &self.anchors, &self.opts, w, h);
        let t = prepared.transform;
        let to_frame = |x: f32, y: f32| {
            let (fx, fy) = t.to_source(x * w as f32, y * h as f32);
            Point { x: fx, y: fy }
        };
        Ok(weighted_nms(raw, self.opts.nms_iou)
            .into_iter()
            .map(|d| {
                let p0 = to_frame(d.xmin, d.ymin);
                let p1 = to_frame(d.xmax, d.ymax);
                Detection {
                    bbox: BBox { x: p0.x, y: p0.y, w: p1.x - p0.x, h: p1.y - p0.y },
                    score: d.score,
                    keypoints: d.keypoints.iter().map(|&(x, y)| to_frame(x, y)).collect(),
                }
            })
            .collect())
    }
}
