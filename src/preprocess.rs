//! Turning a frame or face crop into a model's input tensor: the resize rules named in
//! model manifests, colour order, mean/std normalisation and layout.
//!
//! Every function here is pure and deterministic. The resize rules reproduce the reference
//! implementations the models were trained and evaluated with (TensorFlow.js for face-api,
//! MediaPipe's letterbox for BlazeFace, PIL-style bicubic for CLIP), because small
//! differences in resampling move probabilities more than quantisation does.

use crate::frame::Frame;
use serde::Deserialize;
use std::borrow::Cow;

/// How an image is brought to the model's input size (see docs/model-contract.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeRule {
    /// face-api.js: centred black padding to a square, then TF `resizeBilinear`
    /// (`alignCorners = false`, `halfPixelCenters = false`).
    PadSquareTfBilinear,
    /// MediaPipe: keep aspect ratio, centre on a black square, bilinear sampling of source
    /// index `(x - offset) / scale` (no half-pixel shift), as its ImageToTensor does.
    LetterboxBilinear,
    /// Plain bilinear resize with half-pixel centres, aspect ratio not kept.
    StretchBilinear,
    /// CLIP: shorter side to the input size with bicubic filtering, then a centre crop.
    ShorterCenterCropBicubic,
}

/// Memory layout of the (batch 1) input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// Channel order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorOrder {
    Rgb,
    Bgr,
    /// One channel, ITU-R BT.601 luma.
    Gray,
}

impl ColorOrder {
    /// The manifest's spelling (`rgb`), for messages.
    pub fn name(self) -> &'static str {
        match self {
            ColorOrder::Rgb => "rgb",
            ColorOrder::Bgr => "bgr",
            ColorOrder::Gray => "gray",
        }
    }

    pub fn channels(self) -> usize {
        match self {
            ColorOrder::Gray => 1,
            _ => 3,
        }
    }
}

/// Everything needed to build an input tensor; read from a model manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    pub width: usize,
    pub height: usize,
    pub layout: Layout,
    pub color: ColorOrder,
    pub resize: ResizeRule,
    /// Per channel, in 0..255 pixel units (one value per model channel).
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl InputSpec {
    /// The tensor shape for batch 1.
    pub fn shape(&self) -> [usize; 4] {
        let c = self.color.channels();
        match self.layout {
            Layout::Nchw => [1, c, self.height, self.width],
            Layout::Nhwc => [1, self.height, self.width, c],
        }
    }
}

/// Maps model-input pixel coordinates back to source-image pixel coordinates:
/// `src = (dst - offset) / scale`, per axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InputTransform {
    pub scale_x: f32,
    pub scale_y: f32,
    pub offset_x: f32,
    pub offset_y: f32,
}

impl InputTransform {
    pub fn to_source(&self, x: f32, y: f32) -> (f32, f32) {
        ((x - self.offset_x) / self.scale_x, (y - self.offset_y) / self.scale_y)
    }
}

/// A 3-channel float image in HWC order, values in 0..255. Aligned face crops are kept in
/// this form: resampling a rotated crop and rounding it to 8 bits would turn detector noise
/// far below a pixel (different SIMD kernels on x86-64 and aarch64) into whole-level flips of
/// scattered pixels, which move class probabilities by up to 1e-3.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl FloatImage {
    pub fn from_frame(img: &Frame) -> FloatImage {
        FloatImage { width: img.width() as usize, height: img.height() as usize, data: img.as_raw().iter().map(|&v| v as f32).collect() }
    }

    /// The three channel values of pixel `(x, y)`; the caller keeps `x, y` in bounds.
    pub fn pixel(&self, x: usize, y: usize) -> [f32; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    fn at(&self, x: usize, y: usize, c: usize) -> f32 {
        self.data[(y * self.width + x) * 3 + c]
    }
}

