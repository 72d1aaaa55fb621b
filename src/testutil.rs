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
