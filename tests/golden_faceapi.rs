//! The expression path against face-api.js itself (tfjs CPU backend in Node):
//! export/reference/faceapi_golden.mjs wrote the probabilities, embeddings and the
//! preprocessed input tensors used here.

use crate::common::*;
use cliper::classify::{Classifier, FoldedClassifier};
use cliper::model::embedded;
use cliper::preprocess::{prepare, CropRef};

fn classifier() -> FoldedClassifier {
    let set = embedded::descriptor_set("faceapi_expression").expect("descriptors");
    FoldedClassifier::load(&embedded::model("faceapi_expression").expect("encoder"), &set).expect("load")
}

#[test]
fn preprocessing_reproduces_face_api_pad_resize_normalise() {
    let golden = read_json(&fixture("golden/faceapi_expression.json"));
    let c = classifier();
    let cases = golden["preprocessed"].as_array().expect("preprocessed");
    assert!(cases.len() >= 2);
    for case in cases {
        let crop = decode(&fixture(&format!("faces/{}", case["file"].as_str().expect("file"))));
        assert_ne!(crop.width(), crop.height(), "the cases exercise padding");
        let want_nhwc = read_f32(&fixture(&format!("golden/{}", case["input"].as_str().expect("input"))));
        let got = prepare(&crop, c.input_spec()).data; // NCHW
        let n = 112 * 112;
        let got_nhwc: Vec<f32> = (0..n * 3).map(|i| got[(i % 3) * n + i / 3]).collect();
        let diff = max_abs_diff(&got_nhwc, &want_nhwc);
        assert!(diff <= 1e-5, "{}: preprocessing differs from face-api by {diff}", case["file"]);
    }
}

#[test]
fn probabilities_match_face_api_on_real_face_crops() {
    let golden = read_json(&fixture("golden/faceapi_expression.json"));
    let mut c = classifier();
    let labels = c.folded().labels.clone();
    let faces = golden["faces"].as_array().expect("faces");
    assert!(faces.len() >= 20, "at least 20 real crops");
    let (mut worst_prob, mut worst_emb) = (0f32, 0f32);
    for face in faces {
        let file = face["file"].as_str().expect("file");
        let crop = decode(&fixture(&format!("faces/{file}")));
        let result = c.classify(CropRef::from(&crop)).expect("classify");
        let want: Vec<f32> = labels.iter().map(|l| face["probs"][l].as_f64().expect("prob") as f32).collect();
        let want_emb: Vec<f32> = face["embedding"].as_array().expect("emb").iter().map(|v| v.as_f64().expect("f") as f32).collect();
        let dp = max_abs_diff(&result.probs, &want);
        let de = max_abs_diff(&result.embedding, &want_emb);
        assert!(dp <= 1e-3, "{file}: probabilities differ from face-api by {dp}");
        let want_top = cliper::classify::scores::argmax(&want);
        assert_eq!(Some(result.best_class()), want_top, "{file}: top-1 differs from face-api");
        worst_prob = worst_prob.max(dp);
        worst_emb = worst_emb.max(de);
    }
    eprintln!("face-api parity over {} crops: max |dp| {worst_prob:e}, max |d embedding| {worst_emb:e}", faces.len());
}