/// An RGB image the resize rules can read: 8-bit frames and float crops.
pub trait RgbSource {
    /// Width and height in pixels.
    fn dims(&self) -> (usize, usize);
    /// Channel `c` of pixel `(x, y)` in 0..255; the caller keeps `x, y` in bounds.
    fn value(&self, x: usize, y: usize, c: usize) -> f32;
    /// The whole image as floats (borrowed when it already is).
    fn to_float(&self) -> Cow<'_, FloatImage>;
    /// Catmull-Rom resize to `w × h` (see [`ResizeRule::ShorterCenterCropBicubic`]). An 8-bit
    /// frame comes back rounded to 8 bits, as PIL's does; a float crop keeps its fractions.
    fn resize_catmull_rom(&self, w: u32, h: u32) -> FloatImage;
}

impl RgbSource for Frame {
    fn dims(&self) -> (usize, usize) {
        (self.width() as usize, self.height() as usize)
    }

    fn value(&self, x: usize, y: usize, c: usize) -> f32 {
        self.as_raw()[(y * self.width() as usize + x) * 3 + c] as f32
    }

    fn to_float(&self) -> Cow<'_, FloatImage> {
        Cow::Owned(FloatImage::from_frame(self))
    }

    fn resize_catmull_rom(&self, w: u32, h: u32) -> FloatImage {
        FloatImage::from_frame(&image::imageops::resize(self, w, h, image::imageops::FilterType::CatmullRom))
    }
}

impl RgbSource for FloatImage {
    fn dims(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn value(&self, x: usize, y: usize, c: usize) -> f32 {
        self.at(x, y, c)
    }

    fn to_float(&self) -> Cow<'_, FloatImage> {
        Cow::Borrowed(self)
    }

    fn resize_catmull_rom(&self, w: u32, h: u32) -> FloatImage {
        // The image crate clamps float pixels to 0..1 while resampling, so scale there and back.
        let unit: Vec<f32> = self.data.iter().map(|v| v / 255.0).collect();
        let out = match image::Rgb32FImage::from_raw(self.width as u32, self.height as u32, unit) {
            Some(img) => image::imageops::resize(&img, w, h, image::imageops::FilterType::CatmullRom).into_raw(),
            // Only a malformed FloatImage (data shorter than width × height × 3) gets here.
            None => vec![0.0; (w * h * 3) as usize],
        };
        FloatImage { width: w as usize, height: h as usize, data: out.into_iter().map(|v| v * 255.0).collect() }
    }
}

/// A face crop or frame handed to a classifier: 8-bit (decoded files, whole frames) or float
/// (aligned crops). Classifiers are trait objects, so the two kinds travel as one enum.
#[derive(Debug, Clone, Copy)]
pub enum CropRef<'a> {
    Bytes(&'a Frame),
    Float(&'a FloatImage),
}

impl CropRef<'_> {
    /// Width and height in pixels.
    pub fn dims(&self) -> (usize, usize) {
        match self {
            CropRef::Bytes(f) => f.dims(),
            CropRef::Float(f) => f.dims(),
        }
    }

    /// Channel `c` of pixel `(x, y)` in 0..255; the caller keeps `x, y` in bounds.
    pub fn value(&self, x: usize, y: usize, c: usize) -> f32 {
        match self {
            CropRef::Bytes(f) => f.value(x, y, c),
            CropRef::Float(f) => f.value(x, y, c),
        }
    }

    /// [`prepare`] for either kind.
    pub fn prepare(&self, spec: &InputSpec) -> Prepared {
        match self {
            CropRef::Bytes(f) => prepare(*f, spec),
            CropRef::Float(f) => prepare(*f, spec),
        }
    }
}

impl<'a> From<&'a Frame> for CropRef<'a> {
    fn from(f: &'a Frame) -> Self {
        CropRef::Bytes(f)
    }
}

impl<'a> From<&'a FloatImage> for CropRef<'a> {
    fn from(f: &'a FloatImage) -> Self {
        CropRef::Float(f)
    }
}

/// A prepared input: tensor data in the manifest's layout, its shape, and the geometric
/// mapping back to the source image.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub data: Vec<f32>,
    pub shape: [usize; 4],
    pub transform: InputTransform,
}

/// Resize `img` by `spec.resize`, then normalise and lay out as `spec` says.
pub fn prepare<I: RgbSource + ?Sized>(img: &I, spec: &InputSpec) -> Prepared {
    let (resized, transform) = resize(img, spec.resize, spec.width, spec.height);
    Prepared { data: normalize(&resized, spec), shape: spec.shape(), transform }
}

