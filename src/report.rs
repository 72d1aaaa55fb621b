//! Rendering results for people and for programs: one human-readable line or one JSON
//! object per face.

use crate::model::Folded;
use crate::pipeline::FaceResult;
use serde_json::{json, Map, Value};

fn round(v: f32, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v as f64 * f).round() / f
}

/// The JSON object for one face (`cliper classify --json`).
pub fn face_json(image: &str, r: &FaceResult, folded: &Folded) -> Value {
    let c = &r.classification;
    let best = c.best_class();
    let k = c.best_descriptor_of(best, folded);
    let probs: Map<String, Value> = folded.labels.iter().zip(&c.probs).map(|(l, p)| (l.clone(), json!(*p as f64))).collect();
    let class_logits: Map<String, Value> = folded.labels.iter().zip(&c.class_logits).map(|(l, v)| (l.clone(), json!(*v as f64))).collect();
    json!({
        "image": image,
        "face": r.face,
        "bbox": [round(r.bbox.x, 1), round(r.bbox.y, 1), round(r.bbox.w, 1), round(r.bbox.h, 1)],
        "face_px": r.face_px(),
        "detection_score": r.detection_score.map(|s| s as f64),
        "expression": folded.labels.get(best),
        "confidence": c.probs.get(best).map(|p| *p as f64),
        "probs": probs,
        "logits": class_logits,
        "descriptor": {
            "name": folded.descriptor_names.get(k),
            "logit": c.descriptor_logits.get(k).map(|l| *l as f64),
        },
        "keypoints": r.keypoints.iter().map(|p| [round(p.x, 1), round(p.y, 1)]).collect::<Vec<_>>(),
    })
}

/// One line for a person: where the face is, what it shows, how sure, and why.
pub fn face_line(image: &str, r: &FaceResult, folded: &Folded) -> String {
    let c = &r.classification;
    let best = c.best_class();
    let k = c.best_descriptor_of(best, folded);
    let label = folded.labels.get(best).map(String::as_str).unwrap_or("?");
    let mut ranked: Vec<(usize, f32)> = c.probs.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let runner_up = ranked
        .get(1)
        .map(|(i, p)| format!(", then {} {:.0}%", folded.labels.get(*i).map(String::as_str).unwrap_or("?"), p * 100.0))
        .unwrap_or_default();
    let det = r.detection_score.map(|s| format!(" (face {:.2})", s)).unwrap_or_default();
    format!(
        "{image} #{face} at {x:.0},{y:.0} {w:.0}x{h:.0}{det}: {label} {conf:.0}%{runner_up} [descriptor {desc} {logit:.2}]",
        face = r.face,
        x = r.bbox.x,
        y = r.bbox.y,
        w = r.bbox.w,
        h = r.bbox.h,
        conf = c.probs.get(best).copied().unwrap_or(0.0) * 100.0,
        desc = folded.descriptor_names.get(k).map(String::as_str).unwrap_or("?"),
        logit = c.descriptor_logits.get(k).copied().unwrap_or(f32::NAN),
    )
}

/// The JSON line for an image in which no face was found: every input gets a line.
pub fn no_face_json(image: &str) -> Value {
    json!({ "image": image, "faces": 0 })
}

/// The JSON error line for an input that failed.
pub fn error_json(image: &str, error: &str) -> Value {
    json!({ "image": image, "error": error })
}
