//! Frame capture: the `FrameSource` seam and its backends (V4L2 cameras, image files,
//! replayed recordings). Only the `v4l2` backend touches a device.

pub mod images;

pub mod convert;
pub mod replay;
pub mod retry;
#[cfg(feature = "v4l2")]
pub mod v4l2;

use crate::frame::Frame;
use std::time::Duration;

/// One captured frame.
#[derive(Debug, Clone)]
pub struct CapturedFrame {
    pub image: Frame,
    /// Capture time on the source's monotonic clock, from when the source was opened.
    /// Everything downstream (tracking, smoothing, events) uses this, never the wall clock.
    pub timestamp: Duration,
    /// Frame counter of the source; gaps mean the source or driver dropped frames.
    pub sequence: u64,
}

/// Why a source could not deliver a frame.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The device or file cannot be opened or has gone away; a retry may succeed.
    #[error("{source_name}: {reason}")]
    Unavailable { source_name: String, reason: String },
    /// One frame was unusable (e.g. corrupt MJPEG); the next may be fine.
    #[error("{source_name}: bad frame: {reason}")]
    BadFrame { source_name: String, reason: String },
    /// The source is misconfigured and retrying cannot help.
    #[error("{source_name}: {reason}")]
    Config { source_name: String, reason: String },
}

/// Delivers frames, blocking until the next one is ready.
pub trait FrameSource: Send {
    /// The next frame, or `Ok(None)` at the end of a finite source (files, replays).
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError>;
    /// A short name for logs and errors (device path, file name).
    fn name(&self) -> &str;
}

/// Open the source a config describes. Cameras are wrapped to reconnect after a loss,
/// backing off in sleeps that `shutdown` cuts short.
pub fn open(cfg: &crate::config::SourceConfig, shutdown: &crate::shutdown::Shutdown) -> Result<Box<dyn FrameSource>, CaptureError> {
    use crate::config::SourceConfig;
    match cfg {
        SourceConfig::Images(s) => Ok(Box::new(images::ImagesSource::open(&s.path, s.fps, s.repeat, false)?)),
        SourceConfig::Replay(s) => {
            let name = s.path.display().to_string();
            let format = if s.format.eq_ignore_ascii_case("mjpeg") {
                replay::ReplayFormat::Mjpeg
            } else {
                let pf = convert::PixelFormat::parse(&s.format).ok_or_else(|| CaptureError::Config {
                    source_name: name.clone(),
                    reason: format!("unknown replay format {:?} (mjpeg, yuyv, nv12, grey, rgb3)", s.format),
                })?;
                replay::ReplayFormat::Raw(convert::Layout::packed(pf, s.width, s.height))
            };
            Ok(Box::new(replay::ReplaySource::open(&s.path, format, s.fps, s.realtime)?))
        }
        #[cfg(feature = "v4l2")]
        SourceConfig::V4l2(s) => {
            let format = match s.format.as_str() {
                "" => None,
                f => Some(convert::PixelFormat::parse(f).ok_or_else(|| CaptureError::Config {
                    source_name: s.device.clone(),
                    reason: format!("unknown pixel format {f:?} (MJPG, YUYV, NV12, GREY, RGB3)"),
                })?),
            };
            let v4l2_cfg = v4l2::V4l2Config {
                device: s.device.clone(),
                format,
                width: s.width,
                height: s.height,
                fps: Some(s.fps),
                timeout: Duration::from_millis(s.timeout_ms),
                bytesperline: None,
            };
            // Fail fast on a source that cannot work at all; a device that is merely absent
            // right now is waited for.
            if let Err(e @ CaptureError::Config { .. }) = v4l2::V4l2Source::open(&v4l2_cfg) {
                return Err(e);
            }
            let stop = shutdown.clone();
            let opener: retry::Opener = Box::new(move || v4l2::V4l2Source::open(&v4l2_cfg).map(|s| Box::new(s) as Box<dyn FrameSource>));
            Ok(Box::new(retry::ReconnectingSource::new(
                s.device.clone(),
                opener,
                retry::Backoff::default(),
                Box::new(move |d| stop.sleep(d)),
            )))
        }
        #[cfg(not(feature = "v4l2"))]
        SourceConfig::V4l2(s) => Err(CaptureError::Config {
            source_name: s.device.clone(),
            reason: "this cliper was built without V4L2 support (feature v4l2)".into(),
        }),
    }
}
