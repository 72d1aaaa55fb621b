//! JPEG and PNG into [`Frame`]s, in one place: still images here, JPEG frames of cameras and
//! replays in [`jpeg`], the image files of a path list in [`files`]. Every decode is held to
//! [`MAX_SIDE`], so a hostile or broken file gives an error naming it instead of a panic or
//! an out-of-memory abort.

pub mod files;
pub mod jpeg;

use crate::frame::Frame;
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// Largest accepted width or height of any image or frame (files, MJPEG, raw camera
/// layouts); bigger declared sizes are refused before allocating.
pub const MAX_SIDE: u32 = 16_384;
/// Largest decoder allocation.
pub const MAX_ALLOC: u64 = 1 << 30;
/// Largest image file read (a 16384² PNG of noise is ~800 MB, but no camera photo comes
/// near this); checked before reading, and the read itself stops here.
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// Most pixels a JPEG may declare per byte of its file before it is called truncated or
/// forged. A flat image in baseline JPEG costs at least 2 bits per 8×8 block (optimised
/// tables, grey), 256 pixels a byte, so 1:1024 leaves a 4× margin; a file of
/// 53 KB or 144 KB claiming 16384² pixels (1:5000, 1:1800) is refused. Only a near-flat
/// progressive JPEG (end-of-band runs) could legitimately compress further.
pub const MAX_JPEG_PIXELS_PER_BYTE: u64 = 1024;

/// Why an image could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: empty file")]
    Empty { path: PathBuf },
    #[error("{path}: not a JPEG or PNG image")]
    UnknownFormat { path: PathBuf },
    #[error("{path}: image too large ({width}x{height}; at most {MAX_SIDE} px a side)")]
    TooLarge { path: PathBuf, width: u32, height: u32 },
    #[error("{path}: corrupt or truncated image: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    /// A FIFO, a device or a socket: reading it could block forever or never end.
    #[error("{path}: not a regular file")]
    NotAFile { path: PathBuf },
    #[error("{path}: file too large ({bytes} bytes; at most {MAX_FILE_BYTES})")]
    FileTooLarge { path: PathBuf, bytes: u64 },
}

/// Decode a file.
pub fn decode_file(path: &Path) -> Result<Frame, DecodeError> {
    let bytes = read_image_file(path)?;
    decode_bytes(&bytes, path)
}

/// Read a file that should be an image: only a regular file (the metadata is read without
/// opening it, so a FIFO cannot block), at most [`MAX_FILE_BYTES`].
pub fn read_image_file(path: &Path) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read;
    let io = |source| DecodeError::Io { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(DecodeError::NotAFile { path: path.to_owned() });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(DecodeError::FileTooLarge { path: path.to_owned(), bytes: meta.len() });
    }
    let mut bytes = Vec::new();
    // The file may grow (or be swapped) between the check and the read: the read is capped too.
    std::fs::File::open(path).and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DecodeError::FileTooLarge { path: path.to_owned(), bytes: bytes.len() as u64 });
    }
    Ok(bytes)
}

