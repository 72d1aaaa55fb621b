//! BlazeFace post-processing, as MediaPipe's face detection graph does it: SSD anchors,
//! box and keypoint decoding, sigmoid scores, weighted non-maximum suppression.
//!
//! All pure: [`super::BlazeFaceDetector`] feeds in the raw outputs of whichever inference
//! engine ran the model. Coordinates here are relative to the model's (letterboxed) input
//! square, 0..1.

/// The manifest's `[detector]` table: part of the model contract, so it lives there.
pub use crate::model::manifest::BlazeFaceOptions;

/// An anchor centre, relative to the input square (fixed anchor size 1×1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub x: f32,
    pub y: f32,
}

/// MediaPipe's `SsdAnchorsCalculator` with `fixed_anchor_size: true` and one aspect ratio:
/// only centres matter, and each grid cell holds one anchor per layer sharing its stride,
/// two when an interpolated scale is configured.
pub fn ssd_anchors(opts: &BlazeFaceOptions, input_w: usize, input_h: usize) -> Vec<Anchor> {
    let mut anchors = Vec::new();
    let strides = &opts.strides;
    let mut layer = 0;
    while layer < strides.len() {
        let mut last = layer;
        let mut per_cell = 0;
        while last < strides.len() && strides[last] == strides[layer] {
            per_cell += if opts.interpolated_scale_aspect_ratio > 0.0 { 2 } else { 1 };
            last += 1;
        }
        let stride = strides[layer].max(1) as usize;
        let fm_h = input_h.div_ceil(stride);
        let fm_w = input_w.div_ceil(stride);
        for y in 0..fm_h {
            for x in 0..fm_w {
                let a = Anchor { x: (x as f32 + opts.anchor_offset) / fm_w as f32, y: (y as f32 + opts.anchor_offset) / fm_h as f32 };
                anchors.extend(std::iter::repeat_n(a, per_cell));
            }
        }
        layer = last;
    }
    anchors
}

/// A detection relative to the model input square.
#[derive(Debug, Clone, PartialEq)]
pub struct RawDetection {
    pub score: f32,
    pub xmin: f32,
    pub ymin: f32,
    pub xmax: f32,
    pub ymax: f32,
    /// (x, y) pairs, `num_keypoints` of them.
    pub keypoints: Vec<(f32, f32)>,
}

