//! The live path's detection budget: which windows each frame runs. Every frame gets the
//! whole frame and a region around each live track (so a known face is re-found at its own
//! scale, as MediaPipe's face pipelines track a face from its previous box); the tile sweep
//! for new, far faces is spread round-robin over frames so a full sweep takes
//! `sweep_frames` frames.
//!
//! Pure: timestamps come in, the achieved sweep period goes out.

use super::tiles::Window;
use crate::frame::BBox;
use std::time::Duration;

/// A track's region is this many times its face's larger side: the face sits at a quarter
/// of the window, between the smallest (1/12) and largest (1/3) a tile window finds.
pub const REGION_FACTOR: f32 = 4.0;

/// The window around a track's (predicted) box, clamped to the frame; `None` when it would
/// cover the whole frame anyway.
pub fn region(b: &BBox, frame_w: u32, frame_h: u32) -> Option<Window> {
    if !(b.w.is_finite() && b.h.is_finite() && b.x.is_finite() && b.y.is_finite()) {
        return None;
    }
    let side = (REGION_FACTOR * b.w.max(b.h)).ceil().max(1.0) as u32;
    if side >= frame_w.max(frame_h) {
        return None;
    }
    let (w, h) = (side.min(frame_w), side.min(frame_h));
    let c = b.center();
    let place = |centre: f32, len: u32, frame: u32| (centre - len as f32 / 2.0).round().clamp(0.0, (frame - len) as f32) as u32;
    Some(Window { x: place(c.x, w, frame_w), y: place(c.y, h, frame_h), w, h, scale: 0 })
}

/// Round-robin over a frame's tile windows (the plan without the whole frame).
#[derive(Debug, Clone)]
pub struct SweepScheduler {
    tiles: Vec<Window>,
    sweep_frames: usize,
    /// Frame of the sweep in progress, `0..sweep_frames`.
    step: usize,
    /// When the sweep in progress started.
    started: Option<Duration>,
    /// How long the last complete sweep took.
    last_period: Option<Duration>,
    /// Sweeps completed.
    pub sweeps: u64,
}

impl SweepScheduler {
    /// `plan`: every window of a full pass ([`super::tiles::plan`]); `sweep_frames` ≥ 1.
    pub fn new(plan: &[Window], frame_w: u32, frame_h: u32, sweep_frames: usize) -> SweepScheduler {
        let tiles = plan.iter().copied().filter(|w| !w.is_full(frame_w, frame_h)).collect();
        SweepScheduler { tiles, sweep_frames: sweep_frames.max(1), step: 0, started: None, last_period: None, sweeps: 0 }
    }

    /// Most tiles visited in one frame (frames take `len / sweep_frames` rounded down or up).
    pub fn per_frame(&self) -> usize {
        self.tiles.len().div_ceil(self.sweep_frames)
    }

    /// The windows of the frame at `ts`: the whole frame, a region per track, this frame's
    /// slice of the sweep.
    pub fn windows(&mut self, ts: Duration, frame_w: u32, frame_h: u32, tracks: &[BBox]) -> Vec<Window> {
        let mut out = vec![Window::full(frame_w, frame_h)];
        out.extend(tracks.iter().filter_map(|b| region(b, frame_w, frame_h)));
        if self.tiles.is_empty() {
            return out;
        }
        if self.step == 0 {
            self.started = Some(ts);
        }
        // Frame k of a sweep takes tiles k·len/N .. (k+1)·len/N: exactly N frames a sweep.
        let (len, n) = (self.tiles.len(), self.sweep_frames);
        out.extend_from_slice(&self.tiles[self.step * len / n..(self.step + 1) * len / n]);
        self.step += 1;
        if self.step == n {
            self.step = 0;
            self.sweeps += 1;
            // A sweep ends with this frame's processing; count its start to this frame.
            self.last_period = self.started.map(|s| ts.saturating_sub(s));
        }
        out
    }

    /// Source time the last complete sweep took (first to last frame of it).
    pub fn last_period(&self) -> Option<Duration> {
        self.last_period
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tiles::{plan, TilingOptions};

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn every_tile_is_visited_within_the_sweep_and_the_period_is_measured() {
        let (w, h) = (1920, 1080);
        let p = plan(w, h, &TilingOptions::for_input(192));
        let mut s = SweepScheduler::new(&p, w, h, 10);
        assert_eq!(s.per_frame(), (p.len() - 1).div_ceil(10));
        for round in 0..3u64 {
            let mut seen = std::collections::HashSet::new();
            for f in 0..10u64 {
                let wins = s.windows(ms((round * 10 + f) * 100), w, h, &[]);
                assert_eq!(wins[0], Window::full(w, h), "the whole frame runs every frame");
                assert!(wins.len() <= 1 + s.per_frame());
                seen.extend(wins[1..].iter().map(|w| (w.x, w.y, w.w)));
            }
            assert_eq!(seen.len(), p.len() - 1, "round {round}: every tile within 10 frames");
            assert_eq!(s.sweeps, round + 1);
            assert_eq!(s.last_period(), Some(ms(900)));
        }
    }

    #[test]
    fn tracks_get_their_region_every_frame() {
        let (w, h) = (1920, 1080);
        let p = plan(w, h, &TilingOptions::for_input(192));
        let mut s = SweepScheduler::new(&p, w, h, 8);
        let face = BBox { x: 1880.0, y: 500.0, w: 40.0, h: 40.0 };
        for f in 0..20 {
            let wins = s.windows(ms(f * 33), w, h, &[face]);
            let r = wins[1];
            assert_eq!((r.w, r.h), (160, 160));
            // Clamped to the frame, still holding the face whole.
            assert_eq!(r.x + r.w, w);
            assert!(r.y as f32 <= face.y && (r.y + r.h) as f32 >= face.y + face.h);
        }
        // A face too big for a region is left to the whole-frame pass; a bad box is ignored.
        assert_eq!(region(&BBox { x: 0.0, y: 0.0, w: 600.0, h: 600.0 }, w, h), None);
        assert_eq!(region(&BBox { x: f32::NAN, y: 0.0, w: 6.0, h: 6.0 }, w, h), None);
    }

    #[test]
    fn no_tiles_means_the_whole_frame_only() {
        let p = plan(640, 480, &TilingOptions { min_face: 0, ..TilingOptions::for_input(192) });
        let mut s = SweepScheduler::new(&p, 640, 480, 5);
        assert_eq!(s.windows(ms(0), 640, 480, &[]), vec![Window::full(640, 480)]);
        assert_eq!(s.last_period(), None);
    }
}
