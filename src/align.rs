//! Face alignment: rotate by the eye line and cut a square crop with a margin around the
//! detected box, so the encoder sees upright faces at a consistent scale.
//!
//! Pure geometry plus one bilinear resampling pass; no model knowledge. The encoder's own
//! resize rule (manifest) is applied afterwards to the aligned crop.
//!
//! The crop stays in floating point and the trigonometry is done in f64. The detector's
//! keypoints differ between builds by ~1e-4 px (tract's matrix kernels sum in a different
//! order on x86-64 and aarch64); an 8-bit crop turned that into whole-level flips of a few
//! dozen pixels and moved probabilities by up to 9.5e-4, a float crop follows it smoothly.

use crate::frame::{BBox, Frame, Point};
use crate::preprocess::{sample_bilinear_zero, FloatImage};
use crate::schema::{self, Invalid, Key};
use serde::Deserialize;

/// How aligned crops are cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlignOptions {
    /// Added on every side, as a fraction of the box's longer side.
    pub margin: f32,
    /// Output side in pixels.
    pub size: u32,
    /// Rotate so the eyes are level; off, the crop is axis-aligned.
    pub rotate: bool,
}

/// Default margin around the detector's box: BlazeFace boxes are tight (brow to chin), and
/// expression encoders are trained on crops that include the forehead and jaw line.
pub const DEFAULT_MARGIN: f32 = 0.2;
/// Default crop side; twice the face-api input so its downscale has pixels to average.
pub const DEFAULT_SIZE: u32 = 224;

impl Default for AlignOptions {
    fn default() -> Self {
        AlignOptions { margin: DEFAULT_MARGIN, size: DEFAULT_SIZE, rotate: true }
    }
}

/// Where an aligned crop came from, so results can be mapped back to the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropGeometry {
    pub center: Point,
    /// Side of the square in frame pixels.
    pub side: f32,
    /// Rotation applied, radians (positive: the face was tilted clockwise in the image).
    pub angle: f32,
}

/// Roll angle of the line from the first eye keypoint to the second, in radians.
pub fn eye_angle(first_eye: Point, second_eye: Point) -> f32 {
    // In f64 so the platform's single-precision libm cannot round differently.
    ((second_eye.y - first_eye.y) as f64).atan2((second_eye.x - first_eye.x) as f64) as f32
}

/// The square cut for a face box with optional roll.
pub fn crop_geometry(bbox: &BBox, eyes: Option<(Point, Point)>, opts: &AlignOptions) -> CropGeometry {
    let angle = match (opts.rotate, eyes) {
        (true, Some((a, b))) => eye_angle(a, b),
        _ => 0.0,
    };
    CropGeometry { center: bbox.center(), side: bbox.w.max(bbox.h) * (1.0 + 2.0 * opts.margin), angle }
}

/// Resample the rotated square `g` of `frame` into a `size × size` float image (0..255, not
/// rounded); outside the frame is black.
pub fn extract(frame: &Frame, g: &CropGeometry, size: u32) -> FloatImage {
    let size = size.max(1) as usize;
    let (sin, cos) = (g.angle as f64).sin_cos();
    let (sin, cos) = (sin as f32, cos as f32);
    let step = g.side / size as f32;
    let mut px = [0f32; 3];
    let mut data = Vec::with_capacity(size * size * 3);
    for v in 0..size {
        for u in 0..size {
            // Offset of the output pixel centre from the crop centre, in frame pixels.
            let dx = (u as f32 + 0.5) * step - g.side / 2.0;
            let dy = (v as f32 + 0.5) * step - g.side / 2.0;
            let sx = g.center.x + dx * cos - dy * sin;
            let sy = g.center.y + dx * sin + dy * cos;
            sample_bilinear_zero(frame, sx, sy, &mut px);
            data.extend_from_slice(&px);
        }
    }
    FloatImage { width: size, height: size, data }
}

/// Align one face: geometry from the box and eyes, then resampling.
pub fn align(frame: &Frame, bbox: &BBox, eyes: Option<(Point, Point)>, opts: &AlignOptions) -> (FloatImage, CropGeometry) {
    let g = crop_geometry(bbox, eyes, opts);
    (extract(frame, &g, opts.size), g)
}

