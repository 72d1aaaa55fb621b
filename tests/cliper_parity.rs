//! The CLIPER path against PyTorch: tests/fixtures/cliper_tiny/ holds a CLIPER-architecture
//! model with random weights (reduced width and depth, same op types as ViT-B/16), its METD
//! descriptor set (7 classes x 5 descriptors, cosine 100, mean), CLIP's reference preprocessing of
//! real face crops (open_clip.image_transform: PIL bicubic, centre crop, normalise) and PyTorch's
//! embeddings and logits, all written by export/cliper/make_tiny_fixture.py.

use crate::common::*;
use cliper::classify::{Classification, Classifier, FoldedClassifier};
use cliper::model::manifest::ModelFiles;
use cliper::model::DescriptorSet;
use cliper::preprocess::prepare;
use std::collections::HashMap;

const DIR: &str = "cliper_tiny";

struct Case {
    face: String,
    input: Vec<f32>,
    embedding: Vec<f32>,
    descriptor_logits: Vec<f32>,
    class_logits: Vec<f32>,
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

fn reference() -> (Vec<String>, Vec<String>, Vec<Case>) {
    let r = read_json(&fixture(&format!("{DIR}/reference.json")));
    let strings = |k: &str| -> Vec<String> { r[k].as_array().expect(k).iter().map(|s| s.as_str().expect("string").to_owned()).collect() };
    let cases = r["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| Case {
            face: c["face"].as_str().expect("face").to_owned(),
            input: read_f32(&fixture(&format!("{DIR}/{}", c["input"].as_str().expect("input")))),
            embedding: floats(&c["embedding"]),
            descriptor_logits: floats(&c["descriptor_logits"]),
            class_logits: floats(&c["class_logits"]),
        })
        .collect();
    (strings("labels"), strings("descriptor_names"), cases)
}

fn files() -> ModelFiles {
    ModelFiles::load(&fixture(&format!("{DIR}/cliper_tiny.toml"))).expect("manifest")
}

fn set() -> DescriptorSet {
    DescriptorSet::load(&fixture(&format!("{DIR}/cliper_tiny.json"))).expect("descriptor set")
}

/// The library's rule (the first maximum wins), applied to the reference logits.
fn argmax(v: &[f32]) -> usize {
    cliper::classify::scores::argmax(v).expect("non-empty")
}

#[test]
fn tiny_cliper_matches_pytorch_logits() {
    let (labels, names, cases) = reference();
    let set = set();
    assert_eq!((set.classes.len(), set.descriptor_count()), (7, 35), "CLIPER's METD shape");
    let mut c = FoldedClassifier::load(&files(), &set).expect("load");
    assert_eq!(c.folded().labels, labels);
    assert_eq!(c.folded().descriptor_names, names);
    assert!(cases.len() >= 8, "at least 8 real face crops");
    let tops: std::collections::HashSet<usize> = cases.iter().map(|k| argmax(&k.class_logits)).collect();
    assert!(tops.len() >= 3, "the fixture's top-1 varies across faces, so a label mix-up shows");
    let (mut worst_class, mut worst_desc, mut worst_emb) = (0f32, 0f32, 0f32);
    for case in &cases {
        let got = c.classify_prepared(case.input.clone()).expect("classify");
        let dc = max_abs_diff(&got.class_logits, &case.class_logits);
        let dd = max_abs_diff(&got.descriptor_logits, &case.descriptor_logits);
        let de = max_abs_diff(&got.embedding, &case.embedding);
        assert!(dc <= 1e-4, "{}: class logits differ from PyTorch by {dc}", case.face);
        assert!(dd <= 1e-4, "{}: descriptor logits differ from PyTorch by {dd}", case.face);
        assert!(de <= 1e-4, "{}: embedding differs from PyTorch by {de}", case.face);
        assert_eq!(got.best_class(), argmax(&case.class_logits), "{}: top-1 differs from PyTorch", case.face);
        worst_class = worst_class.max(dc);
        worst_desc = worst_desc.max(dd);
        worst_emb = worst_emb.max(de);
    }
    eprintln!(
        "cliper-tiny vs PyTorch over {} crops: max |d class| {worst_class:e}, max |d descriptor| {worst_desc:e}, max |d embedding| {worst_emb:e}",
        cases.len()
    );
}

/// Logits of a classification keyed by class label and by descriptor name.
fn keyed(c: &Classification, cl: &FoldedClassifier) -> (HashMap<String, f32>, HashMap<String, f32>) {
    let f = cl.folded();
    let classes = f.labels.iter().cloned().zip(c.class_logits.iter().copied()).collect();
    let descs = f.descriptor_names.iter().cloned().zip(c.descriptor_logits.iter().copied()).collect();
    (classes, descs)
}

