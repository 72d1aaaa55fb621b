//! Replayed recordings: a [`FrameSource`] over a file of concatenated JPEG frames (an
//! MJPEG stream as `ffmpeg -f mjpeg` writes it) or of raw frames in one pixel format.
//!
//! Timestamps are always `sequence / fps`, so a replay gives the same timestamps whether
//! it is paced in real time or read as fast as possible; pacing only decides whether
//! `next_frame` waits for them.

use super::config::SourceType;
use super::convert::{self, Layout, PixelFormat};
use super::{CaptureError, CapturedFrame, FrameSource};
use crate::decode::jpeg::{find_soi, image_len};
use crate::schema::{self, Invalid, Key};
use crate::shutdown::Shutdown;
use serde::{Deserialize, Deserializer};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `[source] type = "replay"`: a recorded stream, concatenated JPEG frames (MJPEG) or raw frames.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The recording.
    pub path: PathBuf,
    /// `mjpeg` (concatenated JPEG frames) or a raw pixel format: `yuyv`, `nv12`, `grey`, `rgb3`
    /// (or ffmpeg's names).
    #[serde(default = "default_format")]
    pub format: FileFormat,
    /// Frame width, for raw formats (at most 16384).
    #[serde(default = "default_size")]
    pub width: u32,
    /// Frame height, for raw formats (at most 16384).
    #[serde(default = "default_size")]
    pub height: u32,
    /// Frames per second of the recording (0.001..=1000).
    #[serde(default = "default_fps")]
    pub fps: f64,
    /// Play at `fps` in real time; off, as fast as the pipeline takes frames.
    #[serde(default = "default_realtime")]
    pub realtime: bool,
}

fn default_format() -> FileFormat {
    FileFormat::Mjpeg
}
fn default_size() -> u32 {
    0
}
fn default_fps() -> f64 {
    15.0
}
fn default_realtime() -> bool {
    false
}

/// What a recording holds, as the config names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Concatenated JPEG frames (`mjpeg`; `mjpg` and `jpeg` say the same).
    Mjpeg,
    /// Raw frames in one pixel format.
    Raw(PixelFormat),
}

impl<'de> Deserialize<'de> for FileFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match PixelFormat::parse(&name) {
            Some(PixelFormat::Mjpeg) => Ok(FileFormat::Mjpeg),
            Some(raw) => Ok(FileFormat::Raw(raw)),
            None => Err(serde::de::Error::custom(format!("unknown replay format {name:?} (mjpeg, yuyv, nv12, grey, rgb3)"))),
        }
    }
}

impl SourceType for Config {
    fn validate(&self, key: &Key) -> Result<(), Invalid> {
        schema::path(&key.field("path"), &self.path)?;
        schema::fps(&key.field("fps"), self.fps)?;
        if matches!(self.format, FileFormat::Raw(_)) && (self.width == 0 || self.height == 0) {
            return Err(key.field("width").invalid(format!("and {} are needed for raw replay formats", key.field("height"))));
        }
        let max = crate::decode::MAX_SIDE;
        schema::within(&key.field("width"), self.width, 0, max)?;
        schema::within(&key.field("height"), self.height, 0, max)
    }

    fn open(&self, _shutdown: &Shutdown) -> Result<Box<dyn FrameSource>, CaptureError> {
        let format = match self.format {
            FileFormat::Mjpeg => ReplayFormat::Mjpeg,
            FileFormat::Raw(pf) => ReplayFormat::Raw(Layout::packed(pf, self.width, self.height)),
        };
        Ok(Box::new(ReplaySource::open(&self.path, format, self.fps, self.realtime)?))
    }

    fn live(&self) -> bool {
        self.realtime
    }
}

/// What the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayFormat {
    /// Concatenated JPEG images; each may have its own size.
    Mjpeg,
    /// Raw frames back to back, each `frame_len` bytes of this layout.
    Raw(Layout),
}

/// A file played back as a camera.
pub struct ReplaySource {
    name: String,
    reader: BufReader<File>,
    format: ReplayFormat,
    /// Frame period, from the configured fps.
    period: Duration,
    /// Wait until each frame's timestamp (real-time playback) or not.
    paced: bool,
    started: Option<Instant>,
    sequence: u64,
    /// MJPEG bytes read but not yet returned as a frame.
    pending: Vec<u8>,
    eof: bool,
    /// Skipping a corruption: garbage after a bad frame belongs to it and is not counted
    /// again, until the next good frame.
    skipping: bool,
}

/// Bytes read from the file at a time while looking for the end of a JPEG.
const CHUNK: usize = 64 * 1024;

/// A JPEG larger than this is taken as a broken stream rather than buffered further.
const MAX_JPEG: usize = 64 * 1024 * 1024;

