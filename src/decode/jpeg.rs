//! JPEG at the byte level, for every path that meets one: still photos ([`super::decode_file`]),
//! MJPEG camera buffers and replayed MJPEG streams. Markers are found by walking the segment
//! structure, the Huffman tables UVC cameras leave out are restored, and every decode is held
//! to [`MAX_SIDE`].

use super::MAX_SIDE;
use crate::frame::Frame;

/// Why a JPEG frame (an MJPEG buffer or a replayed frame) could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("MJPG buffer of {len} bytes has no JPEG start marker")]
    NoStart { len: usize },
    #[error("MJPG buffer of {len} bytes is truncated (no end-of-image marker)")]
    Truncated { len: usize },
    #[error("corrupt MJPG frame: {0}")]
    Corrupt(#[source] image::ImageError),
}

/// Decodes one JPEG frame: an MJPEG camera buffer (`bytesused` bytes) or a frame of a replay.
///
/// A buffer without the end-of-image marker is rejected up front: truncated USB transfers
/// are the common corruption, and a decoder may otherwise return a half-grey picture.
pub fn decode_frame(data: &[u8]) -> Result<Frame, FrameError> {
    if data.len() < 4 || data[..2] != [0xFF, 0xD8] {
        return Err(FrameError::NoStart { len: data.len() });
    }
    // Some cameras pad `bytesused` with zeros after the end marker.
    let end = data.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    if end < 4 || data[end - 2..end] != [0xFF, 0xD9] {
        return Err(FrameError::Truncated { len: data.len() });
    }
    let data = &data[..end];
    check_data_size(data).map_err(|_| FrameError::Truncated { len: data.len() })?;
    let completed = with_standard_huffman_tables(data);
    let data = completed.as_deref().unwrap_or(data);
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(data), image::ImageFormat::Jpeg);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    let image = reader.decode().map_err(FrameError::Corrupt)?;
    Ok(image.into_rgb8())
}

/// Refuse a JPEG whose compressed data is far too short for the size its header declares
/// ([`super::MAX_JPEG_PIXELS_PER_BYTE`]): the decoder would fill the missing scan with grey,
/// spending time and memory on a picture that is not there. Headers it cannot read pass:
/// the decoder reports those.
pub fn check_data_size(jpeg: &[u8]) -> Result<(), String> {
    let Ok((w, h)) = image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg).into_dimensions() else {
        return Ok(());
    };
    if w > MAX_SIDE || h > MAX_SIDE {
        // Refused as too large by the decoder's limits, which says so more plainly.
        return Ok(());
    }
    let pixels = u64::from(w) * u64::from(h);
    let needed = pixels / super::MAX_JPEG_PIXELS_PER_BYTE;
    if (jpeg.len() as u64) < needed {
        return Err(format!("{w}x{h} JPEG has only {} bytes of data, at least {needed} expected (truncated or forged header)", jpeg.len()));
    }
    Ok(())
}

/// UVC cameras leave the Huffman tables out of MJPEG frames (the UVC MJPEG payload spec
/// fixes them to JPEG Annex K.3), and the `image` decoder requires them. Returns the frame
/// with the standard tables inserted before its first scan when it has no DHT segment;
/// `None` when it has its own or its headers cannot be walked (the decoder reports why).
fn with_standard_huffman_tables(jpeg: &[u8]) -> Option<Vec<u8>> {
    let mut i = 2;
    loop {
        let marker = *jpeg.get(i + 1)?;
        if jpeg[i] != 0xFF {
            return None;
        }
        match marker {
            0xC4 => return None,
            0xDA => break,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([*jpeg.get(i + 2)?, *jpeg.get(i + 3)?]));
        i += 2 + len;
    }
    let mut out = Vec::with_capacity(jpeg.len() + STANDARD_DHT.len());
    out.extend_from_slice(&jpeg[..i]);
    out.extend_from_slice(&STANDARD_DHT);
    out.extend_from_slice(&jpeg[i..]);
    Some(out)
}

