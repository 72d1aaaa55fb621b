//! Tiled, multi-scale detection: which windows of a frame to run the detector over so faces
//! down to a minimum width are found, how their boxes map back to the frame, and how the
//! windows' detections merge into one box per face.
//!
//! The detector sees each window letterboxed to its input square (192 px for BlazeFace full
//! range), so a window of side `S` finds faces from about `model_min_face · S / input` frame
//! pixels up. The whole frame is always one window (the big faces); smaller windows are added,
//! scale by scale, until the smallest one reaches `min_face`. Windows of one scale overlap
//! so that the largest face that scale is responsible for fits wholly inside one of them: a
//! box touching a window's inner edge (one not on the frame border) is then a cut face that
//! a neighbour (or a coarser scale) sees whole, and is dropped before the merge.
//!
//! All pure; [`TiledDetector`] runs any [`FaceDetector`] over a plan.

use super::blazeface::{weighted_nms, RawDetection};
use super::{DetectError, Detection, FaceDetector};
use crate::frame::{BBox, Frame, Point};

/// Smallest face width (frame px) looked for by default.
pub const DEFAULT_MIN_FACE: u32 = 32;
/// Smallest face (detector input px) the model finds reliably: BlazeFace full range finds
/// every bundled face at 12 px and about half of them at 9 px (issue 15's measurements), so
/// 16 px leaves a margin.
pub const DEFAULT_MODEL_MIN_FACE: f32 = 16.0;
/// Largest face a tile window is responsible for, as a fraction of its side; bigger faces
/// belong to the next coarser scale. It sets the overlap between neighbouring windows.
pub const DEFAULT_MAX_FACE_FRACTION: f32 = 1.0 / 3.0;
/// A box closer than this fraction of its own width to a window's inner edge counts as cut.
pub const EDGE_TOLERANCE: f32 = 0.1;

/// How the windows are laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TilingOptions {
    /// Smallest face width to find, frame px; 0 turns tiling off (whole frame only).
    pub min_face: u32,
    /// Smallest face the detector finds reliably, in its input px.
    pub model_min_face: f32,
    /// Largest face a tile window holds whole, as a fraction of the window side.
    pub max_face_fraction: f32,
    /// Side of the detector's input square, px.
    pub input: usize,
}

impl TilingOptions {
    /// The defaults for a detector whose input square has side `input`.
    pub fn for_input(input: usize) -> TilingOptions {
        TilingOptions {
            min_face: DEFAULT_MIN_FACE,
            model_min_face: DEFAULT_MODEL_MIN_FACE,
            max_face_fraction: DEFAULT_MAX_FACE_FRACTION,
            input,
        }
    }

    /// Smallest face a window of side `side` finds, frame px.
    fn min_face_in(&self, side: f32) -> f32 {
        side * self.model_min_face / self.input.max(1) as f32
    }
}

/// A rectangle of the frame the detector is run over, frame px.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// 0 for the whole frame, then 1, 2, … from coarse to fine.
    pub scale: usize,
}

impl Window {
    /// The whole `w`×`h` frame.
    pub fn full(w: u32, h: u32) -> Window {
        Window { x: 0, y: 0, w, h, scale: 0 }
    }

    pub fn is_full(&self, frame_w: u32, frame_h: u32) -> bool {
        self.x == 0 && self.y == 0 && self.w >= frame_w && self.h >= frame_h
    }

    /// A detection in window coordinates, in frame coordinates.
    pub fn to_frame(&self, d: &Detection) -> Detection {
        let (dx, dy) = (self.x as f32, self.y as f32);
        Detection {
            bbox: BBox { x: d.bbox.x + dx, y: d.bbox.y + dy, ..d.bbox },
            score: d.score,
            keypoints: d.keypoints.iter().map(|p| Point { x: p.x + dx, y: p.y + dy }).collect(),
        }
    }

    /// Whether a box (frame coordinates) reaches within the tolerance of, or past, an edge of
    /// this window that is not the frame's border: the face may be cut there.
    pub fn cuts(&self, b: &BBox, frame_w: u32, frame_h: u32) -> bool {
        let tol = EDGE_TOLERANCE * b.w.max(b.h).max(0.0);
        let (x0, y0) = (self.x as f32, self.y as f32);
        let (x1, y1) = ((self.x + self.w) as f32, (self.y + self.h) as f32);
        (self.x > 0 && b.x < x0 + tol)
            || (self.y > 0 && b.y < y0 + tol)
            || (self.x + self.w < frame_w && b.x + b.w > x1 - tol)
            || (self.y + self.h < frame_h && b.y + b.h > y1 - tol)
    }
}

