//! Face detection against MediaPipe's own Python solution (same BlazeFace tflite files):
//! export/reference/blazeface_golden.py recorded its detections on the sample photos.

use crate::common::*;
use cliper::detect::{BlazeFaceDetector, FaceDetector};
use cliper::model::embedded;

/// Relative-coordinate tolerance: MediaPipe letterboxes with OpenCV on its own JPEG decode;
/// a pixel of difference in a 1920-px photo is 5e-4.
const COORD_TOL: f64 = 0.01;
const SCORE_TOL: f64 = 0.03;

fn check(variant: &str) {
    let golden = read_json(&fixture(&format!("golden/blazeface_{variant}.json")));
    let mut det = BlazeFaceDetector::load(&embedded::model(&format!("blazeface_{variant}")).expect("model")).expect("load");
    let (mut worst_box, mut worst_kp, mut worst_score) = (0f64, 0f64, 0f64);
    for (image, want) in golden["images"].as_object().expect("images") {
        let frame = decode(&root().join("samples").join(image));
        let (w, h) = (frame.width() as f64, frame.height() as f64);
        let got = det.detect(&frame).expect("detect");
        let want = want["detections"].as_array().expect("detections");
        assert_eq!(got.len(), want.len(), "{variant} {image}: face count differs from MediaPipe");
        for wd in want {
            let b = &wd["bbox"];
            let wb = ["xmin", "ymin", "width", "height"].map(|k| b[k].as_f64().expect("bbox"));
            // Pair by nearest box centre.
            let g = got
                .iter()
                .min_by(|a, c| {
                    let d = |x: &cliper::detect::Detection| {
                        let cx = (x.bbox.x as f64 + x.bbox.w as f64 / 2.0) / w - (wb[0] + wb[2] / 2.0);
                        let cy = (x.bbox.y as f64 + x.bbox.h as f64 / 2.0) / h - (wb[1] + wb[3] / 2.0);
                        cx * cx + cy * cy
                    };
                    d(a).total_cmp(&d(c))
                })
                .expect("a detection");
            let gb = [g.bbox.x as f64 / w, g.bbox.y as f64 / h, g.bbox.w as f64 / w, g.bbox.h as f64 / h];
            let db = gb.iter().zip(&wb).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(db <= COORD_TOL, "{variant} {image}: box {gb:?} vs MediaPipe {wb:?}");
            let ds = (g.score as f64 - wd["score"].as_f64().expect("score")).abs();
            assert!(ds <= SCORE_TOL, "{variant} {image}: score {} vs MediaPipe {}", g.score, wd["score"]);
            for (k, kp) in wd["keypoints"].as_array().expect("keypoints").iter().enumerate() {
                let (kx, ky) = (kp[0].as_f64().expect("x"), kp[1].as_f64().expect("y"));
                let dk = ((g.keypoints[k].x as f64 / w - kx).abs()).max((g.keypoints[k].y as f64 / h - ky).abs());
                assert!(dk <= COORD_TOL, "{variant} {image}: keypoint {k} off by {dk}");
                worst_kp = worst_kp.max(dk);
            }
            worst_box = worst_box.max(db);
            worst_score = worst_score.max(ds);
        }
    }
    eprintln!("{variant}: worst box {worst_box:e}, keypoint {worst_kp:e}, score {worst_score:e} vs MediaPipe");
}

#[test]
fn full_range_detections_match_mediapipe() {
    check("full_range");
}

#[test]
fn short_range_detections_match_mediapipe() {
    check("short_range");
}
