//! Camera buffers (YUYV, NV12, GREY, RGB3, MJPEG) into RGB [`Frame`]s.
//!
//! Pure functions: a buffer plus its [`Layout`] (format, size, `bytesperline`) in, a frame
//! or a [`CaptureError`] out. Every length is checked before it is indexed, so a short or
//! truncated buffer is a `BadFrame`, never a panic.
//!
//! # YUV → RGB
//!
//! BT.601, limited range, with the 16.16 fixed-point coefficients of ffmpeg's swscale
//! (`ff_yuv2rgb_coeffs[SWS_CS_ITU601]`, luma gain 76309 = 255/219 · 2¹⁶):
//!
//! ```text
//! c = Y - 16, d = U - 128, e = V - 128
//! R = clamp((76309·c             + 104597·e + 32768) >> 16, 0, 255)
//! G = clamp((76309·c -  25675·d  -  53279·e + 32768) >> 16, 0, 255)
//! B = clamp((76309·c + 132201·d             + 32768) >> 16, 0, 255)
//! ```
//!
//! i.e. round half up. Chroma is not interpolated: a YUYV pair shares its U/V, an NV12
//! 2×2 block shares its UV, as the formats are sampled. Against ffmpeg 5.1 on a real face
//! this differs by at most 1 level from swscale's exactly rounded path
//! (`neighbor+accurate_rnd+full_chroma_int`) and by at most 3 (YUYV) / 12 (NV12, which
//! swscale interpolates vertically) from its default conversion; see the tests.
//! GREY is full-range luma (as in V4L2 and ffmpeg), so R = G = B = Y.
//!
//! MJPEG frames are decoded by the `image` crate through [`crate::decode::jpeg`]; against
//! ffmpeg's decoder of the face fixture the difference measures at most 3 levels (mean 0.044),
//! and the tests allow 4 (`MJPEG_MAX_DIFF`) because two decoders' IDCTs may round apart.

use super::CaptureError;
use crate::decode::{jpeg, MAX_SIDE};
use crate::frame::Frame;

/// A camera pixel format cliper can convert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Packed 4:2:2, `Y0 U Y1 V` per pixel pair (V4L2 `YUYV`, ffmpeg `yuyv422`).
    Yuyv,
    /// Planar Y then interleaved UV at half size in both directions (`NV12`).
    Nv12,
    /// 8-bit full-range luma (`GREY`, ffmpeg `gray`).
    Grey,
    /// Packed 8-bit R, G, B (`RGB3`, ffmpeg `rgb24`).
    Rgb3,
    /// One JPEG image per buffer (`MJPG`).
    Mjpeg,
}

impl PixelFormat {
    /// Every format, in the order a camera's offer is tried by default: MJPEG first
    /// because it is the only one most USB cameras deliver at full size and rate.
    pub const PREFERENCE: [PixelFormat; 5] =
        [PixelFormat::Mjpeg, PixelFormat::Yuyv, PixelFormat::Nv12, PixelFormat::Grey, PixelFormat::Rgb3];

    /// The V4L2 FourCC.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            PixelFormat::Yuyv => *b"YUYV",
            PixelFormat::Nv12 => *b"NV12",
            PixelFormat::Grey => *b"GREY",
            PixelFormat::Rgb3 => *b"RGB3",
            PixelFormat::Mjpeg => *b"MJPG",
        }
    }

    /// The format with this V4L2 FourCC, if cliper converts it.
    pub fn from_fourcc(code: [u8; 4]) -> Option<PixelFormat> {
        PixelFormat::PREFERENCE.into_iter().find(|f| f.fourcc() == code)
    }

    /// Parses a config value: the FourCC (`"YUYV"`, `"MJPG"`, …, case-insensitive) or the
    /// ffmpeg name (`"yuyv422"`, `"nv12"`, `"gray"`, `"rgb24"`, `"mjpeg"`).
    pub fn parse(name: &str) -> Option<PixelFormat> {
        let lower = name.trim().to_ascii_lowercase();
        let format = match lower.as_str() {
            "yuyv" | "yuy2" | "yuyv422" => PixelFormat::Yuyv,
            "nv12" => PixelFormat::Nv12,
            "grey" | "gray" | "y8" => PixelFormat::Grey,
            "rgb3" | "rgb24" => PixelFormat::Rgb3,
            "mjpg" | "mjpeg" | "jpeg" => PixelFormat::Mjpeg,
            _ => return None,
        };
        Some(format)
    }

    /// Bytes of one row of `width` pixels without padding (the luma plane for NV12);
    /// `None` for MJPEG, whose buffers have no rows, or on overflow.
    pub fn row_bytes(self, width: u32) -> Option<usize> {
        let w = width as usize;
        match self {
            // Pixel pairs: an odd width still occupies a whole final pair.
            PixelFormat::Yuyv => w.div_ceil(2).checked_mul(4),
            // The UV plane shares the luma stride and holds whole U/V pairs.
            PixelFormat::Nv12 => Some(w.div_ceil(2) * 2),
            PixelFormat::Grey => Some(w),
            PixelFormat::Rgb3 => w.checked_mul(3),
            PixelFormat::Mjpeg => None,
        }
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.fourcc();
        write!(f, "{}", String::from_utf8_lossy(&code))
    }
}