/// `n` window starts along an axis of `len` px for windows of `side` px overlapping by at
/// least `overlap` px, spread evenly from 0 to `len - side`.
fn starts(len: u32, side: u32, overlap: u32) -> Vec<u32> {
    if side >= len {
        return vec![0];
    }
    let stride = side.saturating_sub(overlap).max(1);
    let n = (len - side).div_ceil(stride) + 1;
    (0..n).map(|i| ((len - side) as u64 * i as u64 / (n - 1) as u64) as u32).collect()
}

/// The tile window sides, coarse to fine, for a `w`×`h` frame; empty when the whole frame
/// already finds `min_face`.
pub fn scales(w: u32, h: u32, opts: &TilingOptions) -> Vec<u32> {
    let long = w.max(h) as f32;
    // Detector input px per frame px of the smallest face a window finds: 12 for 16 of 192.
    let zoom = opts.input as f32 / opts.model_min_face;
    if opts.min_face == 0 || !zoom.is_finite() || zoom <= 0.0 || opts.max_face_fraction.is_nan() || opts.max_face_fraction * zoom <= 1.0 {
        return vec![];
    }
    // Finest first: the window whose smallest face is `min_face`, then each next window's
    // smallest face is the previous one's largest, until the whole frame takes over.
    let mut sides = Vec::new();
    let mut side = opts.min_face as f32 * zoom;
    while side < long && opts.min_face_in(long) > opts.min_face as f32 {
        // Up to a rounding error of the fraction: 1/3 · 384 · 12 is 1536.
        sides.push((side - 0.01).ceil() as u32);
        if opts.max_face_fraction * side >= opts.min_face_in(long) {
            break;
        }
        side = opts.max_face_fraction * side * zoom;
    }
    sides.reverse();
    sides
}

/// Every window to run for a `w`×`h` frame: the whole frame first, then each tile scale.
pub fn plan(w: u32, h: u32, opts: &TilingOptions) -> Vec<Window> {
    let mut windows = vec![Window::full(w, h)];
    for (i, side) in scales(w, h, opts).into_iter().enumerate() {
        // The largest face of this scale, with its box's edge tolerance on both sides.
        let overlap = (opts.max_face_fraction * side as f32 * (1.0 + 2.0 * EDGE_TOLERANCE)).ceil() as u32;
        let (sw, sh) = (side.min(w), side.min(h));
        for &y in &starts(h, sh, overlap) {
            for &x in &starts(w, sw, overlap) {
                windows.push(Window { x, y, w: sw, h: sh, scale: i + 1 });
            }
        }
    }
    windows
}

/// One box per face from every window's detections (frame coordinates): boxes a window cuts
/// are dropped, the rest merged by MediaPipe's weighted NMS at `iou`.
pub fn merge(per_window: Vec<(Window, Vec<Detection>)>, frame_w: u32, frame_h: u32, iou: f32) -> Vec<Detection> {
    let raw: Vec<RawDetection> = per_window
        .into_iter()
        .flat_map(|(win, dets)| dets.into_iter().filter(move |d| !win.cuts(&d.bbox, frame_w, frame_h)))
        .map(|d| RawDetection {
            score: d.score,
            xmin: d.bbox.x,
            ymin: d.bbox.y,
            xmax: d.bbox.x + d.bbox.w,
            ymax: d.bbox.y + d.bbox.h,
            keypoints: d.keypoints.iter().map(|p| (p.x, p.y)).collect(),
        })
        .collect();
    weighted_nms(raw, iou)
        .into_iter()
        .map(|r| Detection {
            bbox: BBox { x: r.xmin, y: r.ymin, w: r.xmax - r.xmin, h: r.ymax - r.ymin },
            score: r.score,
            keypoints: r.keypoints.into_iter().map(|(x, y)| Point { x, y }).collect(),
        })
        .collect()
}

/// Runs any detector over the whole frame and its tile windows and merges the results: the
/// same [`FaceDetector`] seam, faces down to `min_face`.
pub struct TiledDetector<D> {
    inner: D,
    opts: TilingOptions,
    nms_iou: f32,
    /// The plan of the last frame size (frames of one source keep their size).
    plan: Option<((u32, u32), Vec<Window>)>,
    /// Detector calls made so far.
    pub calls: u64,
}

impl<D: FaceDetector> TiledDetector<D> {
    /// `nms_iou`: the cross-window merge threshold (the detector's own NMS threshold).
    pub fn new(inner: D, opts: TilingOptions, nms_iou: f32) -> TiledDetector<D> {
        TiledDetector { inner, opts, nms_iou, plan: None, calls: 0 }
    }