impl ReplaySource {
    /// Opens `path`. `fps` sets the timestamps (`sequence / fps`) and, when `paced`, the
    /// playback rate. A missing file is `Unavailable`; a bad fps or layout is `Config`.
    pub fn open(path: &Path, format: ReplayFormat, fps: f64, paced: bool) -> Result<ReplaySource, CaptureError> {
        let name = path.display().to_string();
        let config = |reason: String| CaptureError::Config { source_name: name.clone(), reason };
        schema::fps(&Key::root().field("fps"), fps).map_err(|e| config(e.to_string()))?;
        if let ReplayFormat::Raw(layout) = format {
            if layout.format == PixelFormat::Mjpeg {
                return Err(config("raw replay cannot hold MJPG; use the mjpeg replay format".into()));
            }
            if frame_len(&layout).is_none() {
                return Err(config(format!(
                    "unusable raw layout: {} {}x{} with {} bytes a row (width and height must be above 0, a row must fit its stride)",
                    layout.format, layout.width, layout.height, layout.bytesperline
                )));
            }
        }
        let file =
            File::open(path).map_err(|e| CaptureError::Unavailable { source_name: name.clone(), reason: format!("cannot open: {e}") })?;
        Ok(ReplaySource {
            name,
            reader: BufReader::new(file),
            format,
            period: Duration::from_secs_f64(1.0 / fps),
            paced,
            started: None,
            sequence: 0,
            pending: Vec::new(),
            eof: false,
            skipping: false,
        })
    }

    fn bad(&self, reason: String) -> CaptureError {
        CaptureError::BadFrame { source_name: self.name.clone(), reason }
    }

    fn read_error(&self, e: std::io::Error) -> CaptureError {
        CaptureError::Unavailable { source_name: self.name.clone(), reason: format!("read failed: {e}") }
    }

    /// The next raw frame's bytes, `None` at a clean end of file.
    fn next_raw(&mut self, layout: &Layout) -> Result<Option<Vec<u8>>, CaptureError> {
        let len = frame_len(layout).unwrap_or(0);
        let mut buf = Vec::with_capacity(len);
        let got = (&mut self.reader).take(len as u64).read_to_end(&mut buf).map_err(|e| self.read_error(e))?;
        if got == 0 {
            return Ok(None);
        }
        if got < len {
            self.eof = true;
            return Err(self.bad(format!("last raw frame is truncated: {got} of {len} bytes")));
        }
        Ok(Some(buf))
    }

    /// The next JPEG's bytes, `None` at a clean end of file. Garbage between frames is
    /// skipped to the next start marker and reported as one bad frame, together with the
    /// broken frame it follows.
    fn next_jpeg(&mut self) -> Result<Option<Vec<u8>>, CaptureError> {
        let next = self.scan_jpeg();
        match &next {
            Ok(Some(_)) => self.skipping = false,
            Err(_) => self.skipping = true,
            Ok(None) => {}
        }
        next
    }

    fn scan_jpeg(&mut self) -> Result<Option<Vec<u8>>, CaptureError> {
        loop {
            if !self.pending.is_empty() && !self.pending.starts_with(&[0xFF, 0xD8]) {
                // Up to the next start marker; all of it at the end of the file, else all but
                // the last byte (it may begin a marker).
                let skip = match find_soi(&self.pending) {
                    Some(soi) => soi,
                    None if self.eof => self.pending.len(),
                    None => self.pending.len() - 1,
                };
                if skip > 0 {
                    self.pending.drain(..skip);
                    if !self.skipping {
                        return Err(self.bad(format!("skipped {skip} bytes that are not a JPEG frame")));
                    }
                    continue;
                }
            }
            if self.pending.starts_with(&[0xFF, 0xD8]) {
                match image_len(&self.pending) {
                    Ok(Some(len)) => return Ok(Some(self.pending.drain(..len).collect())),
                    Ok(None) => {}
                    Err(why) => {
                        // Drop the broken frame up to the next start marker, if one is buffered.
                        let skip = find_soi(&self.pending).unwrap_or(2);
                        self.pending.drain(..skip);
                        return Err(self.bad(format!("corrupt JPEG frame: {why}")));
                    }
                }
                if self.pending.len() > MAX_JPEG {
                    self.pending.drain(..2);
                    return Err(self.bad(format!("JPEG frame has no end within {MAX_JPEG} bytes")));
                }
            }
            if self.eof {
                if self.pending.is_empty() {
                    return Ok(None);
                }
                let left = self.pending.len();
                self.pending.clear();
                return Err(self.bad(format!("last JPEG frame is truncated ({left} bytes)")));
            }
            // Read at least as much as is buffered: a frame with no end in sight is rescanned
            // from its start after each read, and doubling keeps that linear overall.
            let want = CHUNK.max(self.pending.len()).min(MAX_JPEG + CHUNK - self.pending.len().min(MAX_JPEG));
            let read = (&mut self.reader).take(want as u64).read_to_end(&mut self.pending);
            let n = read.map_err(|e| self.read_error(e))?;
            if n < want {
                self.eof = true;
            }
        }
    }
}