/// How a buffer is laid out, as negotiated with the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes from the start of one row to the next (V4L2 `bytesperline`; for NV12 the
    /// luma stride, which the UV plane shares). 0 means unpadded rows.
    pub bytesperline: u32,
}

impl Layout {
    /// An unpadded layout.
    pub fn packed(format: PixelFormat, width: u32, height: u32) -> Layout {
        Layout { format, width, height, bytesperline: 0 }
    }

    /// The row stride in bytes, after checking the layout is usable.
    fn stride(&self, source_name: &str) -> Result<usize, CaptureError> {
        let config = |reason: String| CaptureError::Config { source_name: source_name.to_string(), reason };
        if self.width == 0 || self.height == 0 || self.width > MAX_SIDE || self.height > MAX_SIDE {
            return Err(config(format!("{} frame size {}x{} is outside 1..={MAX_SIDE}", self.format, self.width, self.height)));
        }
        let row = self.format.row_bytes(self.width).unwrap_or(0);
        if self.bytesperline == 0 {
            return Ok(row);
        }
        let stride = self.bytesperline as usize;
        if stride < row {
            return Err(config(format!("{} bytesperline {stride} is shorter than a {}-pixel row ({row} bytes)", self.format, self.width)));
        }
        Ok(stride)
    }

    /// The fewest bytes a buffer in this layout can hold: every row at its stride except
    /// the last, which needs only its pixels (drivers may trim the final padding).
    pub fn min_len(&self) -> Option<usize> {
        let stride = self.stride("").ok()?;
        let row = self.format.row_bytes(self.width)?;
        let h = self.height as usize;
        let plane = stride.checked_mul(h - 1)?.checked_add(row)?;
        match self.format {
            PixelFormat::Nv12 => {
                let uv_row = (self.width as usize).div_ceil(2) * 2;
                let uv_rows = h.div_ceil(2);
                stride.checked_mul(h)?.checked_add(stride.checked_mul(uv_rows - 1)?)?.checked_add(uv_row)
            }
            _ => Some(plane),
        }
    }
}

/// One pixel, BT.601 limited range, ffmpeg's coefficients (see the module doc).
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = 76309 * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |x: i32| ((x + 32768) >> 16).clamp(0, 255) as u8;
    [clamp(c + 104597 * e), clamp(c - 25675 * d - 53279 * e), clamp(c + 132201 * d)]
}

