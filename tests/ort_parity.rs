//! tract vs onnxruntime on every committed ONNX file: the same input tensors, outputs equal
//! within 1e-4 (numpy's `allclose` with rtol = atol = 1e-4: absolute for values below 1,
//! relative above, since the detector's box outputs are in pixels up to ~200 where f32
//! summation order alone moves the fifth significant digit). Reference outputs:
//! export/reference/ort_outputs.py.

use crate::common::*;
use cliper::infer::tract::{raw_plan, run_f32};
use cliper::model::embedded;

#[test]
fn tract_matches_onnxruntime_on_every_model() {
    let index = read_json(&fixture("ort/index.json"));
    let models = index["models"].as_object().expect("models");
    // Every manifest in models/ has reference outputs, and every reference is checked.
    let manifests = std::fs::read_dir(root().join("models"))
        .expect("models/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert_eq!(models.len(), manifests, "ort/index.json must cover every model manifest");
    for (stem, entry) in models {
        let files = embedded::model(stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
        assert_eq!(entry["onnx_sha256"].as_str(), Some(files.manifest.sha256.as_str()), "{stem}: stale reference");
        let plan = raw_plan(&files).unwrap_or_else(|e| panic!("{stem}: {e}"));
        for (k, case) in entry["cases"].as_array().expect("cases").iter().enumerate() {
            let shape: Vec<usize> =
                case["input_shape"].as_array().expect("shape").iter().map(|v| v.as_u64().expect("dim") as usize).collect();
            let input = read_f32(&fixture(&format!("ort/{stem}.{k}.input.f32")));
            let outputs = run_f32(&plan, input, &shape).unwrap_or_else(|e| panic!("{stem}: {e:#}"));
            let expected = case["outputs"].as_array().expect("outputs");
            assert_eq!(outputs.len(), expected.len(), "{stem}: output count");
            for (got, want) in outputs.iter().zip(expected) {
                let name = want["name"].as_str().expect("name");
                let want = read_f32(&fixture(&format!("ort/{stem}.{k}.{name}.f32")));
                assert_eq!(got.len(), want.len(), "{stem} case {k} output {name}: size");
                for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                    assert!((a - b).abs() <= 1e-4 + 1e-4 * b.abs(), "{stem} case {k} output {name}[{i}]: tract {a} vs onnxruntime {b}");
                }
                eprintln!("{stem} case {k} {name}: max |tract - ort| = {:e}", max_abs_diff(got, &want));
            }
        }
    }
}
