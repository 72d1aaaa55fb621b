//! Shared fakes and builders for tests: the unit tests of every module, and the integration
//! tests through the `testutil` feature (the crate is its own dev-dependency with it on).
//! Nothing here is built into the library otherwise.

use std::path::PathBuf;

/// A file of `tests/fixtures/capture/` (frames ffmpeg made from a real face photo).
pub fn capture_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/capture").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Largest and mean absolute per-channel difference of two images' bytes.
pub fn pixel_diff(a: &[u8], b: &[u8]) -> (u8, f64) {
    assert_eq!(a.len(), b.len());
    let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
    let sum: u64 = a.iter().zip(b).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    (max, sum as f64 / a.len() as f64)
}

/// A two-class descriptor set for encoder `toy` (dim 2; class `a` has two descriptors, `b`
/// one) with the given `scoring` JSON.
pub fn toy_descriptor_set(scoring: &str) -> String {
    format!(
        r#"{{"name": "toy-set", "encoder": "toy", "dim": 2, "scoring": {scoring}, "aggregate": "mean",
        "classes": [
          {{"label": "a", "descriptors": [{{"name": "a1", "embedding": [1.0, 0.0]}}, {{"name": "a2", "embedding": [0.0, 2.0], "bias": 0.5}}]}},
          {{"label": "b", "descriptors": [{{"name": "b1", "text": "a photo of b", "embedding": [-1.0, 1.0]}}]}}
        ]}}"#
    )
}
