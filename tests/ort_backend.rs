//! The ONNX Runtime backend (feature `ort`) against tract, on the bundled photos and face
//! crops, for every model: ONNX Runtime is an independent implementation of the same ONNX
//! files, so agreement here checks both the backend seam and the ONNX-side folding.
//!
//! Needs `ORT_DYLIB_PATH` pointing at libonnxruntime.so (`.ci/run` takes it from PyPI's
//! onnxruntime 1.20.1 wheel). Without it these tests fail, naming the variable.

use crate::common::*;
use cliper::classify::{Classifier, FoldedClassifier};
use cliper::detect::{BlazeFaceDetector, FaceDetector};
use cliper::infer::{self, BackendKind, InferenceConfig, OrtOptions, Provider};
use cliper::model::embedded;
use cliper::model::manifest::ModelFiles;
use cliper::model::DescriptorSet;
use cliper::preprocess::prepare;

fn ort(providers: &[Provider], allow_fallback: bool) -> InferenceConfig {
    let library =
        std::env::var_os("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH must name libonnxruntime.so for the ort backend tests (see .ci/run)");
    InferenceConfig {
        backend: BackendKind::Ort,
        ort: OrtOptions { library: Some(library.into()), providers: providers.to_vec(), allow_fallback, ..OrtOptions::default() },
        ..InferenceConfig::default()
    }
}

fn cpu() -> InferenceConfig {
    ort(&[Provider::Cpu], false)
}

fn samples() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(root().join("samples"))
        .expect("samples/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    v.sort();
    assert!(v.len() >= 6);
    v
}

fn face_crops() -> Vec<cliper::frame::Frame> {
    let mut v: Vec<_> = std::fs::read_dir(fixture("faces")).expect("faces").map(|e| e.expect("entry").path()).collect();
    v.sort();
    assert!(v.len() >= 20);
    v.iter().map(|p| decode(p)).collect()
}

#[test]
fn detectors_find_the_same_faces_on_both_backends() {
    for name in ["blazeface_full_range", "blazeface_short_range"] {
        let files = embedded::model(name).expect("model");
        let mut tract = BlazeFaceDetector::load(&files).expect("tract");
        let mut onnxrt = BlazeFaceDetector::load_with(&files, &cpu()).expect("ort");
        assert!(onnxrt.backend().starts_with("ort ["), "{}", onnxrt.backend());
        let mut faces = 0;
        for path in samples() {
            let frame = decode(&path);
            let a = tract.detect(&frame).expect("tract detect");
            let b = onnxrt.detect(&frame).expect("ort detect");
            assert_eq!(a.len(), b.len(), "{name} {}: face count", path.display());
            for (x, y) in a.iter().zip(&b) {
                assert!((x.score - y.score).abs() <= 1e-4, "{name}: score {} vs {}", x.score, y.score);
                // Boxes are in frame pixels (up to ~2000): relative 1e-5 of the frame.
                let tol = 1e-5 * frame.width().max(frame.height()) as f32;
                for (p, q) in [(x.bbox.x, y.bbox.x), (x.bbox.y, y.bbox.y), (x.bbox.w, y.bbox.w), (x.bbox.h, y.bbox.h)] {
                    assert!((p - q).abs() <= tol, "{name} {}: box {p} vs {q}", path.display());
                }
            }
            faces += a.len();
        }
        // Full range finds all 22 faces of the six photos; short range (within ~2 m) fewer.
        let expected = if name.contains("full") { 22 } else { 10 };
        assert!(faces >= expected, "{name}: {faces} faces on the samples");
    }
}

fn assert_same_scores(files: &ModelFiles, set: &DescriptorSet, crops: &[cliper::frame::Frame]) {
    let mut tract = FoldedClassifier::load(files, set).expect("tract");
    let mut onnxrt = FoldedClassifier::load_with(files, set, &cpu()).expect("ort");
    let (mut worst_prob, mut worst_logit) = (0f32, 0f32);
    for crop in crops {
        let a = tract.classify(crop.into()).expect("tract");
        let b = onnxrt.classify(crop.into()).expect("ort");
        worst_prob = worst_prob.max(max_abs_diff(&a.probs, &b.probs));
        // Cosine logits are ×100: compare relative to their size.
        let scale = a.descriptor_logits.iter().fold(1f32, |m, v| m.max(v.abs()));
        worst_logit = worst_logit.max(max_abs_diff(&a.descriptor_logits, &b.descriptor_logits) / scale);
        assert_eq!(a.best_class(), b.best_class());
    }
    eprintln!("{}: tract vs ort max |Δprob| {worst_prob:.2e}, max relative |Δdescriptor logit| {worst_logit:.2e}", files.manifest.name);
    assert!(worst_prob <= 1e-4, "{}: probabilities differ by {worst_prob}", files.manifest.name);
    assert!(worst_logit <= 1e-4, "{}: descriptor logits differ by {worst_logit}", files.manifest.name);
}