/// Apply a resize rule; returns the resized float image and the mapping back to `img`.
pub fn resize<I: RgbSource + ?Sized>(img: &I, rule: ResizeRule, out_w: usize, out_h: usize) -> (FloatImage, InputTransform) {
    let (w, h) = img.dims();
    let (w, h) = (w as f32, h as f32);
    match rule {
        ResizeRule::PadSquareTfBilinear => {
            let float = img.to_float();
            let (padded, pad_left, pad_top) = pad_square_centered(&float);
            let side = padded.width as f32;
            let out = tf_resize_bilinear(&padded, out_w, out_h);
            let (sx, sy) = (out_w as f32 / side, out_h as f32 / side);
            let t = InputTransform { scale_x: sx, scale_y: sy, offset_x: pad_left as f32 * sx, offset_y: pad_top as f32 * sy };
            (out, t)
        }
        ResizeRule::LetterboxBilinear => {
            let s = (out_w as f32 / w).min(out_h as f32 / h);
            let t =
                InputTransform { scale_x: s, scale_y: s, offset_x: (out_w as f32 - w * s) / 2.0, offset_y: (out_h as f32 - h * s) / 2.0 };
            (warp_bilinear(img, out_w, out_h, &t, SampleGrid::TopLeft), t)
        }
        ResizeRule::StretchBilinear => {
            let t = InputTransform { scale_x: out_w as f32 / w, scale_y: out_h as f32 / h, offset_x: 0.0, offset_y: 0.0 };
            (warp_bilinear(img, out_w, out_h, &t, SampleGrid::HalfPixel), t)
        }
        ResizeRule::ShorterCenterCropBicubic => shorter_center_crop_bicubic(img, out_w, out_h),
    }
}

/// face-api's `padToSquare(img, isCenterImage = true)`: the shorter axis gets
/// `round(diff / 2)` black rows/columns appended after the image and the rest before it.
/// Returns the padded image and the left and top padding.
pub fn pad_square_centered(img: &FloatImage) -> (Cow<'_, FloatImage>, usize, usize) {
    let (w, h) = (img.width, img.height);
    if w == h {
        return (Cow::Borrowed(img), 0, 0);
    }
    let diff = w.abs_diff(h);
    // JavaScript's Math.round rounds halves up.
    let append = (diff as f64 * 0.5 + 0.5).floor() as usize;
    let prepend = diff - append;
    let side = w.max(h);
    let (left, top) = if h > w { (prepend, 0) } else { (0, prepend) };
    let mut data = vec![0f32; side * side * 3];
    for y in 0..h {
        let dst = ((y + top) * side + left) * 3;
        data[dst..dst + w * 3].copy_from_slice(&img.data[y * w * 3..(y + 1) * w * 3]);
    }
    (Cow::Owned(FloatImage { width: side, height: side, data }), left, top)
}

/// TensorFlow's bilinear resize with `alignCorners = false, halfPixelCenters = false`,
/// as tfjs-backend-cpu computes it: source = dst × (in / out), floor/ceil neighbours clamped
/// to the image, arithmetic in f64, results stored as f32.
pub fn tf_resize_bilinear(img: &FloatImage, out_w: usize, out_h: usize) -> FloatImage {
    let (in_w, in_h) = (img.width, img.height);
    let mut data = vec![0f32; out_w * out_h * 3];
    if in_w == 0 || in_h == 0 {
        return FloatImage { width: out_w, height: out_h, data };
    }
    let hs = in_h as f64 / out_h as f64;
    let ws = in_w as f64 / out_w as f64;
    for r in 0..out_h {
        let src_r = hs * r as f64;
        let r0 = src_r.floor().max(0.0) as usize;
        let r_frac = src_r - r0 as f64;
        let r1 = (src_r.ceil() as usize).min(in_h - 1);
        for c in 0..out_w {
            let src_c = ws * c as f64;
            let c0 = src_c.floor().max(0.0) as usize;
            let c_frac = src_c - c0 as f64;
            let c1 = (src_c.ceil() as usize).min(in_w - 1);
            for ch in 0..3 {
                let tl = img.at(c0, r0, ch) as f64;
                let tr = img.at(c1, r0, ch) as f64;
                let bl = img.at(c0, r1, ch) as f64;
                let br = img.at(c1, r1, ch) as f64;
                let top = tl + (tr - tl) * c_frac;
                let bottom = bl + (br - bl) * c_frac;
                data[(r * out_w + c) * 3 + ch] = (top + (bottom - top) * r_frac) as f32;
            }
        }
    }
    FloatImage { width: out_w, height: out_h, data }
}