/// Decode bytes; `path` only names the input in errors.
pub fn decode_bytes(bytes: &[u8], path: &Path) -> Result<Frame, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty { path: path.to_owned() });
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (image::ImageFormat::Jpeg | image::ImageFormat::Png)) => f,
        _ => return Err(DecodeError::UnknownFormat { path: path.to_owned() }),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let corrupt = |reason: String| DecodeError::Corrupt { path: path.to_owned(), reason };
    // The JPEG decoder fills a cut-off scan with grey instead of failing; a photo missing
    // its end would then be classified as if it were whole.
    if format == image::ImageFormat::Jpeg && !jpeg::has_end(bytes) {
        return Err(corrupt("JPEG ends before its end-of-image marker (truncated file)".into()));
    }
    if format == image::ImageFormat::Jpeg {
        jpeg::check_data_size(bytes).map_err(corrupt)?;
    }
    match reader.decode() {
        Ok(img) => {
            let rgb = img.into_rgb8();
            if rgb.width() == 0 || rgb.height() == 0 {
                return Err(corrupt("zero-sized image".into()));
            }
            Ok(rgb)
        }
        Err(image::ImageError::Limits(_)) => {
            let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().unwrap_or((0, 0));
            Err(DecodeError::TooLarge { path: path.to_owned(), width, height })
        }
        Err(e) => Err(corrupt(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(w, h, image::Rgb([1, 2, 3]))
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .expect("encode png");
        out
    }

    #[test]
    fn decodes_a_png_and_names_the_file_in_every_error() {
        let p = Path::new("x.png");
        assert_eq!(decode_bytes(&png(3, 2), p).expect("decode").dimensions(), (3, 2));
        for (bytes, needle) in [
            (Vec::new(), "empty file"),
            (b"hello, not an image".to_vec(), "not a JPEG or PNG"),
            (png(3, 2)[..40].to_vec(), "corrupt or truncated"),
        ] {
            let e = decode_bytes(&bytes, p).expect_err("must fail").to_string();
            assert!(e.starts_with("x.png: ") && e.contains(needle), "{e}");
        }
    }

    #[test]
    fn a_jpeg_cut_short_is_reported_as_truncated() {
        let mut jpeg = Vec::new();
        image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 7]))
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .expect("encode jpeg");
        assert!(jpeg::has_end(&jpeg));
        decode_bytes(&jpeg, Path::new("whole.jpg")).expect("whole jpeg decodes");
        let cut = &jpeg[..jpeg.len() - 40];
        assert!(!jpeg::has_end(cut));
        let e = decode_bytes(cut, Path::new("cut.jpg")).expect_err("truncated").to_string();
        assert!(e.starts_with("cut.jpg: corrupt or truncated") && e.contains("end-of-image"), "{e}");
    }

    #[test]
    fn a_jpeg_declaring_far_more_pixels_than_its_data_holds_is_refused() {
        let mut jpeg = Vec::new();
        image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 7]))
            .write_to(&mut Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
            .expect("encode jpeg");
        // SOF0: FF C0, length, precision, then height and width.
        let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("SOF0");
        jpeg[sof + 5..sof + 9].copy_from_slice(&[0x40, 0x00, 0x40, 0x00]);
        let e = decode_bytes(&jpeg, Path::new("forged.jpg")).expect_err("forged").to_string();
        assert!(e.starts_with("forged.jpg: corrupt or truncated image: 16384x16384 JPEG has only"), "{e}");
        let e = jpeg::decode_frame(&jpeg).expect_err("forged frame").to_string();
        assert!(e.contains("truncated"), "{e}");
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let e = decode_file(dir.path()).expect_err("a directory").to_string();
        assert!(e.ends_with(": not a regular file"), "{e}");
        #[cfg(unix)]
        {
            let link = dir.path().join("zero.jpg");
            std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
            let e = decode_file(&link).expect_err("/dev/zero").to_string();
            assert_eq!(e, format!("{}: not a regular file", link.display()));
        }
    }

    /// CRC-32 (ISO-HDLC, as PNG chunks use), bit by bit: the test patches a header and must
    /// keep it valid, or the decoder stops at the checksum and the size limit never runs.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn a_huge_declared_size_is_refused_before_allocating() {
        // A PNG whose IHDR claims 100000 x 100000 pixels, its CRC recomputed so the header
        // is valid and only the size is wrong.
        let mut b = png(1, 1);
        assert_eq!(&b[12..16], b"IHDR");
        b[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        b[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&b[12..29]);
        b[29..33].copy_from_slice(&crc.to_be_bytes());
        let e = decode_bytes(&b, Path::new("big.png")).expect_err("must fail").to_string();
        assert!(e.contains("too large (100000x100000; at most 16384 px a side)"), "{e}");
    }

    #[test]
    fn the_crc_helper_matches_a_png_written_by_the_image_crate() {
        let b = png(3, 2);
        assert_eq!(crc32(&b[12..29]).to_be_bytes(), b[29..33]);
    }
}