#[test]
fn the_expression_model_scores_the_same_on_both_backends() {
    let files = embedded::model("faceapi_expression").expect("encoder");
    let set = embedded::descriptor_set("faceapi_expression").expect("descriptors");
    assert_same_scores(&files, &set, &face_crops());
}

#[test]
fn a_cliper_architecture_encoder_with_cosine_descriptors_scores_the_same_on_both_backends() {
    // Random weights: a check of the ViT graph and the 7x5 cosine folding, not a model.
    let files = ModelFiles::load(&fixture("cliper_tiny/cliper_tiny.toml")).expect("manifest");
    let set = DescriptorSet::load(&fixture("cliper_tiny/cliper_tiny.json")).expect("set");
    assert_same_scores(&files, &set, &face_crops()[..8]);
}

#[test]
fn raw_outputs_agree_for_every_model() {
    for name in ["blazeface_full_range", "blazeface_short_range", "faceapi_expression"] {
        let files = embedded::model(name).expect("model");
        let spec = files.manifest.input_spec();
        let input = prepare(&decode(&root().join("samples/sample1.jpg")), &spec).data;
        let mut a = infer::load(&files, None, &InferenceConfig::default()).expect("tract");
        let mut b = infer::load(&files, None, &cpu()).expect("ort");
        assert_eq!(a.output_shapes(), b.output_shapes(), "{name}");
        let (x, y) = (a.run(input.clone()).expect("tract"), b.run(input).expect("ort"));
        for (p, q) in x.iter().zip(&y) {
            let scale = p.iter().fold(1f32, |m, v| m.max(v.abs()));
            let d = max_abs_diff(p, q) / scale;
            assert!(d <= 1e-4, "{name}: outputs differ by {d} (relative)");
        }
    }
}

#[test]
fn an_unavailable_provider_is_an_error_unless_fallback_is_allowed() {
    // PyPI's onnxruntime wheel is CPU-only: CUDA and TensorRT cannot register.
    let files = embedded::model("faceapi_expression").expect("encoder");
    let set = embedded::descriptor_set("faceapi_expression").expect("descriptors");
    for provider in [Provider::Cuda, Provider::Tensorrt] {
        let err = FoldedClassifier::load_with(&files, &set, &ort(&[provider, Provider::Cpu], false))
            .err()
            .unwrap_or_else(|| panic!("{provider:?} must not register on a CPU-only ONNX Runtime"));
        let msg = err.to_string();
        assert!(msg.contains(provider.name()) && msg.contains("could not be registered"), "{msg}");
        assert!(msg.contains("allow_fallback"), "the error says how to go on: {msg}");
    }
    let mut fallback = FoldedClassifier::load_with(&files, &set, &ort(&[Provider::Tensorrt, Provider::Cuda, Provider::Cpu], true))
        .expect("fallback allowed");
    assert!(fallback.backend().ends_with("[cpu]"), "only the CPU provider took: {}", fallback.backend());
    let mut tract = FoldedClassifier::load(&files, &set).expect("tract");
    let crop = &face_crops()[0];
    let d = max_abs_diff(&tract.classify(crop.into()).expect("tract").probs, &fallback.classify(crop.into()).expect("ort").probs);
    assert!(d <= 1e-4, "fallback scores like tract: {d}");
}

#[test]
fn classify_on_the_ort_backend_from_the_command_line() {
    let lib = std::env::var("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH");
    let sample = root().join("samples/sample1.jpg");
    let run = |args: &[&str]| cliper_command().args(args).env("RUST_LOG", "warn").output().expect("run cliper");
    let tract = run(&["classify", "--json", sample.to_str().expect("utf8")]);
    let onnxrt = run(&["classify", "--json", "--backend", "ort", "--ort-library", &lib, sample.to_str().expect("utf8")]);
    assert_eq!(onnxrt.status.code(), Some(0), "{}", String::from_utf8_lossy(&onnxrt.stderr));
    let labels = |o: &std::process::Output| -> Vec<String> {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json")["expression"].as_str().expect("expression").to_owned())
            .collect()
    };
    assert_eq!(labels(&tract), labels(&onnxrt));
    assert!(labels(&tract).len() >= 3);
    // A library that is not there: exit 3 (model), naming the path.
    let bad = run(&["classify", "--backend", "ort", "--ort-library", "/nonexistent/libonnxruntime.so", sample.to_str().expect("utf8")]);
    assert_eq!(bad.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("/nonexistent/libonnxruntime.so"), "{stderr}");
}
