//! Exit codes, one per failure class (README's "Exit codes"), and the error every subcommand
//! returns, which knows its class.

use cliper::capture::CaptureError;
use cliper::config::ConfigError;
use cliper::model::ModelError;
use cliper::pipeline::live::LiveError;
use cliper::publish::PublishError;

/// Every input was processed.
pub const OK: i32 = 0;
/// At least one input could not be read or processed; the others were.
pub const INPUT_FAILED: i32 = 1;
/// Bad command line: clap exits with this code itself (the tests check it is clap's).
#[allow(dead_code)]
pub const USAGE: i32 = 2;
/// A model or descriptor set could not be loaded or does not fit.
pub const MODEL: i32 = 3;
/// Output could not be written, or another runtime failure (inference included).
pub const RUNTIME: i32 = 4;
/// The configuration file is unreadable or invalid.
pub const CONFIG: i32 = 5;
/// The frame source could not be opened or failed for good.
pub const SOURCE: i32 = 6;
/// `run`: an MQTT broker refused the credentials for the whole run (no session ever).
pub const BROKER_REFUSED: i32 = 7;

/// Why a subcommand stopped before doing its work. Each variant is one failure class; the
/// message is the library error's own.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Source(#[from] CaptureError),
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// An MQTT output's broker refused the credentials on every attempt of the run.
    #[error("{0}: the broker refused the credentials for the whole run")]
    BrokerRefused(String),
    /// Writing the output (stdout) failed.
    #[error("cannot write output: {0}")]
    Output(#[from] std::io::Error),
    /// An input (a photo) could not be read.
    #[error("{0}")]
    Input(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A model failed to run on an input (`what` names the stage or the input).
    #[error("{what}: {source}")]
    Inference {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Error {
    /// An input failure from anything that says what went wrong.
    pub fn input(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Input(e.into())
    }

    /// A model that loaded but failed to run.
    pub fn inference(what: impl Into<String>, e: impl std::error::Error + Send + Sync + 'static) -> Error {
        Error::Inference { what: what.into(), source: Box::new(e) }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Model(_) => MODEL,
            Error::Config(_) => CONFIG,
            Error::Source(_) | Error::Live(LiveError::Capture(_)) => SOURCE,
            Error::Live(_) | Error::Publish(_) | Error::Output(_) | Error::Inference { .. } => RUNTIME,
            Error::Input(_) => INPUT_FAILED,
            Error::BrokerRefused(_) => BROKER_REFUSED,
        }
    }

    /// The reader closed the pipe (`cliper classify … | head`): their choice, not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cliper::classify::ClassifyError;
    use cliper::infer::EngineError;

    #[test]
    fn each_failure_class_has_its_code() {
        let failed_inference = ClassifyError::Inference(EngineError::Outputs { got: 1, expected: 3 });
        assert_eq!(Error::inference("encoder", failed_inference).exit_code(), RUNTIME, "inference is not an input failure");
        assert_eq!(Error::input("bench: no images found").exit_code(), INPUT_FAILED);
        assert_eq!(Error::from(ModelError::UnknownEmbedded("x".into())).exit_code(), MODEL);
        let capture = || CaptureError::Config { source_name: "cam".into(), reason: "no".into() };
        assert_eq!(Error::from(capture()).exit_code(), SOURCE);
        assert_eq!(Error::from(LiveError::Capture(capture())).exit_code(), SOURCE);
        assert_eq!(Error::from(LiveError::Panicked).exit_code(), RUNTIME);
        let pipe = Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(pipe.is_broken_pipe() && pipe.exit_code() == RUNTIME);
        assert_eq!(Error::BrokerRefused("mqtt".into()).exit_code(), BROKER_REFUSED);
        let all = [OK, INPUT_FAILED, USAGE, MODEL, RUNTIME, CONFIG, SOURCE, BROKER_REFUSED];
        assert!(all.iter().enumerate().all(|(i, c)| !all[..i].contains(c)), "exit codes are distinct");
    }
}
