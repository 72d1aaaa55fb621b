//! The V4L2 device (crate `v4l`, feature `v4l2`): open by path or card name, negotiate
//! format, size and frame rate, stream through 4 mmap buffers and convert each with
//! [`convert`].
//!
//! The only code that touches a camera; format choice and timestamp arithmetic are the
//! pure functions of the parent module. Tested against the kernel's vivid driver in a VM
//! (`tests/vm/run_vivid.sh`).

use super::{choose_format, interval_fps, match_card, timeval};
use crate::capture::convert::{self, Layout, PixelFormat};
use crate::capture::{CaptureError, CapturedFrame, FrameSource};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use v4l::buffer::{Flags, Type};
use v4l::capability::Flags as CapFlags;
use v4l::frameinterval::FrameIntervalEnum;
use v4l::framesize::FrameSizeEnum;
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::{Device, Format, FourCC};

/// Buffers queued with the driver: enough to ride out one slow conversion without the
/// driver dropping frames, few enough that the frame handed on is recent.
const BUFFERS: u32 = 4;

/// What to open and what to ask it for.
#[derive(Debug, Clone, PartialEq)]
pub struct V4l2Config {
    /// `/dev/videoN` (anything starting with `/`), or the card name `v4l2-ctl --list-devices`
    /// shows (e.g. `"HD Pro Webcam C920"`), matched exactly, then case-insensitively.
    pub device: String,
    /// One format to insist on; `None` tries [`PixelFormat::PREFERENCE`] in order.
    pub format: Option<PixelFormat>,
    /// Requested size; the driver may pick the nearest it supports (logged at open).
    pub width: u32,
    pub height: u32,
    /// Requested frame rate; `None` keeps the driver's.
    pub fps: Option<u32>,
    /// A dequeue that waits longer than this counts as the device being lost.
    pub timeout: Duration,
    /// Row stride to ask for; drivers round it up to their minimum or ignore it, and the
    /// stride they return is what conversion uses. `None` asks for their default.
    pub bytesperline: Option<u32>,
}

impl V4l2Config {
    /// `device` at 640x480, any format, the driver's rate, a 2 s stall timeout.
    pub fn new(device: impl Into<String>) -> V4l2Config {
        V4l2Config {
            device: device.into(),
            format: None,
            width: 640,
            height: 480,
            fps: None,
            timeout: Duration::from_secs(2),
            bytesperline: None,
        }
    }
}

/// A streaming V4L2 capture device.
pub struct V4l2Source {
    name: String,
    // The stream's buffers are mapped from the device's descriptor, which the stream
    // holds its own handle to; the device is kept for the controls it may later need.
    stream: Stream<'static>,
    _device: Device,
    layout: Layout,
    fps: Option<f64>,
    /// Buffer timestamp of the first frame; timestamps are relative to it.
    first: Option<Duration>,
}

