//! V4L2 cameras: the `[source] type = "v4l2"` table, and the pure parts of talking to a
//! camera (format choice, timestamps, rates, card names), unit-tested without hardware. The
//! device itself is `device`, behind the `v4l2` feature; a build without it still parses
//! such a config and says why it cannot open it.

#[cfg(feature = "v4l2")]
mod device;
#[cfg(feature = "v4l2")]
pub use device::{list_devices, V4l2Config, V4l2Source};

use super::config::SourceType;
use super::convert::PixelFormat;
use super::{CaptureError, FrameSource};
use crate::schema::{self, Invalid, Key};
use crate::shutdown::Shutdown;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[source] type = "v4l2"`: a camera.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Device path (`/dev/video0`) or the card name `cliper devices` shows.
    #[serde(default = "default_device")]
    pub device: String,
    /// Requested width; the driver may pick the nearest it supports.
    #[serde(default = "default_width")]
    pub width: u32,
    /// Requested height.
    #[serde(default = "default_height")]
    pub height: u32,
    /// Requested frame rate.
    #[serde(default = "default_fps")]
    pub fps: u32,
    /// Pixel format (`MJPG`, `YUYV`, `NV12`, `GREY`, `RGB3`, or ffmpeg's names); empty or
    /// unset: the first the camera offers in that order.
    #[serde(default = "default_format", deserialize_with = "super::config::optional_pixel_format")]
    pub format: Option<PixelFormat>,
    /// A frame wait longer than this counts as the camera being lost (milliseconds); it is
    /// then reopened with backoff.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_device() -> String {
    "/dev/video0".into()
}
fn default_width() -> u32 {
    640
}
fn default_height() -> u32 {
    480
}
fn default_fps() -> u32 {
    15
}
fn default_format() -> Option<PixelFormat> {
    None
}
fn default_timeout_ms() -> u64 {
    2000
}

impl SourceType for Config {
    fn validate(&self, key: &Key) -> Result<(), Invalid> {
        schema::positive(&key.field("width"), self.width)?;
        schema::positive(&key.field("height"), self.height)?;
        schema::fps(&key.field("fps"), f64::from(self.fps))
    }

    /// A device path must exist; a card name is looked up only when opening.
    fn check(&self) -> Result<(), CaptureError> {
        if is_device_path(&self.device) && !Path::new(&self.device).exists() {
            return Err(CaptureError::Unavailable { source_name: self.device.clone(), reason: "no such device".into() });
        }
        Ok(())
    }

    /// Wrapped to reconnect after a loss, backing off in sleeps that `shutdown` cuts short.
    #[cfg(feature = "v4l2")]
    fn open(&self, shutdown: &Shutdown) -> Result<Box<dyn FrameSource>, CaptureError> {
        use super::retry::{Backoff, Opener, ReconnectingSource};
        let v4l2_cfg = V4l2Config {
            device: self.device.clone(),
            format: self.format,
            width: self.width,
            height: self.height,
            fps: Some(self.fps),
            timeout: Duration::from_millis(self.timeout_ms),
            bytesperline: None,
        };
        // Fail fast on a source that cannot work at all; a device that is merely absent
        // right now is waited for.
        if let Err(e @ CaptureError::Config { .. }) = V4l2Source::open(&v4l2_cfg) {
            return Err(e);
        }
        let stop = shutdown.clone();
        let opener: Opener = Box::new(move || V4l2Source::open(&v4l2_cfg).map(|s| Box::new(s) as Box<dyn FrameSource>));
        Ok(Box::new(ReconnectingSource::new(self.device.clone(), opener, Backoff::default(), Box::new(move |d| stop.sleep(d)))))
    }

    #[cfg(not(feature = "v4l2"))]
    fn open(&self, _shutdown: &Shutdown) -> Result<Box<dyn FrameSource>, CaptureError> {
        Err(CaptureError::Config {
            source_name: self.device.clone(),
            reason: "this cliper was built without V4L2 support (feature v4l2)".into(),
        })
    }

    fn live(&self) -> bool {
        true
    }
}

/// The first wanted format the device offers: `wanted` alone, or the preference order.
pub fn choose_format(offered: &[[u8; 4]], wanted: Option<PixelFormat>) -> Option<PixelFormat> {
    let candidates: &[PixelFormat] = match &wanted {
        Some(f) => std::slice::from_ref(f),
        None => &PixelFormat::PREFERENCE,
    };
    candidates.iter().copied().find(|f| offered.contains(&f.fourcc()))
}

/// A buffer timestamp as a duration on the driver's monotonic clock (negative parts,
/// which a broken driver could report, count as zero).
pub fn timeval(sec: i64, usec: i64) -> Duration {
    Duration::from_secs(sec.max(0) as u64) + Duration::from_micros(usec.clamp(0, 999_999) as u64)
}

/// Frames per second of a V4L2 frame interval (seconds per frame as a fraction).
pub fn interval_fps(numerator: u32, denominator: u32) -> Option<f64> {
    (numerator > 0 && denominator > 0).then(|| f64::from(denominator) / f64::from(numerator))
}

/// The first node whose card name is `name`, exactly or else ignoring case.
pub fn match_card(cards: &[(PathBuf, String)], name: &str) -> Option<PathBuf> {
    let name = name.trim();
    cards
        .iter()
        .find(|(_, c)| c.trim() == name)
        .or_else(|| cards.iter().find(|(_, c)| c.trim().eq_ignore_ascii_case(name)))
        .map(|(p, _)| p.clone())
}

/// Whether `path` names a device node rather than a card name (for config validation).
pub fn is_device_path(device: &str) -> bool {
    Path::new(device).is_absolute()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_choice_follows_preference_or_insists() {
        let vivid = [*b"YUYV", *b"UYVY", *b"NV12", *b"RGB3", *b"GREY"];
        assert_eq!(choose_format(&vivid, None), Some(PixelFormat::Yuyv));
        assert_eq!(choose_format(&[*b"YUYV", *b"MJPG"], None), Some(PixelFormat::Mjpeg));
        assert_eq!(choose_format(&vivid, Some(PixelFormat::Nv12)), Some(PixelFormat::Nv12));
        assert_eq!(choose_format(&vivid, Some(PixelFormat::Mjpeg)), None);
        assert_eq!(choose_format(&[*b"H264"], None), None);
    }

    #[test]
    fn timestamps_and_rates() {
        assert_eq!(timeval(12, 500_000), Duration::from_millis(12_500));
        assert_eq!(timeval(-1, -5), Duration::ZERO);
        assert_eq!(interval_fps(1, 30), Some(30.0));
        assert_eq!(interval_fps(1001, 30000).map(|f| (f * 100.0).round()), Some(2997.0));
        assert_eq!(interval_fps(0, 30), None);
    }

    #[test]
    fn card_names_match_exactly_then_ignoring_case() {
        let cards = vec![
            (PathBuf::from("/dev/video0"), "HD Webcam".to_string()),
            (PathBuf::from("/dev/video2"), "hd webcam".to_string()),
            (PathBuf::from("/dev/video4"), "vivid ".to_string()),
        ];
        assert_eq!(match_card(&cards, "hd webcam"), Some(PathBuf::from("/dev/video2")));
        assert_eq!(match_card(&cards, "HD WEBCAM"), Some(PathBuf::from("/dev/video0")));
        assert_eq!(match_card(&cards, "vivid"), Some(PathBuf::from("/dev/video4")));
        assert_eq!(match_card(&cards, "other"), None);
        assert!(is_device_path("/dev/video0") && !is_device_path("vivid"));
    }
}