impl RawDetection {
    fn iou(&self, o: &RawDetection) -> f32 {
        let iw = (self.xmax.min(o.xmax) - self.xmin.max(o.xmin)).max(0.0);
        let ih = (self.ymax.min(o.ymax) - self.ymin.max(o.ymin)).max(0.0);
        let inter = iw * ih;
        let a = (self.xmax - self.xmin) * (self.ymax - self.ymin);
        let b = (o.xmax - o.xmin) * (o.ymax - o.ymin);
        let union = a + b - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Decode raw outputs (`regressors`: N × (4 + 2K), `scores`: N) into detections above the
/// score threshold. Box and keypoint offsets are in input pixels around the anchor centre.
pub fn decode(
    regressors: &[f32],
    scores: &[f32],
    anchors: &[Anchor],
    opts: &BlazeFaceOptions,
    input_w: usize,
    input_h: usize,
) -> Vec<RawDetection> {
    let stride = 4 + 2 * opts.num_keypoints;
    let (sw, sh) = (input_w as f32, input_h as f32);
    let mut out = Vec::new();
    for (i, anchor) in anchors.iter().enumerate() {
        let (Some(&raw_score), Some(r)) = (scores.get(i), regressors.get(i * stride..(i + 1) * stride)) else {
            break;
        };
        let score = sigmoid(raw_score.clamp(-opts.score_clip, opts.score_clip));
        if score < opts.score_threshold {
            continue;
        }
        let xc = r[0] / sw + anchor.x;
        let yc = r[1] / sh + anchor.y;
        let w = r[2] / sw;
        let h = r[3] / sh;
        let keypoints: Vec<(f32, f32)> =
            (0..opts.num_keypoints).map(|k| (r[4 + 2 * k] / sw + anchor.x, r[5 + 2 * k] / sh + anchor.y)).collect();
        // A NaN score passes the threshold test and a NaN box overlaps nothing: neither is a face.
        if !(score.is_finite() && [xc, yc, w, h].iter().chain(keypoints.iter().flat_map(|(x, y)| [x, y])).all(|v| v.is_finite())) {
            continue;
        }
        out.push(RawDetection { score, xmin: xc - w / 2.0, ymin: yc - h / 2.0, xmax: xc + w / 2.0, ymax: yc + h / 2.0, keypoints });
    }
    out
}

/// MediaPipe's weighted non-maximum suppression: the best remaining detection absorbs every
/// detection overlapping it by more than `iou`; its box and keypoints become the
/// score-weighted mean of the group, and it keeps its own score.
pub fn weighted_nms(mut dets: Vec<RawDetection>, iou: f32) -> Vec<RawDetection> {
    // Stable sort so equal scores keep anchor order, as MediaPipe's does.
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    let mut dets = std::collections::VecDeque::from(dets);
    while let Some(best) = dets.pop_front() {
        // The best box always leaves the queue itself, whatever its self-overlap (an IoU
        // threshold of 1, or a NaN box): every round removes at least one detection.
        let (mut group, rest): (Vec<_>, Vec<_>) = dets.into_iter().partition(|d| d.iou(&best) > iou);
        dets = rest.into();
        group.insert(0, best.clone());
        let total: f32 = group.iter().map(|d| d.score).sum();
        let mut merged = best;
        if total > 0.0 {
            let wmean = |f: &dyn Fn(&RawDetection) -> f32| group.iter().map(|d| f(d) * d.score).sum::<f32>() / total;
            merged.xmin = wmean(&|d| d.xmin);
            merged.ymin = wmean(&|d| d.ymin);
            merged.xmax = wmean(&|d| d.xmax);
            merged.ymax = wmean(&|d| d.ymax);
            for k in 0..merged.keypoints.len() {
                merged.keypoints[k] = (wmean(&|d| d.keypoints[k].0), wmean(&|d| d.keypoints[k].1));
            }
        }
        out.push(merged);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(strides: &[u32], interp: f32) -> BlazeFaceOptions {
        BlazeFaceOptions {
            strides: strides.to_vec(),
            interpolated_scale_aspect_ratio: interp,
            anchor_offset: 0.5,
            score_clip: 100.0,
            score_threshold: 0.5,
            nms_iou: 0.3,
            num_keypoints: 6,
        }
    }

    #[test]
    fn anchor_counts_match_mediapipe_short_and_full_range() {
        let short = ssd_anchors(&opts(&[8, 16, 16, 16], 1.0), 128, 128);
        assert_eq!(short.len(), 896);
        // First grid is 16x16 with 2 anchors per cell; the second 8x8 with 6.
        assert_eq!(short[0], Anchor { x: 0.5 / 16.0, y: 0.5 / 16.0 });
        assert_eq!(short[1], short[0]);
        assert_eq!(short[2].x, 1.5 / 16.0);
        assert_eq!(short[512], Anchor { x: 0.5 / 8.0, y: 0.5 / 8.0 });
        assert_eq!(short[517], short[512]);
        assert_eq!(short[518].x, 1.5 / 8.0);
        let full = ssd_anchors(&opts(&[4], 0.0), 192, 192);
        assert_eq!(full.len(), 48 * 48);
        assert_eq!(full[1].x, 1.5 / 48.0);
    }

    #[test]
    fn decode_offsets_from_the_anchor_and_thresholds_scores() {
        let o = opts(&[8], 0.0);
        let anchors = vec![Anchor { x: 0.5, y: 0.5 }, Anchor { x: 0.25, y: 0.25 }];
        let mut reg = vec![0f32; 32];
        // Box 64x32 px centred 12.8 px right of the first anchor, first keypoint on the anchor.
        reg[0] = 12.8;
        reg[2] = 64.0;
        reg[3] = 32.0;
        let dets = decode(&reg, &[3.0, -3.0], &anchors, &o, 128, 128);
        assert_eq!(dets.len(), 1);
        let d = &dets[0];
        assert!((d.score - sigmoid(3.0)).abs() < 1e-6);
        assert!((d.xmin - 0.35).abs() < 1e-6 && (d.xmax - 0.85).abs() < 1e-6);
        assert!((d.ymin - 0.375).abs() < 1e-6 && (d.ymax - 0.625).abs() < 1e-6);
        assert_eq!(d.keypoints[0], (0.5, 0.5));
        // Huge raw scores are clipped instead of overflowing.
        let dets = decode(&reg, &[1e30, f32::NEG_INFINITY], &anchors, &o, 128, 128);
        assert_eq!(dets.len(), 1);
        assert!(dets[0].score.is_finite());
        // NaN scores and non-finite boxes are not faces.
        assert!(decode(&reg, &[f32::NAN, f32::NAN], &anchors, &o, 128, 128).is_empty());
        let mut nan_box = reg.clone();
        nan_box[2] = f32::INFINITY;
        assert!(decode(&nan_box, &[3.0, -3.0], &anchors, &o, 128, 128).is_empty());
    }

    fn det(score: f32, x: f32) -> RawDetection {
        RawDetection { score, xmin: x, ymin: 0.0, xmax: x + 1.0, ymax: 1.0, keypoints: vec![(x, 0.0)] }
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_separate_faces() {
        let out = weighted_nms(vec![det(0.6, 0.2), det(0.9, 0.0), det(0.8, 5.0)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        let expect = (0.9 * 0.0 + 0.6 * 0.2) / 1.5;
        assert!((out[0].xmin - expect).abs() < 1e-6);
        assert!((out[0].keypoints[0].0 - expect).abs() < 1e-6);
        assert_eq!(out[1].xmin, 5.0);
        assert!(weighted_nms(vec![], 0.3).is_empty());
    }

    #[test]
    fn weighted_nms_ends_whatever_the_threshold_or_the_boxes() {
        // Self-overlap 1 is not above a threshold of 1; a NaN box overlaps nothing, itself
        // included. Both used to loop forever.
        let nan = RawDetection { xmin: f32::NAN, ..det(0.7, 0.0) };
        for iou in [1.0, f32::NAN, f32::INFINITY, -1.0] {
            let out = weighted_nms(vec![det(0.9, 0.0), det(0.8, 0.1), nan.clone()], iou);
            assert!(!out.is_empty() && out.len() <= 3, "iou {iou}: {}", out.len());
        }
        assert_eq!(weighted_nms(vec![det(0.9, 0.0), det(0.8, 0.0)], 1.0).len(), 2);
    }
}
