//! `cliper run` end to end on a replayed sequence built from real photos: two people's
//! faces in turn at the same place, then nobody. Expected: start (the first person's
//! expression), change (the second's), end.

use crate::common::*;
use std::path::Path;

/// Cut a face region of a sample photo with generous context and place it on a grey canvas.
fn frame_with(photo: &str, region: (u32, u32, u32, u32)) -> image::RgbImage {
    let src = decode(&root().join("samples").join(photo));
    let (l, t, r, b) = region;
    let (cx, cy) = ((l + r) / 2, (t + b) / 2);
    let half = (r - l).max(b - t) * 3 / 4; // 1.5 face boxes: hair and chin in view
    let face = image::imageops::crop_imm(&src, cx - half, cy - half, 2 * half, 2 * half).to_image();
    let face = image::imageops::resize(&face, 320, 320, image::imageops::FilterType::Triangle);
    let mut canvas = image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
    image::imageops::overlay(&mut canvas, &face, 160, 80);
    canvas
}

fn write_sequence(dir: &Path) {
    // Boxes from export/reference/make_face_crops.py: sample3 face 2 (face-api: happy 1.00)
    // and sample5 face 1 (face-api: neutral 0.89).
    let happy = frame_with("sample3.jpg", (1050, 230, 1330, 550));
    let neutral = frame_with("sample5.jpg", (720, 110, 950, 350));
    let empty = image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128]));
    for i in 0..45 {
        let f = match i {
            0..15 => &happy,
            15..30 => &neutral,
            _ => &empty,
        };
        f.save(dir.join(format!("{i:03}.png"))).expect("save frame");
    }
}

#[test]
fn run_reports_start_change_and_end_for_a_replayed_sequence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let frames = tmp.path().join("frames");
    std::fs::create_dir(&frames).expect("mkdir");
    write_sequence(&frames);
    let config = tmp.path().join("cliper.toml");
    std::fs::write(
        &config,
        format!(
            "camera = \"test\"\n[source]\ntype = \"images\"\npath = \"{}\"\nfps = 15\n[pipeline]\nstats_interval_s = 0\n",
            frames.display()
        ),
    )
    .expect("config");
    let out = cliper_command().args(["run", "--config", config.to_str().expect("utf8")]).output().expect("run cliper");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let events: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect();
    let summary: Vec<(String, u64, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("?").to_owned(),
                e["track"].as_u64().unwrap_or(0),
                e["expression"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect();
    let track = summary.first().map(|s| s.1).unwrap_or(0);
    assert_eq!(
        summary,
        vec![
            ("start".to_owned(), track, "happy".to_owned()),
            ("change".to_owned(), track, "neutral".to_owned()),
            ("end".to_owned(), track, "neutral".to_owned()),
        ],
        "{stderr}"
    );
    let change = &events[1];
    assert_eq!(change["previous"], "happy");
    assert_eq!(change["camera"], "test");
    // The change comes within the smoothing dwell plus half a second of the swap (frame 15).
    let t = change["timestamp"].as_f64().expect("timestamp");
    assert!((1.0..=1.0 + 0.5 + 0.1).contains(&t), "change at {t}s");
    assert_eq!(change["clip"]["probs"].as_object().expect("clip probs").len(), 7);
    assert!(change["clip_frames"].as_u64().expect("clip frames") >= 1);
    assert!(change["descriptor"]["name"].as_str().expect("descriptor").starts_with("fc."));
    // The end is announced after the face has been gone for max_age (1 s) or at the end.
    assert!(events[2]["timestamp"].as_f64().expect("ts") < 2.0 + 1e-6);
}