/// Bilinear sample with half-pixel centres (pixel `i` covers `[i, i + 1)`); pixels
/// outside the image are black.
pub fn sample_bilinear_zero<I: RgbSource + ?Sized>(img: &I, sx: f32, sy: f32, out: &mut [f32; 3]) {
    sample_bilinear_index(img, sx - 0.5, sy - 0.5, out)
}

/// Bilinear sample at continuous pixel *indices* (pixel `i` sits at `i`); outside the image
/// is black, like OpenCV's `warpAffine`/`warpPerspective` with a constant zero border.
pub fn sample_bilinear_index<I: RgbSource + ?Sized>(img: &I, fx: f32, fy: f32, out: &mut [f32; 3]) {
    let (w, h) = img.dims();
    let (w, h) = (w as i64, h as i64);
    let x0 = fx.floor();
    let y0 = fy.floor();
    let ax = fx - x0;
    let ay = fy - y0;
    let (x0, y0) = (x0 as i64, y0 as i64);
    let px = |x: i64, y: i64, c: usize| -> f32 {
        if x < 0 || y < 0 || x >= w || y >= h {
            0.0
        } else {
            img.value(x as usize, y as usize, c)
        }
    };
    for (c, o) in out.iter_mut().enumerate() {
        let top = px(x0, y0, c) * (1.0 - ax) + px(x0 + 1, y0, c) * ax;
        let bottom = px(x0, y0 + 1, c) * (1.0 - ax) + px(x0 + 1, y0 + 1, c) * ax;
        *o = top * (1.0 - ay) + bottom * ay;
    }
}

/// Where output pixels sample the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SampleGrid {
    /// Output pixel `x` samples source index `(x - offset) / scale`: MediaPipe's
    /// ImageToTensor (OpenCV warpPerspective), which BlazeFace was evaluated with.
    TopLeft,
    /// Pixel centres map to pixel centres (PIL, OpenCV `resize`).
    HalfPixel,
}

/// Resample `img` into an `out_w × out_h` image through the inverse of `t`.
fn warp_bilinear<I: RgbSource + ?Sized>(img: &I, out_w: usize, out_h: usize, t: &InputTransform, grid: SampleGrid) -> FloatImage {
    let mut data = vec![0f32; out_w * out_h * 3];
    let mut px = [0f32; 3];
    for y in 0..out_h {
        for x in 0..out_w {
            match grid {
                SampleGrid::TopLeft => {
                    let (sx, sy) = t.to_source(x as f32, y as f32);
                    sample_bilinear_index(img, sx, sy, &mut px);
                }
                SampleGrid::HalfPixel => {
                    let (sx, sy) = t.to_source(x as f32 + 0.5, y as f32 + 0.5);
                    sample_bilinear_zero(img, sx, sy, &mut px);
                }
            }
            data[(y * out_w + x) * 3..(y * out_w + x) * 3 + 3].copy_from_slice(&px);
        }
    }
    FloatImage { width: out_w, height: out_h, data }
}