impl FrameSource for ReplaySource {
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError> {
        let data = match self.format {
            ReplayFormat::Mjpeg => self.next_jpeg(),
            ReplayFormat::Raw(layout) => self.next_raw(&layout),
        };
        let data = match data {
            Ok(Some(data)) => data,
            Ok(None) => return Ok(None),
            Err(e) => {
                // A bad frame still used a slot in the recording, so the sequence shows a gap.
                self.sequence += 1;
                return Err(e);
            }
        };
        let sequence = self.sequence;
        self.sequence += 1;
        let image = match self.format {
            ReplayFormat::Mjpeg => convert::decode_jpeg(&self.name, &data)?,
            ReplayFormat::Raw(layout) => convert::convert(&self.name, &layout, &data)?,
        };
        let timestamp = self.period.saturating_mul(u32::try_from(sequence).unwrap_or(u32::MAX));
        if self.paced {
            let started = *self.started.get_or_insert_with(Instant::now);
            let due = started + timestamp;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        Ok(Some(CapturedFrame { image, timestamp, sequence }))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Bytes of one whole raw frame: every row at full stride, plus NV12's UV plane.
pub fn frame_len(layout: &Layout) -> Option<usize> {
    let stride = match layout.bytesperline {
        0 => layout.format.row_bytes(layout.width)?,
        s => s as usize,
    };
    layout.min_len()?;
    let h = layout.height as usize;
    let rows = match layout.format {
        PixelFormat::Nv12 => h.checked_add(h.div_ceil(2))?,
        _ => h,
    };
    stride.checked_mul(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{capture_fixture as fixture, pixel_diff as diff};
    use std::io::Write;

    fn temp_file(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(bytes).expect("write temp file");
        f
    }

    fn collect(src: &mut ReplaySource) -> Vec<Result<CapturedFrame, String>> {
        let mut out = Vec::new();
        loop {
            match src.next_frame() {
                Ok(Some(f)) => out.push(Ok(f)),
                Ok(None) => return out,
                Err(e) => out.push(Err(e.to_string())),
            }
            assert!(out.len() < 100, "source never ends");
        }
    }

    const FRAME: usize = 70 * 80 * 3;

    #[test]
    fn mjpeg_stream_by_ffmpeg_plays_every_frame() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/capture/seq.mjpeg");
        let mut src = ReplaySource::open(&path, ReplayFormat::Mjpeg, 10.0, false).expect("opens");
        let frames = collect(&mut src);
        let expected = fixture("seq.mjpeg.default.rgb");
        assert_eq!(frames.len(), 3);
        for (i, f) in frames.into_iter().enumerate() {
            let f = f.expect("frame decodes");
            assert_eq!((f.sequence, f.timestamp), (i as u64, Duration::from_millis(100 * i as u64)));
            assert_eq!(f.image.dimensions(), (70, 80));
            let (max, mean) = diff(f.image.as_raw(), &expected[i * FRAME..(i + 1) * FRAME]);
            assert!(max <= 4 && mean < 0.2, "frame {i} vs ffmpeg: max {max} mean {mean}");
        }
        assert!(src.name().ends_with("seq.mjpeg"));
    }
    use std::path::PathBuf;

    #[test]
    fn raw_yuyv_stream_by_ffmpeg_plays_every_frame() {
        let file = temp_file(&fixture("seq.yuyv422"));
        let layout = Layout::packed(PixelFormat::Yuyv, 70, 80);
        let mut src = ReplaySource::open(file.path(), ReplayFormat::Raw(layout), 25.0, false).expect("opens");
        let frames = collect(&mut src);
        let expected = fixture("seq.yuyv422.exact.rgb");
        assert_eq!(frames.len(), 3);
        for (i, f) in frames.into_iter().enumerate() {
            let f = f.expect("frame converts");
            assert_eq!(f.timestamp, Duration::from_millis(40 * i as u64));
            let (max, _) = diff(f.image.as_raw(), &expected[i * FRAME..(i + 1) * FRAME]);
            assert!(max <= 1, "frame {i}: max {max}");
        }
    }

    #[test]
    fn truncated_raw_tail_is_one_bad_frame() {
        let data = fixture("seq.yuyv422");
        let file = temp_file(&data[..data.len() - 10]);
        let layout = Layout::packed(PixelFormat::Yuyv, 70, 80);
        let mut src = ReplaySource::open(file.path(), ReplayFormat::Raw(layout), 25.0, false).expect("opens");
        let frames = collect(&mut src);
        assert_eq!(frames.len(), 3);
        assert!(frames[..2].iter().all(Result::is_ok));
        assert!(frames[2].as_ref().is_err_and(|e| e.contains("truncated")), "{:?}", frames[2].as_ref().err());
    }

    #[test]
    fn garbage_and_corrupt_frames_are_skipped() {
        let one = fixture("face.mjpg");
        let mut stream = one.clone();
        stream.extend_from_slice(b"not a jpeg at all");
        stream.extend_from_slice(&one);
        // A frame cut short, followed by a good one: the cut frame is reported, not fatal.
        stream.extend_from_slice(&one[..one.len() / 2]);
        stream.extend_from_slice(&one);
        stream.extend_from_slice(&one[..100]);
        let file = temp_file(&stream);
        let mut src = ReplaySource::open(file.path(), ReplayFormat::Mjpeg, 10.0, false).expect("opens");
        let frames = collect(&mut src);
        let ok: Vec<bool> = frames.iter().map(Result::is_ok).collect();
        assert_eq!(ok, [true, false, true, false, true, false], "{frames:?}");
        let seqs: Vec<u64> = frames.iter().flatten().map(|f| f.sequence).collect();
        assert_eq!(seqs, [0, 2, 4]);
    }

    #[test]
    fn each_corruption_is_one_bad_frame() {
        let one = fixture("face.mjpg");
        let mut stream = Vec::new();
        // Frames cut at their middle with garbage after them, frames cut short before the
        // next one, garbage alone: eight corruptions, each between two good frames.
        for i in 0..8 {
            stream.extend_from_slice(&one);
            match i % 3 {
                0 => {
                    stream.extend_from_slice(&one[..one.len() / 2]);
                    stream.extend_from_slice(&vec![0x55; 3 * CHUNK]);
                }
                1 => stream.extend_from_slice(&one[..one.len() / 3]),
                _ => stream.extend_from_slice(&vec![0x55; CHUNK + 7]),
            }
        }
        stream.extend_from_slice(&one);
        let file = temp_file(&stream);
        let mut src = ReplaySource::open(file.path(), ReplayFormat::Mjpeg, 10.0, false).expect("opens");
        let frames = collect(&mut src);
        let bad = frames.iter().filter(|f| f.is_err()).count();
        assert_eq!((frames.len() - bad, bad), (9, 8), "{frames:?}");
    }

    #[test]
    fn paced_replay_waits_for_timestamps() {
        let file = temp_file(&fixture("seq.yuyv422"));
        let layout = Layout::packed(PixelFormat::Yuyv, 70, 80);
        let mut src = ReplaySource::open(file.path(), ReplayFormat::Raw(layout), 40.0, true).expect("opens");
        let start = Instant::now();
        assert_eq!(collect(&mut src).len(), 3);
        // Frames at 0, 25 and 50 ms: the third cannot come before 50 ms.
        assert!(start.elapsed() >= Duration::from_millis(50), "{:?}", start.elapsed());
    }

    #[test]
    fn bad_settings_and_missing_files() {
        let file = temp_file(b"");
        for fps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(ReplaySource::open(file.path(), ReplayFormat::Mjpeg, fps, false), Err(CaptureError::Config { .. })));
        }
        let mjpeg_raw = ReplayFormat::Raw(Layout::packed(PixelFormat::Mjpeg, 10, 10));
        assert!(matches!(ReplaySource::open(file.path(), mjpeg_raw, 10.0, false), Err(CaptureError::Config { .. })));
        let zero = ReplayFormat::Raw(Layout::packed(PixelFormat::Grey, 0, 10));
        assert!(matches!(ReplaySource::open(file.path(), zero, 10.0, false), Err(CaptureError::Config { .. })));
        let missing = Path::new("/nonexistent/clip.mjpeg");
        match ReplaySource::open(missing, ReplayFormat::Mjpeg, 10.0, false) {
            Err(e @ CaptureError::Unavailable { .. }) => assert!(e.to_string().contains("/nonexistent/clip.mjpeg")),
            other => panic!("{:?}", other.err()),
        }
        // An empty file is a replay with no frames.
        let mut src = ReplaySource::open(file.path(), ReplayFormat::Mjpeg, 10.0, false).expect("opens");
        assert!(collect(&mut src).is_empty());
    }

    #[test]
    fn frame_len_counts_padding_and_chroma() {
        assert_eq!(frame_len(&Layout::packed(PixelFormat::Yuyv, 70, 80)), Some(70 * 2 * 80));
        assert_eq!(frame_len(&Layout { format: PixelFormat::Nv12, width: 6, height: 5, bytesperline: 8 }), Some(8 * 8));
        assert_eq!(frame_len(&Layout::packed(PixelFormat::Rgb3, 0, 5)), None);
    }
}
