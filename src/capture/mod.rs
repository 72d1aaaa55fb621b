//! Frame capture: the `FrameSource` seam and its backends (V4L2 cameras, image files,
//! replayed recordings), each with its `[source]` table. Only the `v4l2` backend touches a
//! device.
//!
//! Adding a source: its own module with a `Config` that implements [`config::SourceType`],
//! and one line in the `sources!` list below.

pub mod config;
pub mod convert;
pub mod images;
pub mod replay;
pub mod retry;
pub mod v4l2;

pub use config::SourceType;

use crate::frame::Frame;
use crate::shutdown::Shutdown;
use std::time::Duration;

config::sources! {
    /// Still images (a file or a directory, sorted), played as a video.
    Images(images::Config) = "images",
    /// A recorded stream: concatenated JPEG frames (MJPEG) or raw frames.
    Replay(replay::Config) = "replay",
    /// A V4L2 camera.
    V4l2(v4l2::Config) = "v4l2",
}

impl Default for SourceConfig {
    /// The bundled sample photos, played at 15 fps.
    fn default() -> Self {
        SourceConfig::Images(images::Config::default())
    }
}

impl SourceConfig {
    /// Open the source this config describes.
    pub fn open(&self, shutdown: &Shutdown) -> Result<Box<dyn FrameSource>, CaptureError> {
        self.settings().open(shutdown)
    }
}

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

/// What a source counts about itself, for the statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounters {
    /// Times the source was lost (camera unplugged, driver error).
    pub losses: u64,
    /// Reopen attempts that failed while it was lost.
    pub failed_reopens: u64,
}

/// Delivers frames, blocking until the next one is ready.
pub trait FrameSource: Send {
    /// The next frame, or `Ok(None)` at the end of a finite source (files, replays).
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError>;
    /// A short name for logs and errors (device path, file name).
    fn name(&self) -> &str;
    /// Losses and reconnection attempts so far; zero for sources that cannot be lost.
    fn counters(&self) -> SourceCounters {
        SourceCounters::default()
    }
}
