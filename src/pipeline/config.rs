//! `[pipeline]`: the frame hand-off policy between capture and inference, each output's
//! queue, and the statistics interval.

use crate::schema::{self, Invalid, Key};
use serde::Deserialize;

/// What happens when inference falls behind capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FramePolicy {
    /// Keep only the newest frame; older unprocessed frames are dropped and counted. For
    /// cameras: latency stays one frame.
    FreshestWins,
    /// Capture waits for inference; nothing is dropped. For files and replays.
    Block,
}

/// `[pipeline]`: the hand-offs between the live path's threads, and statistics.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Frame hand-off policy between capture and inference; unset: `freshest_wins` for
    /// cameras, `block` for files.
    #[serde(default = "default_frames")]
    pub frames: Option<FramePolicy>,
    /// Deprecated and ignored: events go straight from inference to each output's own
    /// queue (`output_queue`). Still accepted, with a warning, so existing configs load.
    #[serde(default = "default_event_queue")]
    pub event_queue: Option<usize>,
    /// Seconds between statistics lines, at most 86400; 0 turns them off.
    #[serde(default = "default_stats_interval")]
    pub stats_interval_s: f64,
    /// Events waiting for each output (1..=65536); a slow output drops (and counts) beyond
    /// this without holding up the others.
    #[serde(default = "default_output_queue")]
    pub output_queue: usize,
}

fn default_output_queue() -> usize {
    256
}

fn default_frames() -> Option<FramePolicy> {
    None
}
fn default_event_queue() -> Option<usize> {
    None
}
fn default_stats_interval() -> f64 {
    10.0
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            frames: default_frames(),
            event_queue: default_event_queue(),
            stats_interval_s: default_stats_interval(),
            output_queue: default_output_queue(),
        }
    }
}

impl PipelineConfig {
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        schema::within(&key.field("stats_interval_s"), self.stats_interval_s, 0.0, schema::MAX_INTERVAL_S)?;
        if let Some(q) = self.event_queue {
            schema::queue(&key.field("event_queue"), q)?;
        }
        schema::queue(&key.field("output_queue"), self.output_queue)
    }

    /// The frame policy: the configured one, else `freshest_wins` for a `live` source
    /// (cameras, paced replays) and `block` for the others.
    pub fn frame_policy(&self, live: bool) -> FramePolicy {
        self.frames.unwrap_or(if live { FramePolicy::FreshestWins } else { FramePolicy::Block })
    }

    /// The statistics interval; `None` when they are off.
    pub fn stats_interval(&self) -> Option<std::time::Duration> {
        (self.stats_interval_s > 0.0).then(|| {
            std::time::Duration::try_from_secs_f64(self.stats_interval_s.min(crate::schema::MAX_INTERVAL_S))
                .unwrap_or(std::time::Duration::from_secs(86_400))
        })
    }
}
