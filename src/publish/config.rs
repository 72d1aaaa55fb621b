//! How sinks are chosen and configured: the [`SinkType`] every `[[outputs]]` table implements,
//! the `sinks!` macro that turns one registration line per sink into the `type = "…"`
//! enum, and the rules about the list as a whole. The registrations themselves are in
//! `publish/mod.rs`.

use super::{PublishError, Publisher};
use crate::schema::{Invalid, Key};
use std::io::Write;

/// A kind of sink, as `type = "…"` selects it: its config checks itself and builds the sink.
pub trait SinkType {
    /// A config may hold only one output of this type (there is one standard output).
    fn unique(&self) -> bool {
        false
    }
    /// Check what serde cannot (ranges, combinations); `key` names the table (`outputs[1]`).
    fn validate(&self, _key: &Key) -> Result<(), Invalid> {
        Ok(())
    }
    /// What `cliper validate` can check without connecting or claiming anything: files
    /// readable, devices present.
    fn check(&self) -> Result<(), PublishError> {
        Ok(())
    }
    /// Start the sink.
    fn build(&self, cx: &mut SinkContext) -> Result<Box<dyn Publisher>, PublishError>;
}

impl<T: SinkType> SinkType for Box<T> {
    fn unique(&self) -> bool {
        (**self).unique()
    }
    fn validate(&self, key: &Key) -> Result<(), Invalid> {
        (**self).validate(key)
    }
    fn check(&self) -> Result<(), PublishError> {
        (**self).check()
    }
    fn build(&self, cx: &mut SinkContext) -> Result<Box<dyn Publisher>, PublishError> {
        (**self).build(cx)
    }
}

/// What the node will publish about (told to every sink), known before the first frame: its cameras (each gets
/// discovery and a fresh `none` state at connect) and the descriptor set's classes (the
/// expression sensor's options).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Announce {
    pub cameras: Vec<String>,
    pub classes: Vec<String>,
}

/// What building a sink may take from the process.
pub struct SinkContext {
    stdout: Option<Box<dyn Write + Send>>,
    announce: Announce,
}

impl SinkContext {
    /// `stdout` is the writer the `stdout` sink gets (the process's standard output, or a
    /// buffer in tests). No cameras or classes are announced.
    pub fn new(stdout: Box<dyn Write + Send>) -> SinkContext {
        SinkContext { stdout: Some(stdout), announce: Announce::default() }
    }

    /// Announce the cameras and classes the pipeline will publish about (the MQTT sink
    /// publishes their discovery and `none` state at connect).
    pub fn announcing(mut self, announce: Announce) -> SinkContext {
        self.announce = announce;
        self
    }

    pub fn announce(&self) -> &Announce {
        &self.announce
    }

    /// The standard output writer; only the first caller gets it.
    pub fn take_stdout(&mut self) -> Option<Box<dyn Write + Send>> {
        self.stdout.take()
    }
}

/// Declares `OutputConfig`, one `[[outputs]]` table chosen by `type`, from one line per sink:
/// `Variant(module::Config) = "type name",` with its doc comment.
macro_rules! sinks {
    ($($(#[$doc:meta])* $variant:ident($config:ty) = $name:literal,)+) => {
        /// An event sink, chosen by `type`.
        #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
        #[serde(tag = "type", deny_unknown_fields)]
        pub enum OutputConfig {
            $($(#[$doc])* #[serde(rename = $name)] $variant($config),)+
        }

        impl OutputConfig {
            /// The `type` of this output: its name in logs and counters.
            pub fn name(&self) -> &'static str {
                match self {
                    $(OutputConfig::$variant(_) => $name,)+
                }
            }

            /// The sink's own config, for what every sink does.
            pub fn settings(&self) -> &dyn $crate::publish::config::SinkType {
                match self {
                    $(OutputConfig::$variant(c) => c,)+
                }
            }
        }
    };
}
pub(crate) use sinks;
