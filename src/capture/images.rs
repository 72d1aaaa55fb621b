//! A `FrameSource` over still images (a file or a directory, sorted), played as a video at
//! a fixed rate. Timestamps are `index / fps`, so runs are reproducible; with pacing on,
//! frames are also released in real time.

use super::config::SourceType;
use super::{CaptureError, CapturedFrame, FrameSource};
use crate::decode::decode_file;
use crate::decode::files::expand_inputs;
use crate::schema::{self, Invalid, Key};
use crate::shutdown::Shutdown;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `[source] type = "images"`: still images (a file or a directory, sorted), played as a video.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Image file or directory (searched recursively for .jpg, .jpeg, .png).
    #[serde(default = "default_path")]
    pub path: PathBuf,
    /// Frames per second the images are played at (timestamps are `index / fps`), within
    /// 0.001..=1000.
    #[serde(default = "default_fps")]
    pub fps: f64,
    /// Start again after the last image instead of ending.
    #[serde(default = "default_repeat")]
    pub repeat: bool,
}

fn default_path() -> PathBuf {
    PathBuf::from("samples")
}
fn default_fps() -> f64 {
    15.0
}
fn default_repeat() -> bool {
    false
}

impl Default for Config {
    fn default() -> Self {
        Config { path: default_path(), fps: default_fps(), repeat: default_repeat() }
    }
}

impl SourceType for Config {
    fn validate(&self, key: &Key) -> Result<(), Invalid> {
        schema::path(&key.field("path"), &self.path)?;
        schema::fps(&key.field("fps"), self.fps)
    }

    fn open(&self, _shutdown: &Shutdown) -> Result<Box<dyn FrameSource>, CaptureError> {
        Ok(Box::new(ImagesSource::open(&self.path, self.fps, self.repeat, false)?))
    }
}

pub struct ImagesSource {
    name: String,
    paths: Vec<PathBuf>,
    period: Duration,
    repeat: bool,
    pace: bool,
    next: u64,
    started: Option<Instant>,
    /// Images that decoded in the current pass over `paths`: a repeating pass where none
    /// did would retry the same bad files forever.
    good_in_pass: usize,
}

impl ImagesSource {
    /// `pace`: sleep so frames come out at `fps` in real time.
    pub fn open(path: &Path, fps: f64, repeat: bool, pace: bool) -> Result<ImagesSource, CaptureError> {
        let name = path.display().to_string();
        let config = |reason: String| CaptureError::Config { source_name: name.clone(), reason };
        schema::fps(&Key::root().field("fps"), fps).map_err(|e| config(e.to_string()))?;
        let paths: Vec<PathBuf> =
            expand_inputs(&[path.to_owned()]).into_iter().collect::<Result<_, _>>().map_err(|e| config(e.to_string()))?;
        if paths.is_empty() {
            return Err(config("no .jpg, .jpeg or .png images".into()));
        }
        if !path.exists() {
            return Err(config("no such file or directory".into()));
        }
        Ok(ImagesSource { name, paths, period: Duration::from_secs_f64(1.0 / fps), repeat, pace, next: 0, started: None, good_in_pass: 0 })
    }
}

impl FrameSource for ImagesSource {
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError> {
        let n = self.paths.len() as u64;
        if !self.repeat && self.next >= n {
            return Ok(None);
        }
        let seq = self.next;
        if seq > 0 && seq.is_multiple_of(n) {
            if self.good_in_pass == 0 {
                return Err(CaptureError::Config {
                    source_name: self.name.clone(),
                    reason: format!("none of its {n} images could be decoded (repeat = true would retry them forever)"),
                });
            }
            self.good_in_pass = 0;
        }
        self.next += 1;
        let timestamp = self.period.saturating_mul(u32::try_from(seq).unwrap_or(u32::MAX));
        if self.pace {
            let start = *self.started.get_or_insert_with(Instant::now);
            let due = start + timestamp;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let path = &self.paths[(seq % n) as usize];
        let image = decode_file(path).map_err(|e| CaptureError::BadFrame { source_name: self.name.clone(), reason: e.to_string() })?;
        self.good_in_pass += 1;
        Ok(Some(CapturedFrame { image, timestamp, sequence: seq }))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_a_directory_in_order_with_reproducible_timestamps() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, v) in [("b.png", 2u8), ("a.png", 1), ("notes.txt", 0)] {
            if name.ends_with(".png") {
                image::RgbImage::from_pixel(2, 2, image::Rgb([v, 0, 0])).save(dir.path().join(name)).expect("save");
            } else {
                std::fs::write(dir.path().join(name), "x").expect("write");
            }
        }
        let mut s = ImagesSource::open(dir.path(), 10.0, false, false).expect("open");
        let a = s.next_frame().expect("a").expect("frame");
        let b = s.next_frame().expect("b").expect("frame");
        assert_eq!((a.image.get_pixel(0, 0)[0], b.image.get_pixel(0, 0)[0]), (1, 2));
        assert_eq!((a.timestamp, b.timestamp), (Duration::ZERO, Duration::from_millis(100)));
        assert!(s.next_frame().expect("end").is_none());
        let mut r = ImagesSource::open(dir.path(), 10.0, true, false).expect("open");
        let seqs: Vec<u64> = (0..3).map(|_| r.next_frame().expect("f").expect("frame").sequence).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
    }

    #[test]
    fn repeating_images_that_all_fail_end_with_an_error_after_one_pass() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["a.jpg", "b.png"] {
            std::fs::write(dir.path().join(name), b"not an image").expect("write");
        }
        let mut s = ImagesSource::open(dir.path(), 1e-3, true, false).expect("open");
        for _ in 0..2 {
            assert!(matches!(s.next_frame(), Err(CaptureError::BadFrame { .. })));
        }
        let e = s.next_frame().expect_err("ends");
        assert!(matches!(e, CaptureError::Config { .. }) && e.to_string().contains("none of its 2 images could be decoded"), "{e}");
        // One good image keeps a repeating source going, and huge frame numbers saturate.
        image::RgbImage::from_pixel(2, 2, image::Rgb([1, 0, 0])).save(dir.path().join("c.png")).expect("save");
        let mut s = ImagesSource::open(dir.path(), 1.0, true, false).expect("open");
        let good = (0..9).filter(|_| s.next_frame().is_ok()).count();
        assert_eq!(good, 3);
        s.next = u64::MAX / 2 - 2;
        assert!(s.next_frame().is_ok_and(|f| f.is_some_and(|f| f.timestamp == Duration::from_secs(u64::from(u32::MAX)))));
    }

    #[test]
    fn an_empty_or_missing_path_is_a_config_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(ImagesSource::open(dir.path(), 10.0, false, false), Err(CaptureError::Config { .. })));
        let missing = dir.path().join("nope");
        assert!(ImagesSource::open(&missing, 10.0, false, false).is_err());
    }
}