/// CLIP's preprocessing: shorter side to the target with a Catmull-Rom (bicubic, a = -0.5)
/// filter whose support widens when downscaling, as PIL's does, then a centre crop. The geometry
/// is torchvision's (`Resize(size)` + `CenterCrop(size)`, which CLIP and CLIPER use): the longer
/// side becomes `floor(size × long / short)`, and the crop starts at `round((len − size) / 2)`
/// with halves to even (Python's `round`). Rounding either differently shifts the crop by a pixel.
fn shorter_center_crop_bicubic<I: RgbSource + ?Sized>(img: &I, out_w: usize, out_h: usize) -> (FloatImage, InputTransform) {
    let (iw, ih) = img.dims();
    let (iw, ih) = (iw.max(1) as u64, ih.max(1) as u64);
    let (w, h) = (iw as f32, ih as f32);
    // The side that needs the larger scale is resized to its target exactly; the other follows.
    let (rw, rh) = if (out_w as u64) * ih >= (out_h as u64) * iw {
        (out_w as u64, ((out_w as u64 * ih) / iw).max(out_h as u64))
    } else {
        (((out_h as u64 * iw) / ih).max(out_w as u64), out_h as u64)
    };
    let (rw, rh) = (rw as u32, rh as u32);
    let resized = img.resize_catmull_rom(rw, rh);
    let left = ((rw as usize - out_w) as f64 / 2.0).round_ties_even() as usize;
    let top = ((rh as usize - out_h) as f64 / 2.0).round_ties_even() as usize;
    let mut data = Vec::with_capacity(out_w * out_h * 3);
    for y in 0..out_h {
        for x in 0..out_w {
            data.extend(resized.pixel(x + left, y + top));
        }
    }
    let t = InputTransform { scale_x: rw as f32 / w, scale_y: rh as f32 / h, offset_x: -(left as f32), offset_y: -(top as f32) };
    (FloatImage { width: out_w, height: out_h, data }, t)
}

