//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A little-endian float32 file.
pub fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(bytes.len() % 4, 0, "{}", path.display());
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

pub fn decode(path: &Path) -> cliper::frame::Frame {
    cliper::decode::decode_file(path).unwrap_or_else(|e| panic!("{e}"))
}

/// The `cliper` binary under test. `CLIPER_TEST_RUNNER` (e.g. `qemu-aarch64 -L
/// /usr/aarch64-linux-gnu`) is put in front of it: cargo's target runner only wraps the test
/// binary, so a cross-compiled suite needs this to run the binary it spawns.
pub fn cliper_command() -> std::process::Command {
    let bin = env!("CARGO_BIN_EXE_cliper");
    let runner = std::env::var("CLIPER_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(words).arg(bin);
            cmd
        }
        None => std::process::Command::new(bin),
    }
}

/// The exit codes the binary promises (README, "Exit codes"): written out here, not taken
/// from the binary, so a test notices if they change.
pub mod exit {
    pub const OK: i32 = 0;
    pub const INPUT_FAILED: i32 = 1;
    pub const MODEL: i32 = 3;
    pub const CONFIG: i32 = 5;
    pub const SOURCE: i32 = 6;
}
