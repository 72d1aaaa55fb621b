//! The one place that knows every stage: decode → detect → align → classify for still
//! images here, and capture → detect → align → classify → track/smooth → publish for live
//! sources in [`live`]; [`models`] loads the models a selection names, [`config`] is the
//! `[pipeline]` table, [`slot`] the capture → inference hand-off.

pub mod config;
pub mod live;
pub mod models;
pub mod slot;

use crate::align::{align, AlignOptions};
use crate::classify::{Classification, Classifier, ClassifyError};
use crate::decode::{decode_file, DecodeError};
use crate::detect::{DetectError, FaceDetector};
use crate::frame::{BBox, Frame, Point};
use std::path::Path;
use std::time::{Duration, Instant};

/// Everything known about one face in one image.
#[derive(Debug, Clone)]
pub struct FaceResult {
    /// Index of the face within its image, in detector order (highest score first).
    pub face: usize,
    pub bbox: BBox,
    /// `None` when the image was taken as an already aligned crop.
    pub detection_score: Option<f32>,
    pub keypoints: Vec<Point>,
    pub classification: Classification,
}

impl FaceResult {
    /// How wide the face was in the frame, whole px: a crop of a small face is upscaled to
    /// the encoder's input, so results from faces too small to judge can be filtered on it.
    pub fn face_px(&self) -> u32 {
        face_px(&self.bbox)
    }
}

/// A box's width in whole frame px (`face_px` in results and events).
pub fn face_px(b: &BBox) -> u32 {
    b.w.max(0.0).round() as u32
}

/// Why an image could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("{path}: {source}")]
    Detect { path: String, source: DetectError },
    #[error("{path}: {source}")]
    Classify { path: String, source: ClassifyError },
}

/// Wall time spent in each stage, summed over calls.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    pub decode: Duration,
    pub detect: Duration,
    pub align: Duration,
    pub classify: Duration,
}

/// Still-image pipeline. Without a detector every image is taken as an aligned face crop.
pub struct StillPipeline {
    detector: Option<Box<dyn FaceDetector>>,
    classifier: Box<dyn Classifier>,
    align: AlignOptions,
    pub times: StageTimes,
}

impl StillPipeline {
    pub fn new(detector: Option<Box<dyn FaceDetector>>, classifier: Box<dyn Classifier>, align: AlignOptions) -> Self {
        StillPipeline { detector, classifier, align, times: StageTimes::default() }
    }

    pub fn classifier(&self) -> &dyn Classifier {
        self.classifier.as_ref()
    }

    /// Decode and process one file.
    pub fn process_file(&mut self, path: &Path) -> Result<Vec<FaceResult>, PipelineError> {
        let t = Instant::now();
        let frame = decode_file(path)?;
        self.times.decode += t.elapsed();
        self.process_frame(&frame, &path.display().to_string())
    }

    /// Process a decoded frame; `label` names it in errors.
    pub fn process_frame(&mut self, frame: &Frame, label: &str) -> Result<Vec<FaceResult>, PipelineError> {
        let Some(detector) = self.detector.as_mut() else {
            let t = Instant::now();
            let classification =
                self.classifier.classify(frame.into()).map_err(|source| PipelineError::Classify { path: label.to_owned(), source })?;
            self.times.classify += t.elapsed();
            let bbox = BBox { x: 0.0, y: 0.0, w: frame.width() as f32, h: frame.height() as f32 };
            return Ok(vec![FaceResult { face: 0, bbox, detection_score: None, keypoints: vec![], classification }]);
        };
        let t = Instant::now();
        let detections = detector.detect(frame).map_err(|source| PipelineError::Detect { path: label.to_owned(), source })?;
        self.times.detect += t.elapsed();
        let mut results = Vec::with_capacity(detections.len());
        for (face, det) in detections.into_iter().enumerate() {
            let t = Instant::now();
            let (crop, _) = align(frame, &det.bbox, det.eyes(), &self.align);
            self.times.align += t.elapsed();
            let t = Instant::now();
            let classification =
                self.classifier.classify((&crop).into()).map_err(|source| PipelineError::Classify { path: label.to_owned(), source })?;
            self.times.classify += t.elapsed();
            results.push(FaceResult { face, bbox: det.bbox, detection_score: Some(det.score), keypoints: det.keypoints, classification });
        }
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{detection, FixedDetector, RednessClassifier};

    fn classifier(fail: bool) -> Box<RednessClassifier> {
        Box::new(RednessClassifier::new(fail))
    }

    #[test]
    fn every_detected_face_is_aligned_and_classified_in_order() {
        // Left half red, right half black: the first face is red, the second dark.
        let frame = image::RgbImage::from_fn(40, 10, |x, _| image::Rgb([if x < 20 { 255 } else { 0 }, 0, 0]));
        let opts = AlignOptions { margin: 0.0, size: 16, rotate: true };
        let mut p =
            StillPipeline::new(Some(Box::new(FixedDetector(vec![detection(2.0, 10.0), detection(26.0, 10.0)]))), classifier(false), opts);
        let faces = p.process_frame(&frame, "f").expect("process");
        assert_eq!(faces.len(), 2);
        assert_eq!((faces[0].face, faces[1].face), (0, 1));
        assert_eq!(faces[0].classification.best_class(), 0);
        assert_eq!(faces[1].classification.best_class(), 1);
        assert_eq!(faces[1].detection_score, Some(0.9));
        assert_eq!(faces[1].bbox.x, 26.0);
    }

    #[test]
    fn without_a_detector_the_whole_image_is_one_face() {
        let frame = image::RgbImage::from_pixel(5, 7, image::Rgb([255, 0, 0]));
        let mut p = StillPipeline::new(None, classifier(false), AlignOptions::default());
        let faces = p.process_frame(&frame, "crop.png").expect("process");
        assert_eq!(faces.len(), 1);
        assert_eq!(faces[0].detection_score, None);
        assert_eq!((faces[0].bbox.w, faces[0].bbox.h), (5.0, 7.0));
    }

    #[test]
    fn classifier_errors_name_the_input() {
        let frame = image::RgbImage::from_pixel(5, 5, image::Rgb([0, 0, 0]));
        let mut p = StillPipeline::new(None, classifier(true), AlignOptions::default());
        let e = p.process_frame(&frame, "crop.png").expect_err("fails").to_string();
        assert_eq!(e, "crop.png: expression encoder inference failed: boom");
    }
}