    pub fn options(&self) -> &TilingOptions {
        &self.opts
    }

    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// The windows a full pass over a `w`×`h` frame runs.
    pub fn plan(&mut self, w: u32, h: u32) -> &[Window] {
        if self.plan.as_ref().is_none_or(|(size, _)| *size != (w, h)) {
            self.plan = Some(((w, h), plan(w, h, &self.opts)));
        }
        self.plan.as_ref().map_or(&[][..], |(_, p)| p.as_slice())
    }

    /// Detect over the given windows only (frame coordinates in and out).
    pub fn detect_windows(&mut self, frame: &Frame, windows: &[Window]) -> Result<Vec<Detection>, DetectError> {
        let (fw, fh) = frame.dimensions();
        let mut per_window = Vec::with_capacity(windows.len());
        for win in windows {
            self.calls += 1;
            let dets = if win.is_full(fw, fh) {
                self.inner.detect(frame)?
            } else {
                let w = win.w.min(fw.saturating_sub(win.x));
                let h = win.h.min(fh.saturating_sub(win.y));
                if w == 0 || h == 0 {
                    continue;
                }
                let crop = image::imageops::crop_imm(frame, win.x, win.y, w, h).to_image();
                self.inner.detect(&crop)?.iter().map(|d| win.to_frame(d)).collect()
            };
            per_window.push((*win, dets));
        }
        Ok(merge(per_window, fw, fh, self.nms_iou))
    }
}

