//! Tiled detection on room-camera frames: 1920×1080 frames packed with downscaled crops of the
//! sample photos, so their faces are 32–160 px wide. The reference boxes are MediaPipe's own
//! detections of the full-resolution photos (tests/fixtures/golden/blazeface_full_range.json,
//! recorded by export/reference/blazeface_golden.py) mapped through each crop's known scale
//! and offset: an independent reference, not cliper's output.

use crate::common::*;
use cliper::detect::tiles::{TiledDetector, TilingOptions};
use cliper::detect::{BlazeFaceDetector, Detection, FaceDetector};
use cliper::frame::{BBox, Frame};
use cliper::model::embedded;
use image::{imageops, Rgb, RgbImage};

const FRAME_W: u32 = 1920;
const FRAME_H: u32 = 1080;
/// Each photo is placed once per size: the photo's smallest face gets this width (px); its
/// largest is at most 1.4 times that, so the set spans 32–160 px.
const SMALLEST_FACE: [f32; 5] = [32.0, 45.0, 64.0, 90.0, 114.0];
/// Context kept around the faces of a photo, in face widths.
const MARGIN: f32 = 0.6;

/// Frames with their reference boxes.
fn frames() -> Vec<(Frame, Vec<BBox>)> {
    let golden = read_json(&fixture("golden/blazeface_full_range.json"));
    let mut placements = Vec::new();
    for (image, want) in golden["images"].as_object().expect("images") {
        let photo = decode(&root().join("samples").join(image));
        let (pw, ph) = (photo.width() as f32, photo.height() as f32);
        let boxes: Vec<BBox> = want["detections"]
            .as_array()
            .expect("detections")
            .iter()
            .map(|d| {
                let b = ["xmin", "ymin", "width", "height"].map(|k| d["bbox"][k].as_f64().expect("bbox") as f32);
                BBox { x: b[0] * pw, y: b[1] * ph, w: b[2] * pw, h: b[3] * ph }
            })
            .collect();
        let smallest = boxes.iter().map(|b| b.w).fold(f32::INFINITY, f32::min);
        let largest = boxes.iter().map(|b| b.w).fold(0.0, f32::max);
        let m = MARGIN * largest;
        let x0 = boxes.iter().map(|b| b.x).fold(f32::INFINITY, f32::min) - m;
        let y0 = boxes.iter().map(|b| b.y).fold(f32::INFINITY, f32::min) - m;
        let x1 = boxes.iter().map(|b| b.x + b.w).fold(0.0, f32::max) + m;
        let y1 = boxes.iter().map(|b| b.y + b.h).fold(0.0, f32::max) + m;
        let (x0, y0) = (x0.max(0.0).floor(), y0.max(0.0).floor());
        let (x1, y1) = (x1.min(pw).ceil(), y1.min(ph).ceil());
        let region = imageops::crop_imm(&photo, x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32).to_image();
        for &face in &SMALLEST_FACE {
            let s = face / smallest;
            let (w, h) = (((x1 - x0) * s).round() as u32, ((y1 - y0) * s).round() as u32);
            let scaled = imageops::resize(&region, w, h, imageops::FilterType::Triangle);
            let refs: Vec<BBox> = boxes.iter().map(|b| BBox { x: (b.x - x0) * s, y: (b.y - y0) * s, w: b.w * s, h: b.h * s }).collect();
            placements.push((scaled, refs));
        }
    }
    // Shelf packing, largest first, 16 px apart on a grey background.
    placements.sort_by_key(|(img, _)| std::cmp::Reverse(img.height()));
    let mut out: Vec<(Frame, Vec<BBox>)> = Vec::new();
    let (mut x, mut y, mut shelf) = (FRAME_W, FRAME_H, 0);
    for (img, refs) in placements {
        assert!(img.width() <= FRAME_W && img.height() <= FRAME_H, "crop {}x{} does not fit", img.width(), img.height());
        if x + img.width() > FRAME_W {
            (x, y, shelf) = (0, y + shelf + 16, 0);
        }
        if y + img.height() > FRAME_H {
            out.push((RgbImage::from_pixel(FRAME_W, FRAME_H, Rgb([128, 128, 128])), vec![]));
            (x, y, shelf) = (0, 0, 0);
        }
        let (frame, all) = out.last_mut().expect("a frame");
        imageops::replace(frame, &img, x as i64, y as i64);
        all.extend(refs.into_iter().map(|b| BBox { x: b.x + x as f32, y: b.y + y as f32, ..b }));
        x += img.width() + 16;
        shelf = shelf.max(img.height());
    }
    out
}

/// (faces found, reference faces, extra boxes) with greedy one-to-one matching at IoU ≥ 0.4.
fn score(det: &mut dyn FaceDetector, frames: &[(Frame, Vec<BBox>)]) -> (usize, usize, usize) {
    let (mut found, mut total, mut extra) = (0, 0, 0);
    for (frame, refs) in frames {
        let mut got: Vec<Detection> = det.detect(frame).expect("detect");
        total += refs.len();
        for r in refs {
            let best = got.iter().enumerate().map(|(i, d)| (i, d.bbox.iou(r))).max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, _)) = best.filter(|&(_, iou)| iou >= 0.4) {
                found += 1;
                got.swap_remove(i);
            }
        }
        extra += got.len();
    }
    (found, total, extra)
}

#[test]
fn tiled_detection_finds_faces_of_32_to_160_px_in_1080p_frames() {
    let frames = frames();
    let files = embedded::model("blazeface_full_range").expect("model");
    let whole = BlazeFaceDetector::load(&files).expect("load");
    let opts = TilingOptions::for_input(whole.input_side());
    let iou = whole.options().nms_iou;
    let mut whole_only = TiledDetector::new(whole, TilingOptions { min_face: 0, ..opts }, iou);
    let mut tiled = TiledDetector::new(BlazeFaceDetector::load(&files).expect("load"), opts, iou);

    let (found, total, extra) = score(&mut tiled, &frames);
    let (whole_found, _, _) = score(&mut whole_only, &frames);
    eprintln!(
        "{} frames, {total} faces: tiled found {found}, {extra} extra boxes, {} detector runs a frame; whole frame only found {whole_found}",
        frames.len(),
        tiled.calls as usize / frames.len()
    );
    assert!(total >= 100, "{total} reference faces");
    assert!(found as f64 >= 0.95 * total as f64, "recall {found}/{total}");
    assert!(extra as f64 <= 0.05 * total as f64, "{extra} extra boxes for {total} faces");
    // The frames are a real test of tiling: the whole frame alone misses most faces.
    assert!((whole_found as f64) < 0.5 * total as f64, "whole frame alone found {whole_found}/{total}");
}
