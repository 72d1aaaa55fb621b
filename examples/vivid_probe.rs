//! Checks cliper's V4L2 capture against the kernel's vivid driver (run inside the VM of
//! `tests/vm/run_vivid.sh`): for YUYV, NV12 and RGB3 it opens the device through
//! `capture::v4l2`, captures frames and checks vivid's default 75% colour bars at the
//! centre of each bar, plus sequence numbers and timestamps. Prints one PASS/FAIL line per
//! format and a final `vivid_probe: PASS|FAIL`; exits 1 on failure.
//!
//! Usage: `vivid_probe [DEVICE] [--list]` (DEVICE defaults to the card name `vivid`).

use cliper::capture::convert::PixelFormat;
use cliper::capture::v4l2::{list_devices, V4l2Config, V4l2Source};
use cliper::capture::FrameSource;
use std::time::{Duration, Instant};

/// vivid's default pattern, left to right: ITU-R 75% bars (RGB 191 for "on").
const BARS: [(&str, [u8; 3]); 8] = [
    ("white", [191, 191, 191]),
    ("yellow", [191, 191, 0]),
    ("cyan", [0, 191, 191]),
    ("green", [0, 191, 0]),
    ("magenta", [191, 0, 191]),
    ("red", [191, 0, 0]),
    ("blue", [0, 0, 191]),
    ("black", [0, 0, 0]),
];

/// Largest per-channel error accepted at a bar centre: vivid quantises to limited-range
/// Y'CbCr (so ±1 from rounding there and ±1 from ours); 6 leaves room, while a wrong
/// matrix, swapped chroma or a stride error moves some bar by 20 or more.
const TOLERANCE: u8 = 6;

const FRAMES: usize = 5;

/// Bytes of padding a row asked of vivid.
const PADDING: u32 = 96;

fn probe(device: &str, format: PixelFormat) -> Result<String, String> {
    let mut config = V4l2Config::new(device);
    config.format = Some(format);
    config.width = 640;
    config.height = 360;
    config.timeout = Duration::from_secs(10);
    config.fps = Some(25);
    // vivid honours a larger bytesperline than width x bpp; ask for 96 bytes of padding a
    // row so the stride handling is exercised against a real driver.
    config.bytesperline = format.row_bytes(config.width).map(|row| row as u32 + PADDING);
    let mut source = V4l2Source::open(&config).map_err(|e| format!("open: {e}"))?;
    let layout = source.layout();
    let unpadded = layout.format.row_bytes(layout.width).unwrap_or(0) as u32;
    if layout.bytesperline != unpadded + PADDING {
        return Err(format!("driver gave bytesperline {}, asked for {}", layout.bytesperline, unpadded + PADDING));
    }
    let started = Instant::now();
    let mut frames = Vec::new();
    while frames.len() < FRAMES {
        match source.next_frame() {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return Err("stream ended".into()),
            Err(e) => return Err(format!("frame {}: {e}", frames.len())),
        }
    }
    let elapsed = started.elapsed();
    if frames[0].timestamp != Duration::ZERO {
        return Err(format!("first timestamp {:?}, expected 0", frames[0].timestamp));
    }
    for pair in frames.windows(2) {
        if pair[1].sequence <= pair[0].sequence || pair[1].timestamp <= pair[0].timestamp {
            return Err(format!(
                "sequence/timestamp not increasing: {} @ {:?} then {} @ {:?}",
                pair[0].sequence, pair[0].timestamp, pair[1].sequence, pair[1].timestamp
            ));
        }
    }
    let mut worst = 0u8;
    for f in &frames {
        let (w, h) = f.image.dimensions();
        if (w, h) != (layout.width, layout.height) {
            return Err(format!("frame is {w}x{h}, negotiated {}x{}", layout.width, layout.height));
        }
        // Rows in the lower half: vivid prints its status text at the top.
        for y in [h / 2, h * 3 / 4, h - 2] {
            for (i, (name, want)) in BARS.iter().enumerate() {
                let x = (2 * i as u32 + 1) * w / 16;
                let got = f.image.get_pixel(x, y).0;
                let err = got.iter().zip(want).map(|(a, b)| a.abs_diff(*b)).max().unwrap_or(0);
                worst = worst.max(err);
                if err > TOLERANCE {
                    return Err(format!("frame {} {name} bar at ({x},{y}) is {got:?}, expected {want:?} ±{TOLERANCE}", f.sequence));
                }
            }
        }
    }
    let last = &frames[FRAMES - 1];
    let span = last.timestamp.as_secs_f64();
    Ok(format!(
        "{}x{} bytesperline {} (width x bpp would be {}), {FRAMES} frames, seq {}..{}, \
         timestamps 0..{:.3}s ({:.1} fps by timestamps), driver fps {}, max bar error {worst}, wall {:.2}s",
        layout.width,
        layout.height,
        layout.bytesperline,
        layout.format.row_bytes(layout.width).unwrap_or(0),
        frames[0].sequence,
        last.sequence,
        span,
        if span > 0.0 { (FRAMES - 1) as f64 / span } else { 0.0 },
        source.fps().map_or("?".to_string(), |f| format!("{f:.1}")),
        elapsed.as_secs_f64(),
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let device = args.iter().find(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| "vivid".to_string());
    if args.iter().any(|a| a == "--list") {
        let stdout = std::io::stdout();
        if let Err(e) = list_devices(&mut stdout.lock()) {
            println!("vivid_probe: FAIL: listing devices: {e}");
            std::process::exit(1);
        }
    }
    let mut ok = true;
    for format in [PixelFormat::Yuyv, PixelFormat::Nv12, PixelFormat::Rgb3] {
        match probe(&device, format) {
            Ok(figures) => println!("vivid_probe: {format} PASS: {figures}"),
            Err(why) => {
                ok = false;
                println!("vivid_probe: {format} FAIL: {why}");
            }
        }
    }
    println!("vivid_probe: {}", if ok { "PASS" } else { "FAIL" });
    std::process::exit(if ok { 0 } else { 1 });
}
