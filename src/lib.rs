//! cliper: facial expression recognition for edge devices. The `cliper` binary (`src/main.rs`,
//! `src/cli/`) only parses arguments, calls this library and maps outcomes to exit codes;
//! `ARCHITECTURE.md` has the one-page picture (threads, queues, where to add what).
//!
//! # Layout
//!
//! In the order a frame meets them, each module owning its `[section]` of the config:
//!
//! - [`capture`]: the [`capture::FrameSource`] seam and the `[source]` types, one module
//!   each (`images`, `replay`, `v4l2`; registered by `type` in `capture/mod.rs`),
//!   pixel-format conversion, reconnection with backoff.
//! - [`decode`]: JPEG and PNG in one place: still images, MJPEG frames and replay scanning
//!   ([`decode::jpeg`]), image files of a path list ([`decode::files`]); one size limit.
//! - [`frame`]: the value types shared by every stage (boxes, points, frames).
//! - [`preprocess`]: resize rules, normalisation and layouts named in model manifests.
//! - [`detect`]: the [`detect::FaceDetector`] seam; BlazeFace anchors, decoding and weighted
//!   NMS ([`detect::blazeface`], pure) on an inference engine.
//! - [`align`]: eye-line rotation and square crops around detected faces (`[align]`).
//! - [`classify`]: the [`classify::Classifier`] seam; an encoder with its descriptor set
//!   folded in; the shared score maths ([`classify::scores`]); clip-level averaging (`[clip]`).
//! - [`track`], [`smooth`]: stable face ids across frames and flicker-free expressions, pure
//!   state machines fed with timestamps (`[tracking]`, `[smoothing]`).
//! - [`publish`]: the events, the [`publish::Publisher`] seam and the `[[outputs]]` types
//!   (`stdout`, `mqtt/`, `gpio/`, `null`; registered by `type` in `publish/mod.rs`), and the
//!   fan-out with one bounded queue and thread per sink.
//! - [`pipeline`]: the only module that knows every stage: still images, the live path
//!   ([`pipeline::live`]: threads, per-track logic, statistics), model loading, `[pipeline]`.
//! - [`model`]: the model contract: manifests, descriptor sets, the folding maths, embedded
//!   defaults, `[models]`. No inference engine.
//! - [`infer`]: the [`infer::Engine`] seam and every graph built for it: tract (default) or
//!   ONNX Runtime with TensorRT/CUDA/CPU providers (feature `ort`); `[inference]`.
//! - [`report`]: human and JSON renderings of still-image results.
//! - [`config`]: the `cliper run` file, composed of the sections above; [`schema`]: the key
//!   paths and range checks every section's `validate()` uses.
//! - [`shutdown`]: the SIGINT/SIGTERM handle every thread polls; [`notify`]: systemd
//!   readiness and watchdog.
//! - `testutil` (tests, or feature `testutil`): shared fakes and builders.

pub mod align;
pub mod capture;
pub mod classify;
pub mod config;
pub mod decode;
pub mod detect;
pub mod frame;
pub mod infer;
pub mod model;
pub mod notify;
pub mod pipeline;
pub mod preprocess;
pub mod publish;
pub mod report;
pub mod schema;
pub mod shutdown;
pub mod smooth;
#[cfg(any(test, feature = "testutil"))]
pub mod testutil;
pub mod track;