/// `[align]`: how faces are cut out for the encoder.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlignConfig {
    /// Margin around the detected box, as a fraction of its size (0..=1).
    #[serde(default = "default_margin")]
    pub margin: f32,
    /// Rotate faces so the eyes are level.
    #[serde(default = "default_rotate")]
    pub rotate: bool,
}

fn default_margin() -> f32 {
    DEFAULT_MARGIN
}
fn default_rotate() -> bool {
    true
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig { margin: default_margin(), rotate: default_rotate() }
    }
}

/// Largest `align.margin`: a crop three times the face's box already holds the whole head.
pub const MAX_MARGIN: f32 = 1.0;

impl AlignConfig {
    /// `margin` within 0..=[`MAX_MARGIN`] (NaN and negative margins refused).
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        schema::within(&key.field("margin"), self.margin, 0.0, MAX_MARGIN)
    }

    /// The crop options, at the default crop size.
    pub fn options(&self) -> AlignOptions {
        AlignOptions { margin: self.margin, size: DEFAULT_SIZE, rotate: self.rotate }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_eyes_give_an_axis_aligned_crop_with_margin() {
        let bbox = BBox { x: 10.0, y: 20.0, w: 40.0, h: 20.0 };
        let eyes = (Point { x: 20.0, y: 25.0 }, Point { x: 40.0, y: 25.0 });
        let g = crop_geometry(&bbox, Some(eyes), &AlignOptions { margin: 0.25, size: 8, rotate: true });
        assert_eq!(g.angle, 0.0);
        assert_eq!(g.side, 60.0);
        assert_eq!(g.center, Point { x: 30.0, y: 30.0 });
    }

    #[test]
    fn extract_undoes_a_known_rotation() {
        // A frame whose pixel value encodes its column; a 90° roll turns columns into rows.
        let frame = image::RgbImage::from_fn(64, 64, |x, _| image::Rgb([(x * 4) as u8, 0, 0]));
        let g = CropGeometry { center: Point { x: 32.0, y: 32.0 }, side: 16.0, angle: std::f32::consts::FRAC_PI_2 };
        let crop = extract(&frame, &g, 16);
        // Output row v samples source column 39 - v whatever the output column.
        for v in 0..16 {
            for u in [0, 7, 15] {
                let want = ((39 - v) * 4) as f32;
                assert!((crop.pixel(u, v)[0] - want).abs() < 1e-3, "u={u} v={v}: {:?}, want {want}", crop.pixel(u, v));
            }
        }
    }

    #[test]
    fn eye_angle_is_positive_when_the_second_eye_is_lower() {
        let a = eye_angle(Point { x: 0.0, y: 0.0 }, Point { x: 1.0, y: 1.0 });
        assert!((a - std::f32::consts::FRAC_PI_4).abs() < 1e-6);
    }

    #[test]
    fn crops_past_the_frame_edge_are_black_not_a_panic() {
        let frame = image::RgbImage::from_pixel(4, 4, image::Rgb([255, 255, 255]));
        let g = CropGeometry { center: Point { x: 0.0, y: 0.0 }, side: 8.0, angle: 0.3 };
        let crop = extract(&frame, &g, 8);
        assert_eq!(crop.pixel(0, 0)[0], 0.0);
        assert_eq!(crop.pixel(5, 5)[0], 255.0);
    }

    #[test]
    fn a_sub_pixel_shift_moves_the_crop_smoothly() {
        // Detector keypoints differ between builds by ~1e-4 px. With a ramp of 3 levels per
        // pixel the crop must move by ~3e-4 levels, not flip some pixels by a whole level.
        let frame = image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 3) as u8, (y * 3) as u8, 0]));
        let g = CropGeometry { center: Point { x: 31.3, y: 30.7 }, side: 20.0, angle: 0.2 };
        let mut moved = g;
        moved.center.x += 1e-4;
        moved.angle += 1e-6;
        let (a, b) = (extract(&frame, &g, 24), extract(&frame, &moved, 24));
        let worst = a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst < 2e-3, "a 1e-4 px shift changed a crop value by {worst}");
        assert!(a.data.iter().any(|v| v.fract() != 0.0), "the crop was rounded");
    }
}
