//! cliper: facial expression recognition for edge devices.
//!
//! # Layout
//!
//! The modules follow the data path of a frame:
//!
//! - [`decode`]: still images (JPEG, PNG) into [`frame::Frame`]s, with size limits.
//! - [`frame`]: the value types shared by every stage (boxes, points, frames).
//! - [`preprocess`]: resize rules, normalisation and layouts named in model manifests.
//! - [`detect`]: the [`detect::FaceDetector`] seam; BlazeFace anchors, decoding and
//!   weighted NMS ([`detect::blazeface`]) and its tract backend.
//! - [`align`]: eye-line rotation and square crops around detected faces.
//! - [`classify`]: the [`classify::Classifier`] seam; an encoder with its descriptor set
//!   folded into one tract plan.
//! - [`infer`]: the [`infer::Engine`] seam both models run on: tract (default) or ONNX
//!   Runtime with TensorRT/CUDA/CPU providers (feature `ort`).
//! - [`model`]: the model contract: manifests, descriptor sets, folding, embedded
//!   defaults, tract loading.
//! - [`pipeline`]: the only module that knows every stage (still images and the live
//!   capture → detect → align → classify → track/smooth → publish loop).
//! - [`report`]: human and JSON renderings of results.
//! - [`commands`]: the command-line subcommands (`classify`, `bench`, `models`); the binary
//!   only parses arguments and maps outcomes to exit codes.
//! - [`bench`]: per-stage timings for `cliper bench`.
//! - [`capture`]: the [`capture::FrameSource`] seam: V4L2 cameras, image files, replays,
//!   pixel-format conversion, reconnection.
//! - [`track`], [`smooth`]: stable face ids across frames and flicker-free expressions,
//!   pure state machines fed with timestamps.
//! - [`publish`]: events and the [`publish::Publisher`] seam: stdout JSON lines, MQTT
//!   (Home Assistant discovery, outage queue), GPIO lines; a fan-out with one bounded queue
//!   per sink.
//! - [`config`]: the `cliper run` TOML file.
//! - [`shutdown`]: the SIGINT/SIGTERM handle every thread polls; [`notify`]: systemd
//!   readiness and watchdog.

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