#[test]
fn reordered_and_reduced_sets_give_the_same_logits_per_label() {
    let (labels, names, cases) = reference();
    let files = files();
    let original = set();
    // Classes reversed, and each class's descriptors rotated by one and reversed.
    let mut reordered = original.clone();
    reordered.classes.reverse();
    for class in &mut reordered.classes {
        class.descriptors.rotate_left(1);
        class.descriptors.reverse();
    }
    reordered.name = "cliper-tiny-reordered".into();
    let subset = ["neutral", "happy", "fear"];
    let reduced = original.select(&subset).expect("select");
    let mut runs = [
        ("reordered", FoldedClassifier::load(&files, &reordered).expect("reordered")),
        ("reduced", FoldedClassifier::load(&files, &reduced).expect("reduced")),
    ];
    assert_eq!(runs[0].1.folded().labels.first().map(String::as_str), Some("neutral"));
    assert_ne!(runs[0].1.folded().descriptor_names, names, "the descriptor order really changed");
    assert_eq!(runs[1].1.folded().labels, subset);
    assert_eq!(runs[1].1.folded().descriptors(), 15);
    for case in &cases {
        let want_class: HashMap<&str, f32> = labels.iter().map(String::as_str).zip(case.class_logits.iter().copied()).collect();
        let want_desc: HashMap<&str, f32> = names.iter().map(String::as_str).zip(case.descriptor_logits.iter().copied()).collect();
        for (what, cl) in runs.iter_mut() {
            let got = cl.classify_prepared(case.input.clone()).expect("classify");
            let (classes, descs) = keyed(&got, &*cl);
            for (label, logit) in &classes {
                let want = want_class[label.as_str()];
                assert!((logit - want).abs() <= 1e-4, "{what} {}: class {label} {logit} vs PyTorch {want}", case.face);
            }
            for (name, logit) in &descs {
                let want = want_desc[name.as_str()];
                assert!((logit - want).abs() <= 1e-4, "{what} {}: descriptor {name} {logit} vs PyTorch {want}", case.face);
            }
            // The reduced set's winner is the best of the kept classes in PyTorch's logits.
            let best = cl.folded().labels[argmax(&got.class_logits)].clone();
            let want_best = subset_best(&want_class, &cl.folded().labels);
            assert_eq!(best, want_best, "{what} {}", case.face);
        }
    }
}

fn subset_best(want: &HashMap<&str, f32>, labels: &[String]) -> String {
    let logits: Vec<f32> = labels.iter().map(|l| want[l.as_str()]).collect();
    labels[argmax(&logits)].clone()
}

/// Our `shorter_center_crop_bicubic` (the `image` crate's Catmull-Rom, support widened when
/// downscaling, with torchvision's resize/crop geometry) against CLIP's reference preprocessing
/// (torchvision Resize(bicubic) on PIL + CenterCrop) on the fixture's 12 crops at 64x64. The
/// resamplers are not bit-identical (PIL rounds to 8 bits between its horizontal and vertical
/// passes and uses fixed-point weights): measured, the mean difference per crop is at most
/// 0.16 px and single values differ by at most 2 px (0..255 units). A crop one pixel off (what
/// rounding the longer side or flooring the crop offset did) shows as a mean of 4-9 px.
#[test]
fn clip_preprocessing_is_close_to_pil() {
    let (_, _, cases) = reference();
    let mut c = FoldedClassifier::load(&files(), &set()).expect("load");
    let spec = c.input_spec().clone();
    let (mut worst_mean, mut worst_max, mut worst_logit) = (0f32, 0f32, 0f32);
    for case in &cases {
        let crop = decode(&fixture(&format!("faces/{}", case.face)));
        let ours = prepare(&crop, &spec).data;
        // In 0..255 pixel units: undo the per-channel std.
        let n = spec.width * spec.height;
        let diffs: Vec<f32> = ours.iter().zip(&case.input).enumerate().map(|(i, (a, b))| (a - b).abs() * spec.std[i / n]).collect();
        let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
        let got = c.classify_prepared(ours).expect("classify");
        let dl = max_abs_diff(&got.class_logits, &case.class_logits);
        let max = diffs.iter().copied().fold(0.0, f32::max);
        eprintln!("{}: mean |ours - PIL| {mean:.3} px, max {max:.2} px; class logits move {dl:.3}", case.face);
        worst_mean = worst_mean.max(mean);
        worst_max = worst_max.max(max);
        worst_logit = worst_logit.max(dl);
    }
    eprintln!(
        "preprocessing vs PIL over {} crops: worst mean |d| {worst_mean:.3} px, worst max |d| {worst_max:.2} px, worst class-logit move {worst_logit:.3}",
        cases.len()
    );
    assert!(worst_mean <= MEAN_PX, "mean pixel difference from PIL {worst_mean} > {MEAN_PX}");
    assert!(worst_max <= MAX_PX, "a pixel differs from PIL by {worst_max} > {MAX_PX}");
}

/// Bounds on |ours - PIL| in 0..255 pixel units: mean over one crop, and any single value.
const MEAN_PX: f32 = 0.3;
const MAX_PX: f32 = 3.0;