impl V4l2Source {
    /// Opens and configures the device and starts streaming at the first frame.
    ///
    /// A device that is missing or busy is `Unavailable` (worth retrying); one that offers
    /// none of the wanted formats is `Config`.
    pub fn open(config: &V4l2Config) -> Result<V4l2Source, CaptureError> {
        let path = resolve(&config.device)?;
        let name = path.display().to_string();
        let unavailable =
            |what: &str, e: std::io::Error| CaptureError::Unavailable { source_name: name.clone(), reason: format!("{what}: {e}") };
        let device = Device::with_path(&path).map_err(|e| unavailable("cannot open", e))?;
        let offered: Vec<[u8; 4]> =
            device.enum_formats().map_err(|e| unavailable("cannot list formats", e))?.iter().map(|d| d.fourcc.repr).collect();
        let format = choose_format(&offered, config.format).ok_or_else(|| CaptureError::Config {
            source_name: name.clone(),
            reason: format!(
                "offers {} but none of {}",
                fourcc_list(&offered),
                match config.format {
                    Some(f) => f.to_string(),
                    None => fourcc_list(&PixelFormat::PREFERENCE.map(PixelFormat::fourcc)),
                }
            ),
        })?;
        let mut wanted = Format::new(config.width, config.height, FourCC::new(&format.fourcc()));
        wanted.stride = config.bytesperline.unwrap_or(0);
        let got = device.set_format(&wanted).map_err(|e| unavailable("cannot set format", e))?;
        if got.fourcc.repr != format.fourcc() {
            return Err(CaptureError::Config { source_name: name, reason: format!("asked for {format}, driver chose {}", got.fourcc) });
        }
        let layout = Layout { format, width: got.width, height: got.height, bytesperline: got.stride };
        let fps = match config.fps {
            Some(fps) => match device.set_params(&v4l::video::capture::Parameters::with_fps(fps)) {
                Ok(p) => interval_fps(p.interval.numerator, p.interval.denominator),
                Err(e) => {
                    log::warn!("{name}: cannot set {fps} fps ({e}); keeping the driver's rate");
                    None
                }
            },
            None => device.params().ok().and_then(|p| interval_fps(p.interval.numerator, p.interval.denominator)),
        };
        let mut stream = Stream::with_buffers(&device, Type::VideoCapture, BUFFERS).map_err(|e| unavailable("cannot map buffers", e))?;
        stream.set_timeout(config.timeout);
        log::info!(
            "{name}: streaming {format} {}x{} (bytesperline {}) at {} fps",
            layout.width,
            layout.height,
            layout.bytesperline,
            fps.map_or("driver default".to_string(), |f| format!("{f:.2}"))
        );
        Ok(V4l2Source { name, stream, _device: device, layout, fps, first: None })
    }

    /// The negotiated format, size and stride.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The negotiated frame rate, when the driver reports one.
    pub fn fps(&self) -> Option<f64> {
        self.fps
    }
}

