//! Integration tests: one binary, one module per concern. Fixtures live in tests/fixtures/
//! and come from reference implementations (export/reference/), never from cliper itself.

mod common;

mod cli;
mod cliper_parity;
mod golden_blazeface;
mod golden_faceapi;
mod hostile;
mod live;
mod mqtt;
#[cfg(feature = "ort")]
mod ort_backend;
mod ort_parity;
mod recall;
mod systemd;