impl<D: FaceDetector> FaceDetector for TiledDetector<D> {
    fn detect(&mut self, frame: &Frame) -> Result<Vec<Detection>, DetectError> {
        let windows = self.plan(frame.width(), frame.height()).to_vec();
        self.detect_windows(frame, &windows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{detection, BrightSquares};

    fn opts() -> TilingOptions {
        TilingOptions::for_input(192)
    }

    /// Every point of the frame lies in a window of each scale, and any face up to the
    /// scale's largest lies wholly inside one of them.
    #[test]
    fn windows_cover_the_frame_and_hold_each_scales_largest_face_whole() {
        let (w, h) = (1920, 1080);
        let o = opts();
        let p = plan(w, h, &o);
        assert_eq!(p[0], Window::full(w, h));
        let sides = scales(w, h, &o);
        // 32 px faces need 384 px windows (16 px at 192); the next scale takes over at 128 px.
        assert_eq!(sides, vec![1536, 384]);
        for (i, &side) in sides.iter().enumerate() {
            let wins: Vec<_> = p.iter().filter(|win| win.scale == i + 1).collect();
            assert!(wins.iter().all(|win| win.x + win.w <= w && win.y + win.h <= h));
            let face = (o.max_face_fraction * side as f32) as u32;
            for fy in (0..h - face.min(h)).step_by(37) {
                for fx in (0..w - face).step_by(37) {
                    let b = BBox { x: fx as f32, y: fy as f32, w: face as f32, h: face as f32 };
                    let whole = wins.iter().any(|win| !win.cuts(&b, w, h));
                    assert!(whole, "face at {fx},{fy} size {face} cut by every window of side {side}");
                }
            }
        }
        // Scales chain: each finer scale's largest face is the coarser one's smallest.
        assert!(o.max_face_fraction * 384.0 >= o.min_face_in(1536.0) - 0.5);
        assert!(o.max_face_fraction * 1536.0 >= o.min_face_in(1920.0));
    }

    #[test]
    fn small_frames_and_large_min_faces_need_no_tiles() {
        assert_eq!(plan(640, 480, &TilingOptions { min_face: 60, ..opts() }), vec![Window::full(640, 480)]);
        assert_eq!(plan(1920, 1080, &TilingOptions { min_face: 0, ..opts() }), vec![Window::full(1920, 1080)]);
        // One scale is enough when it reaches the whole frame's smallest face.
        let p = plan(640, 480, &TilingOptions { min_face: 32, ..opts() });
        assert!(p.len() > 1 && p[1..].iter().all(|w| w.scale == 1 && w.w == 384));
        assert_eq!(starts(100, 100, 10), vec![0]);
        assert_eq!(starts(100, 40, 10), vec![0, 30, 60]);
    }

    #[test]
    fn window_detections_map_back_by_the_window_offset() {
        let win = Window { x: 100, y: 50, w: 200, h: 200, scale: 1 };
        let d = win.to_frame(&detection(10.0, 20.0));
        assert_eq!(d.bbox, BBox { x: 110.0, y: 50.0, w: 20.0, h: 20.0 });
        assert_eq!(d.keypoints[0], Point { x: 116.0, y: 56.0 });
        assert_eq!(d.score, 0.9);
    }

    #[test]
    fn a_box_at_an_inner_edge_is_cut_but_not_at_the_frame_border() {
        let win = Window { x: 100, y: 0, w: 200, h: 200, scale: 1 };
        let at_left = BBox { x: 101.0, y: 50.0, w: 30.0, h: 30.0 };
        assert!(win.cuts(&at_left, 1000, 200));
        // The top and bottom edges are the frame's own.
        assert!(!win.cuts(&BBox { x: 150.0, y: 0.0, w: 30.0, h: 200.0 }, 1000, 200));
        assert!(!win.cuts(&BBox { x: 150.0, y: 50.0, w: 30.0, h: 30.0 }, 1000, 200));
        assert!(win.cuts(&BBox { x: 280.0, y: 50.0, w: 30.0, h: 30.0 }, 1000, 200));
        assert!(!Window::full(1000, 200).cuts(&at_left, 1000, 200));
    }

    #[test]
    fn merge_keeps_one_box_for_a_face_seen_by_several_windows_and_drops_half_boxes() {
        let (fw, fh) = (400, 200);
        let a = Window { x: 0, y: 0, w: 200, h: 200, scale: 1 };
        let b = Window { x: 150, y: 0, w: 200, h: 200, scale: 1 };
        // A face at x 180..220: window a cuts it (half box), window b holds it whole.
        let half = Detection { bbox: BBox { x: 180.0, y: 40.0, w: 20.0, h: 40.0 }, ..detection(0.0, 1.0) };
        let whole = detection(180.0, 40.0);
        let full = Detection { score: 0.7, ..detection(182.0, 38.0) };
        let out = merge(vec![(a, vec![half]), (b, vec![whole.clone()]), (Window::full(fw, fh), vec![full])], fw, fh, 0.3);
        assert_eq!(out.len(), 1);
        // Weighted mean of the two whole boxes, the best one's score.
        assert!((out[0].bbox.x - (0.9 * 180.0 + 0.7 * 182.0) / 1.6).abs() < 1e-3);
        assert!((out[0].bbox.w - (0.9 * 40.0 + 0.7 * 38.0) / 1.6).abs() < 1e-3);
        assert_eq!(out[0].score, 0.9);
        // Separate faces stay separate.
        let out = merge(vec![(b, vec![whole, detection(300.0, 20.0)])], fw, fh, 0.3);
        assert_eq!(out.len(), 2);
    }

    /// End to end over a fake detector that, like BlazeFace, misses faces smaller than a
    /// fraction of its input and reports a face cut by the image edge as the visible part.
    #[test]
    fn tiled_detector_finds_small_faces_and_one_box_for_a_face_on_a_window_border() {
        let (fw, fh) = (1920u32, 1080u32);
        let o = opts();
        let p = plan(fw, fh, &o);
        // A 40 px face straddling the border between the first two windows of the finest scale.
        let fine: Vec<_> = p.iter().filter(|w| w.scale == 2).collect();
        let border = fine[1].x + 5;
        let faces = [(border as i64 - 20, 300i64, 40i64), (900, 500, 600), (1500, 100, 200)];
        let frame = image::RgbImage::from_fn(fw, fh, |x, y| {
            let inside = faces.iter().any(|&(fx, fy, s)| (fx..fx + s).contains(&(x as i64)) && (fy..fy + s).contains(&(y as i64)));
            image::Rgb(if inside { [255, 255, 255] } else { [0, 0, 0] })
        });
        let inner = BrightSquares { min_fraction: o.model_min_face / o.input as f32 };
        // The whole frame alone misses the 40 px face.
        let mut whole = inner;
        assert_eq!(whole.detect(&frame).expect("detect").len(), 2);
        let mut tiled = TiledDetector::new(inner, o, 0.3);
        let mut found = tiled.detect(&frame).expect("detect");
        found.sort_by(|a, b| a.bbox.w.total_cmp(&b.bbox.w));
        assert_eq!(found.len(), 3, "{found:?}");
        for (d, &(fx, fy, s)) in found.iter().zip(&[faces[0], faces[2], faces[1]]) {
            let truth = BBox { x: fx as f32, y: fy as f32, w: s as f32, h: s as f32 };
            assert!(d.bbox.iou(&truth) > 0.9, "{d:?} vs {truth:?}");
        }
        assert_eq!(tiled.calls, p.len() as u64);
    }
}