/// Converts one buffer (`data` is the first `bytesused` bytes) into an RGB frame.
///
/// `source_name` names the camera or file in errors. A short buffer or corrupt JPEG is a
/// `BadFrame`; an impossible layout (zero size, stride shorter than a row) is a `Config`.
pub fn convert(source_name: &str, layout: &Layout, data: &[u8]) -> Result<Frame, CaptureError> {
    let stride = layout.stride(source_name)?;
    if layout.format == PixelFormat::Mjpeg {
        let frame = decode_jpeg(source_name, data)?;
        if frame.dimensions() != (layout.width, layout.height) {
            return Err(bad(
                source_name,
                format!("MJPG frame is {}x{}, negotiated {}x{}", frame.width(), frame.height(), layout.width, layout.height),
            ));
        }
        return Ok(frame);
    }
    let need = layout.min_len().ok_or_else(|| CaptureError::Config {
        source_name: source_name.to_string(),
        reason: format!("{} frame {}x{} overflows memory", layout.format, layout.width, layout.height),
    })?;
    if data.len() < need {
        return Err(bad(
            source_name,
            format!(
                "{} {}x{} buffer has {} bytes, needs at least {need} (bytesperline {stride})",
                layout.format,
                layout.width,
                layout.height,
                data.len()
            ),
        ));
    }
    let (w, h) = (layout.width as usize, layout.height as usize);
    let mut out = vec![0u8; w * h * 3];
    // `need` was checked above, so every slice below is in bounds.
    match layout.format {
        PixelFormat::Yuyv => {
            for (y, dst) in out.chunks_exact_mut(w * 3).enumerate() {
                let src = &data[y * stride..];
                for (x, px) in dst.chunks_exact_mut(3).enumerate() {
                    let pair = &src[(x / 2) * 4..(x / 2) * 4 + 4];
                    px.copy_from_slice(&yuv_to_rgb(pair[(x % 2) * 2], pair[1], pair[3]));
                }
            }
        }
        PixelFormat::Nv12 => {
            let uv_plane = &data[stride * h..];
            for (y, dst) in out.chunks_exact_mut(w * 3).enumerate() {
                let luma = &data[y * stride..];
                let uv = &uv_plane[(y / 2) * stride..];
                for (x, px) in dst.chunks_exact_mut(3).enumerate() {
                    let c = (x / 2) * 2;
                    px.copy_from_slice(&yuv_to_rgb(luma[x], uv[c], uv[c + 1]));
                }
            }
        }
        PixelFormat::Grey => {
            for (y, dst) in out.chunks_exact_mut(w * 3).enumerate() {
                let src = &data[y * stride..y * stride + w];
                for (px, &l) in dst.chunks_exact_mut(3).zip(src) {
                    px.fill(l);
                }
            }
        }
        PixelFormat::Rgb3 => {
            for (y, dst) in out.chunks_exact_mut(w * 3).enumerate() {
                dst.copy_from_slice(&data[y * stride..y * stride + w * 3]);
            }
        }
        PixelFormat::Mjpeg => {}
    }
    Frame::from_raw(layout.width, layout.height, out).ok_or_else(|| bad(source_name, "frame buffer size mismatch".to_string()))
}

/// Decodes one JPEG frame (an MJPEG buffer, or a frame of a replayed stream); a corrupt one
/// is a `BadFrame` naming the source.
pub fn decode_jpeg(source_name: &str, data: &[u8]) -> Result<Frame, CaptureError> {
    jpeg::decode_frame(data).map_err(|e| bad(source_name, e.to_string()))
}