/// The four JPEG Annex K.3 Huffman tables as one DHT segment (the bytes libjpeg's
/// `std_huff_tables` and ffmpeg's `-huffman default` write).
#[rustfmt::skip]
const STANDARD_DHT: [u8; 420] = [
    0xFF, 0xC4, 0x01, 0xA2, // DHT, length 418
    // DC luminance: class/id, code counts by length 1..=16, then the 12 symbols.
    0x00,
    0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
    // DC chrominance: class/id, code counts by length 1..=16, then the 12 symbols.
    0x01,
    0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B,
    // AC luminance: class/id, code counts by length 1..=16, then the 162 symbols.
    0x10,
    0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125,
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
    0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5,
    0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2,
    0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA,
    // AC chrominance: class/id, code counts by length 1..=16, then the 162 symbols.
    0x11,
    0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119,
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0,
    0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16, 0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26,
    0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5,
    0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3,
    0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA,
    0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8,
    0xF9, 0xFA,
];

/// Offset of the next JPEG start marker (`FF D8`) after the first byte.
pub fn find_soi(buf: &[u8]) -> Option<usize> {
    buf.windows(2).skip(1).position(|w| w == [0xFF, 0xD8]).map(|i| i + 1)
}

/// Length of the JPEG at the start of `buf` (which begins with `FF D8`): `Some(len)`
/// through its end marker, `None` if `buf` ends first, or why it is malformed.
///
/// Walks the marker segments by their lengths and scans only entropy-coded data for
/// markers, so an `FF D9` inside a header segment (an EXIF thumbnail) does not end it.
pub fn image_len(buf: &[u8]) -> Result<Option<usize>, &'static str> {
    let mut i = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        while i < buf.len() && buf[i] == 0xFF && buf.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let (Some(&ff), Some(&marker)) = (buf.get(i), buf.get(i + 1)) else {
            return Ok(None);
        };
        if ff != 0xFF {
            return Err("expected a marker");
        }
        match marker {
            0xD9 => return Ok(Some(i + 2)),
            0xD8 => return Err("start marker inside a frame"),
            // Standalone markers without a length.
            0x01 | 0xD0..=0xD7 => {
                i += 2;
                continue;
            }
            _ => {}
        }
        let Some(len) = buf.get(i + 2..i + 4).map(|s| usize::from(u16::from_be_bytes([s[0], s[1]]))) else {
            return Ok(None);
        };
        if len < 2 {
            return Err("segment length below 2");
        }
        i += 2 + len;
        if marker == 0xDA {
            // Entropy-coded data: runs to the next FF that is not a stuffed 00 or a restart.
            loop {
                match buf.get(i..i + 2) {
                    None => return Ok(None),
                    Some([0xFF, 0x00]) | Some([0xFF, 0xD0..=0xD7]) => i += 2,
                    Some([0xFF, _]) => break,
                    Some(_) => i += 1,
                }
            }
        }
    }
}

/// Whether an end-of-image marker (FF D9) follows the last start-of-scan marker (FF DA).
/// Entropy-coded data stuffs every FF byte, so neither marker can appear inside a scan;
/// data appended after the image (motion photos) does not matter.
pub fn has_end(bytes: &[u8]) -> bool {
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_sos {
        Some(sos) => bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9]),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::capture_fixture as fixture;

    #[test]
    fn image_len_walks_segments() {
        let one = fixture("face.mjpg");
        assert_eq!(image_len(&one), Ok(Some(one.len())));
        assert_eq!(image_len(&one[..one.len() - 1]), Ok(None));
        assert_eq!(image_len(&one[..3]), Ok(None));
        // An APP1 segment whose payload holds an end marker must not end the image.
        let mut with_app = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9];
        with_app.extend_from_slice(&one[2..]);
        assert_eq!(image_len(&with_app), Ok(Some(with_app.len())));
        assert!(image_len(&[0xFF, 0xD8, 0x12, 0x34]).is_err());
        assert!(image_len(&[0xFF, 0xD8, 0xFF, 0xD8]).is_err());
    }

    #[test]
    fn start_markers_are_found_after_the_first_byte() {
        assert_eq!(find_soi(&[0xFF, 0xD8, 0x00, 0xFF, 0xD8]), Some(3));
        assert_eq!(find_soi(&[0xFF, 0xD8, 0x00]), None);
    }
}