/// Colour order, `(pixel - mean) / std` and layout, from a resized 0..255 RGB image.
pub fn normalize(img: &FloatImage, spec: &InputSpec) -> Vec<f32> {
    let n = img.width * img.height;
    let channels = spec.color.channels();
    let mut out = vec![0f32; n * channels];
    for i in 0..n {
        let [r, g, b] = [img.data[i * 3], img.data[i * 3 + 1], img.data[i * 3 + 2]];
        let values: [f32; 3] = match spec.color {
            ColorOrder::Rgb => [r, g, b],
            ColorOrder::Bgr => [b, g, r],
            ColorOrder::Gray => [0.299 * r + 0.587 * g + 0.114 * b, 0.0, 0.0],
        };
        for c in 0..channels {
            let v = (values[c] - spec.mean[c]) / spec.std[c];
            match spec.layout {
                Layout::Nhwc => out[i * channels + c] = v,
                Layout::Nchw => out[c * n + i] = v,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Frame {
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y)))
    }

    #[test]
    fn pad_square_puts_the_rounded_half_after_the_image() {
        // 3 wide, 6 tall: diff 3, round(1.5) = 2 columns after, 1 before.
        let src = FloatImage::from_frame(&img(3, 6, |_, _| [9, 9, 9]));
        let (p, left, top) = pad_square_centered(&src);
        assert_eq!((p.width, p.height, left, top), (6, 6, 1, 0));
        let row: Vec<f32> = (0..6).map(|x| p.at(x, 2, 0)).collect();
        assert_eq!(row, vec![0.0, 9.0, 9.0, 9.0, 0.0, 0.0]);
        // Wider than tall pads rows instead.
        let src = FloatImage::from_frame(&img(5, 2, |_, _| [1, 1, 1]));
        let (p, left, top) = pad_square_centered(&src);
        assert_eq!((p.width, left, top), (5, 0, 1));
        let col: Vec<f32> = (0..5).map(|y| p.at(0, y, 0)).collect();
        assert_eq!(col, vec![0.0, 1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn tf_bilinear_uses_top_left_aligned_sampling() {
        // A 4-pixel ramp downsampled to 2 picks source columns 0 and 2 exactly.
        let src = FloatImage::from_frame(&img(4, 1, |x, _| [(x * 10) as u8, 0, 0]));
        let out = tf_resize_bilinear(&src, 2, 1);
        assert_eq!((out.at(0, 0, 0), out.at(1, 0, 0)), (0.0, 20.0));
        // Upsampling 2 -> 4: positions 0, 0.5, 1, 1.5 with the last clamped.
        let src = FloatImage::from_frame(&img(2, 1, |x, _| [(x * 10) as u8, 0, 0]));
        let out = tf_resize_bilinear(&src, 4, 1);
        let v: Vec<f32> = (0..4).map(|x| out.at(x, 0, 0)).collect();
        assert_eq!(v, vec![0.0, 5.0, 10.0, 10.0]);
    }

    #[test]
    fn letterbox_centres_a_wide_image_and_maps_back() {
        let (out, t) = resize(&img(8, 4, |_, _| [200, 100, 50]), ResizeRule::LetterboxBilinear, 4, 4);
        assert_eq!((t.scale_x, t.offset_x, t.offset_y), (0.5, 0.0, 1.0));
        // Row 0 samples source row -2 (border); rows 1 and 2 rows 0 and 2 (content); row 3
        // samples row 4, just past the image.
        assert_eq!(out.at(0, 0, 0), 0.0);
        assert_eq!(out.at(2, 1, 0), 200.0);
        assert_eq!(out.at(3, 2, 1), 100.0);
        assert_eq!(out.at(2, 3, 0), 0.0);
        assert_eq!(t.to_source(4.0, 3.0), (8.0, 4.0));
    }

    #[test]
    fn normalize_handles_layouts_and_colour_orders() {
        let f = FloatImage { width: 2, height: 1, data: vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0] };
        let mut spec = InputSpec {
            width: 2,
            height: 1,
            layout: Layout::Nchw,
            color: ColorOrder::Rgb,
            resize: ResizeRule::StretchBilinear,
            mean: vec![10.0, 20.0, 30.0],
            std: vec![2.0, 2.0, 2.0],
        };
        assert_eq!(normalize(&f, &spec), vec![0.0, 15.0, 0.0, 15.0, 0.0, 15.0]);
        spec.layout = Layout::Nhwc;
        spec.color = ColorOrder::Bgr;
        assert_eq!(normalize(&f, &spec), vec![10.0, 0.0, -10.0, 25.0, 15.0, 5.0]);
        spec.color = ColorOrder::Gray;
        spec.mean = vec![0.0];
        spec.std = vec![1.0];
        let g = normalize(&f, &spec);
        assert_eq!(g.len(), 2);
        assert!((g[0] - (0.299 * 10.0 + 0.587 * 20.0 + 0.114 * 30.0)).abs() < 1e-4);
    }

    #[test]
    fn centre_crop_bicubic_keeps_the_middle() {
        // Left half black, right half white, 2:1 aspect: the centre crop straddles the edge.
        let (out, _) = resize(&img(40, 20, |x, _| if x < 20 { [0; 3] } else { [255; 3] }), ResizeRule::ShorterCenterCropBicubic, 10, 10);
        assert_eq!((out.width, out.height), (10, 10));
        assert!(out.at(0, 5, 0) < 10.0 && out.at(9, 5, 0) > 245.0);
    }

    #[test]
    fn float_and_byte_images_resize_alike_but_floats_keep_fractions() {
        // A textured 8-bit image and the same values as floats: every rule agrees within the
        // 8-bit rounding, and the float bicubic result is not rounded.
        let bytes = img(37, 23, |x, y| [((x * 7 + y * 3) % 256) as u8, (x * y % 251) as u8, ((x + y) * 11 % 256) as u8]);
        let floats = FloatImage::from_frame(&bytes);
        for rule in [
            ResizeRule::PadSquareTfBilinear,
            ResizeRule::LetterboxBilinear,
            ResizeRule::StretchBilinear,
            ResizeRule::ShorterCenterCropBicubic,
        ] {
            let (a, ta) = resize(&bytes, rule, 16, 16);
            let (b, tb) = resize(&floats, rule, 16, 16);
            assert_eq!(ta, tb, "{rule:?}");
            let worst = a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            let bound = if rule == ResizeRule::ShorterCenterCropBicubic { 0.5 + 1e-3 } else { 0.0 };
            assert!(worst <= bound, "{rule:?}: bytes and floats differ by {worst}");
        }
        let (b, _) = resize(&floats, ResizeRule::ShorterCenterCropBicubic, 16, 16);
        assert!(b.data.iter().any(|v| v.fract() != 0.0), "float bicubic output was rounded");
        assert!(b.data.iter().all(|v| (0.0..=255.0).contains(v)), "float bicubic left 0..255");
    }
}