fn bad(source_name: &str, reason: String) -> CaptureError {
    CaptureError::BadFrame { source_name: source_name.to_string(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{capture_fixture as fixture, pixel_diff as diff};

    const W: u32 = 140;
    const H: u32 = 160;

    fn convert_fixture(format: PixelFormat, raw: &str) -> Frame {
        convert("test", &Layout::packed(format, W, H), &fixture(raw)).expect("fixture converts")
    }

    /// Copies an unpadded buffer into one whose rows are `pad` bytes longer, padding
    /// filled with a value that would show if it were read as pixels.
    fn pad_rows(data: &[u8], row: usize, rows: usize, pad: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for r in data.chunks(row).take(rows) {
            out.extend_from_slice(r);
            out.extend(std::iter::repeat_n(0xA5, pad));
        }
        out
    }

    #[test]
    fn reference_colours() {
        assert_eq!(yuv_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(yuv_to_rgb(235, 128, 128), [255, 255, 255]);
        assert_eq!(yuv_to_rgb(126, 128, 128), [128, 128, 128]);
        // BT.601 75% red bar (EBU colour bars: Y 65, Cb 100, Cr 212 → 191, 0, 0).
        let [r, g, b] = yuv_to_rgb(65, 100, 212);
        assert!(r.abs_diff(191) <= 1 && g <= 1 && b <= 1, "{r} {g} {b}");
        // Out-of-gamut values clamp instead of wrapping.
        assert_eq!(yuv_to_rgb(255, 255, 255)[0], 255);
        assert_eq!(yuv_to_rgb(0, 0, 0)[0], 0);
    }

    #[test]
    fn yuyv_matches_ffmpeg() {
        let got = convert_fixture(PixelFormat::Yuyv, "face.yuyv422");
        let (max, mean) = diff(got.as_raw(), &fixture("face.yuyv422.exact.rgb"));
        assert!(max <= 1 && mean < 0.02, "vs swscale exact: max {max} mean {mean}");
        let (max, mean) = diff(got.as_raw(), &fixture("face.yuyv422.default.rgb"));
        assert!(max <= 3 && mean < 2.0, "vs swscale default: max {max} mean {mean}");
    }

    #[test]
    fn nv12_matches_ffmpeg() {
        let got = convert_fixture(PixelFormat::Nv12, "face.nv12");
        let (max, mean) = diff(got.as_raw(), &fixture("face.nv12.exact.rgb"));
        assert!(max <= 1 && mean < 0.02, "vs swscale exact: max {max} mean {mean}");
        // swscale's default interpolates chroma vertically; the difference is at colour edges.
        let (max, mean) = diff(got.as_raw(), &fixture("face.nv12.default.rgb"));
        assert!(max <= 12 && mean < 2.0, "vs swscale default: max {max} mean {mean}");
    }

    #[test]
    fn grey_matches_ffmpeg_exactly() {
        let got = convert_fixture(PixelFormat::Grey, "face.gray");
        assert_eq!(diff(got.as_raw(), &fixture("face.gray.default.rgb")).0, 0);
    }

    #[test]
    fn rgb3_is_copied() {
        let got = convert_fixture(PixelFormat::Rgb3, "face.rgb");
        assert_eq!(got.as_raw(), &fixture("face.rgb"));
    }

    #[test]
    fn mjpeg_matches_ffmpeg_decode() {
        let got = convert_fixture(PixelFormat::Mjpeg, "face.mjpg");
        // Two JPEG decoders (IDCT and chroma upsampling differ), not two colour formulas.
        let (max, mean) = diff(got.as_raw(), &fixture("face.mjpg.default.rgb"));
        assert!(max <= MJPEG_MAX_DIFF && mean < 0.2, "vs ffmpeg's decoder: max {max} mean {mean}");
    }
    const MJPEG_MAX_DIFF: u8 = 4;

    /// The JPEG without its DHT (Huffman table) segments, as UVC cameras send MJPEG.
    fn without_huffman_tables(jpeg: &[u8]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        let mut i = 2;
        while jpeg[i + 1] != 0xDA {
            let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
            if jpeg[i + 1] != 0xC4 {
                out.extend_from_slice(&jpeg[i..i + 2 + len]);
            }
            i += 2 + len;
        }
        out.extend_from_slice(&jpeg[i..]);
        out
    }

    #[test]
    fn mjpeg_without_huffman_tables_decodes_as_uvc_cameras_send_it() {
        let full = fixture("face.mjpg");
        let stripped = without_huffman_tables(&full);
        assert!(stripped.len() < full.len(), "fixture has DHT segments to strip");
        let got = convert("cam", &Layout::packed(PixelFormat::Mjpeg, W, H), &stripped).expect("decodes");
        let (max, mean) = diff(got.as_raw(), &fixture("face.mjpg.default.rgb"));
        assert!(max <= MJPEG_MAX_DIFF && mean < 0.2, "vs ffmpeg's decoder: max {max} mean {mean}");
    }

    #[test]
    fn padded_strides_give_the_unpadded_result() {
        let cases = [
            (PixelFormat::Yuyv, "face.yuyv422", W as usize * 2, H as usize, 0),
            (PixelFormat::Grey, "face.gray", W as usize, H as usize, 0),
            (PixelFormat::Rgb3, "face.rgb", W as usize * 3, H as usize, 0),
            (PixelFormat::Nv12, "face.nv12", W as usize, H as usize, H as usize / 2),
        ];
        for (format, raw, row, rows, chroma_rows) in cases {
            let plain = convert_fixture(format, raw);
            let data = fixture(raw);
            for pad in [1, 12, 64] {
                let mut padded = pad_rows(&data, row, rows, pad);
                padded.extend(pad_rows(&data[row * rows..], row, chroma_rows, pad));
                let layout = Layout { format, width: W, height: H, bytesperline: (row + pad) as u32 };
                let got = convert("test", &layout, &padded).expect("padded converts");
                assert_eq!(got, plain, "{format} with {pad} bytes of padding");
                // Drivers may leave out the padding after the final row.
                let trimmed = &padded[..padded.len() - pad];
                assert_eq!(convert("test", &layout, trimmed).expect("trimmed converts"), plain);
            }
        }
    }

    #[test]
    fn odd_sizes_use_the_last_pair_and_block() {
        // 3x3 YUYV: two pairs a row, the second pair's Y1 unused.
        let row = [16, 128, 235, 128, 81, 90, 0, 240];
        let data: Vec<u8> = row.iter().copied().cycle().take(24).collect();
        let f = convert("t", &Layout::packed(PixelFormat::Yuyv, 3, 3), &data).expect("converts");
        assert_eq!(f.get_pixel(0, 2).0, [0, 0, 0]);
        assert_eq!(f.get_pixel(1, 2).0, [255, 255, 255]);
        assert_eq!(f.get_pixel(2, 2).0, yuv_to_rgb(81, 90, 240));
        // 3x3 NV12: luma rows at the even stride of 4 bytes, then two UV rows of two pairs.
        let mut nv = vec![126u8; 12];
        nv.extend([128, 128, 90, 240, 128, 128, 90, 240]);
        let f = convert("t", &Layout::packed(PixelFormat::Nv12, 3, 3), &nv).expect("converts");
        assert_eq!(f.get_pixel(0, 2).0, [128, 128, 128]);
        assert_eq!(f.get_pixel(2, 2).0, yuv_to_rgb(126, 90, 240));
    }

    #[test]
    fn short_buffers_are_bad_frames_naming_the_source() {
        for (format, raw) in [
            (PixelFormat::Yuyv, "face.yuyv422"),
            (PixelFormat::Nv12, "face.nv12"),
            (PixelFormat::Grey, "face.gray"),
            (PixelFormat::Rgb3, "face.rgb"),
        ] {
            let data = fixture(raw);
            for len in [0, 1, data.len() / 2, data.len() - 1] {
                match convert("/dev/video7", &Layout::packed(format, W, H), &data[..len]) {
                    Err(e @ CaptureError::BadFrame { .. }) => {
                        let msg = e.to_string();
                        assert!(msg.contains("/dev/video7") && msg.contains(&format!("{} bytes", len)), "{msg}");
                    }
                    other => panic!("{format} with {len} bytes: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn impossible_layouts_are_config_errors() {
        let data = fixture("face.gray");
        for layout in [
            Layout::packed(PixelFormat::Grey, 0, H),
            Layout::packed(PixelFormat::Grey, W, 0),
            Layout::packed(PixelFormat::Grey, MAX_SIDE + 1, 1),
            Layout { format: PixelFormat::Yuyv, width: W, height: H, bytesperline: W * 2 - 1 },
        ] {
            assert!(matches!(convert("cam", &layout, &data), Err(CaptureError::Config { .. })), "{layout:?}");
        }
    }

    #[test]
    fn corrupt_mjpeg_is_a_bad_frame() {
        let good = fixture("face.mjpg");
        let mut flipped = good.clone();
        // Garbage in the middle of the headers/scan, keeping both markers.
        for b in &mut flipped[20..200] {
            *b = 0xFF;
        }
        let mut padded = good.clone();
        padded.extend([0u8; 100]);
        let layout = Layout::packed(PixelFormat::Mjpeg, W, H);
        assert!(convert("cam", &layout, &padded).is_ok(), "zero padding after the end marker is accepted");
        for (what, data) in [
            ("empty", &[][..]),
            ("truncated", &good[..good.len() / 2]),
            ("not a jpeg", &fixture("face.gray")[..]),
            ("garbled headers", &flipped[..]),
        ] {
            match convert("cam", &layout, data) {
                Err(CaptureError::BadFrame { source_name, .. }) => assert_eq!(source_name, "cam"),
                other => panic!("{what}: {other:?}"),
            }
        }
        let wrong_size = Layout::packed(PixelFormat::Mjpeg, W * 2, H);
        assert!(matches!(convert("cam", &wrong_size, &good), Err(CaptureError::BadFrame { .. })));
    }

    #[test]
    fn formats_parse_from_fourcc_and_ffmpeg_names() {
        for f in PixelFormat::PREFERENCE {
            assert_eq!(PixelFormat::from_fourcc(f.fourcc()), Some(f));
            assert_eq!(PixelFormat::parse(&f.to_string()), Some(f));
        }
        assert_eq!(PixelFormat::parse("yuyv422"), Some(PixelFormat::Yuyv));
        assert_eq!(PixelFormat::parse("gray"), Some(PixelFormat::Grey));
        assert_eq!(PixelFormat::parse("rgb24"), Some(PixelFormat::Rgb3));
        assert_eq!(PixelFormat::parse("H264"), None);
        assert_eq!(PixelFormat::from_fourcc(*b"H264"), None);
    }
}