impl FrameSource for V4l2Source {
    fn next_frame(&mut self) -> Result<Option<CapturedFrame>, CaptureError> {
        let (buf, meta) = self
            .stream
            .next()
            .map_err(|e| CaptureError::Unavailable { source_name: self.name.clone(), reason: format!("capture failed: {e}") })?;
        let sequence = u64::from(meta.sequence);
        if meta.flags.contains(Flags::ERROR) {
            return Err(CaptureError::BadFrame {
                source_name: self.name.clone(),
                reason: format!("driver flagged frame {sequence} as corrupt"),
            });
        }
        // time_t is 32-bit on armv7 boards, hence the widening (a no-op on 64-bit).
        #[allow(clippy::useless_conversion)]
        let stamp = timeval(i64::from(meta.timestamp.sec), i64::from(meta.timestamp.usec));
        let used = (meta.bytesused as usize).min(buf.len());
        let image = convert::convert(&self.name, &self.layout, &buf[..used])?;
        let first = *self.first.get_or_insert(stamp);
        Ok(Some(CapturedFrame { image, timestamp: stamp.saturating_sub(first), sequence }))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

fn fourcc_list(codes: &[[u8; 4]]) -> String {
    let names: Vec<String> = codes.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    if names.is_empty() {
        "no formats".to_string()
    } else {
        names.join(", ")
    }
}

/// `/dev/video*` nodes in numeric order.
fn video_nodes() -> Vec<PathBuf> {
    let mut nodes: Vec<(u32, PathBuf)> = std::fs::read_dir("/dev")
        .map(|dir| {
            dir.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let n = name.strip_prefix("video")?.parse().ok()?;
                    Some((n, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    nodes.into_iter().map(|(_, p)| p).collect()
}

/// A configured device: a path as is, a card name looked up among capture devices.
fn resolve(device: &str) -> Result<PathBuf, CaptureError> {
    if device.starts_with('/') {
        return Ok(PathBuf::from(device));
    }
    let cards: Vec<(PathBuf, String)> = video_nodes()
        .into_iter()
        .filter_map(|p| {
            let caps = Device::with_path(&p).and_then(|d| d.query_caps()).ok()?;
            caps.capabilities.contains(CapFlags::VIDEO_CAPTURE).then_some((p, caps.card))
        })
        .collect();
    match_card(&cards, device).ok_or_else(|| CaptureError::Unavailable {
        source_name: device.to_string(),
        reason: format!(
            "no capture device with this card name (found: {})",
            if cards.is_empty() {
                "none".to_string()
            } else {
                cards.iter().map(|(p, c)| format!("{} {c:?}", p.display())).collect::<Vec<_>>().join(", ")
            }
        ),
    })
}

/// Writes every V4L2 capture device with its formats, sizes and frame rates, for
/// `cliper devices`. Devices that cannot be queried get a line saying why. Returns how
/// many capture devices were listed; saying that there were none is the caller's.
pub fn list_devices(out: &mut dyn Write) -> std::io::Result<usize> {
    let mut listed = 0;
    for path in video_nodes() {
        let device = match Device::with_path(&path) {
            Ok(d) => d,
            Err(e) => {
                writeln!(out, "{}: cannot open: {e}", path.display())?;
                continue;
            }
        };
        let caps = match device.query_caps() {
            Ok(c) => c,
            Err(e) => {
                writeln!(out, "{}: cannot query: {e}", path.display())?;
                continue;
            }
        };
        // UVC cameras add a metadata node per camera; it has no capture formats.
        if !caps.capabilities.contains(CapFlags::VIDEO_CAPTURE) {
            continue;
        }
        listed += 1;
        writeln!(out, "{}: {} (driver {}, bus {})", path.display(), caps.card, caps.driver, caps.bus)?;
        describe_formats(&device, out)?;
    }
    Ok(listed)
}

fn describe_formats(device: &Device, out: &mut dyn Write) -> std::io::Result<()> {
    let formats = match device.enum_formats() {
        Ok(f) => f,
        Err(e) => return writeln!(out, "  cannot list formats: {e}"),
    };
    for f in formats {
        let support = match PixelFormat::from_fourcc(f.fourcc.repr) {
            Some(_) => "",
            None => " [not supported by cliper]",
        };
        writeln!(out, "  {} ({}){support}", f.fourcc, f.description)?;
        for size in device.enum_framesizes(f.fourcc).unwrap_or_default() {
            match size.size {
                FrameSizeEnum::Discrete(d) => {
                    let rates = device
                        .enum_frameintervals(f.fourcc, d.width, d.height)
                        .map(|ivs| ivs.iter().map(|iv| describe_interval(&iv.interval)).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default();
                    writeln!(out, "    {}x{}: {rates}", d.width, d.height)?;
                }
                FrameSizeEnum::Stepwise(s) => writeln!(
                    out,
                    "    {}x{} to {}x{} in steps of {}x{}",
                    s.min_width, s.min_height, s.max_width, s.max_height, s.step_width, s.step_height
                )?,
            }
        }
    }
    Ok(())
}

fn describe_interval(interval: &FrameIntervalEnum) -> String {
    let fps = |n: u32, d: u32| {
        interval_fps(n, d).map_or("?".to_string(), |f| format!("{f:.4}").trim_end_matches('0').trim_end_matches('.').to_string())
    };
    match interval {
        FrameIntervalEnum::Discrete(i) => format!("{} fps", fps(i.numerator, i.denominator)),
        FrameIntervalEnum::Stepwise(s) => {
            format!("{} to {} fps", fps(s.max.numerator, s.max.denominator), fps(s.min.numerator, s.min.denominator))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_described_as_rates() {
        assert_eq!(describe_interval(&FrameIntervalEnum::Discrete(v4l::Fraction::new(1, 25))), "25 fps");
    }

    #[test]
    fn missing_device_is_unavailable_naming_it() {
        match V4l2Source::open(&V4l2Config::new("/dev/video-cliper-missing")) {
            Err(e @ CaptureError::Unavailable { .. }) => assert!(e.to_string().contains("/dev/video-cliper-missing")),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened a missing device"),
        }
    }
}
