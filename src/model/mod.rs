//! The model contract (docs/model-contract.md): manifests, descriptor sets, the maths of
//! folding descriptors into matrices, the embedded default models, and which of them a
//! config selects. No inference engine: `crate::infer` turns these into runnable plans.

pub mod config;
pub mod descriptors;
pub mod embedded;
pub mod fold;
pub mod manifest;

pub use descriptors::{DescriptorSet, Scoring};
pub use fold::Folded;
pub use manifest::{ModelManifest, Role};

use std::path::PathBuf;

/// Why a model or descriptor set could not be loaded. Every variant names its input.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// Not TOML/JSON, an unknown key or a value of the wrong type.
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{path}: checksum mismatch: manifest says {expected}, file has {actual}")]
    Checksum { path: PathBuf, expected: String, actual: String },
    #[error("{path}: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("descriptor set {set} does not fit encoder {encoder}: {reason}")]
    Mismatch { set: String, encoder: String, reason: String },
    #[error("{path}: tract could not load the model: {source}")]
    Tract {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{path}: {backend}: {reason}")]
    Backend { path: PathBuf, backend: &'static str, reason: String },
    #[error("no embedded model named {0}")]
    UnknownEmbedded(String),
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
