//! The `mqtt` sink: availability with a last will, retained per-camera expression state,
//! events, statistics and optional Home Assistant discovery (docs/mqtt.md is the contract).
//!
//! - [`topics`]: topic names and payloads, pure;
//! - [`state`]: the retained per-camera state, pure;
//! - [`queue`]: the outage queue and its drop order, pure;
//! - [`connection`]: secrets, rumqttc's options (built in one place) and the thread that
//!   polls rumqttc and reports the link state;
//! - [`publisher`]: [`MqttPublisher`], the only part that sends;
//! - [`config`]: the `[[outputs]] type = "mqtt"` table.

pub mod config;
pub mod connection;
pub mod publisher;
pub mod queue;
pub mod state;
pub mod topics;

pub use config::{Config, TlsConfig};
pub use publisher::{LinkStatus, MqttPublisher};
pub use queue::OutageQueue;
pub use state::CameraStates;
pub use topics::{Topics, OFFLINE, ONLINE};

use crate::publish::config::{SinkContext, SinkType};
use crate::publish::{PublishError, Publisher};
use crate::schema::{Invalid, Key};
use std::path::PathBuf;

/// Why the MQTT sink could not start or stop.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("mqtt: cannot read {what} {path}: {source}")]
    ReadFile { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("mqtt: password_credential {name:?} needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=)")]
    NoCredentialsDirectory { name: String },
    #[error("mqtt: {0}")]
    Invalid(String),
    #[error("mqtt: password file {path} is readable by others (mode {mode:04o}): chmod 600 it")]
    ExposedPassword { path: PathBuf, mode: u32 },
    #[error("mqtt: the broker refused the credentials on every attempt of the run")]
    AuthRefused,
    #[error("mqtt: cannot start the connection thread: {0}")]
    Thread(#[source] std::io::Error),
    #[error("mqtt: the connection did not close in time (broker unreachable?)")]
    CloseTimeout,
}

/// What `cliper validate` can check without connecting: the password and TLS files.
pub fn check(cfg: &Config) -> Result<(), MqttError> {
    connection::Secrets::read(cfg).map(drop)
}

impl SinkType for Config {
    fn validate(&self, key: &Key) -> Result<(), Invalid> {
        Config::validate(self, key)
    }

    fn check(&self) -> Result<(), PublishError> {
        Ok(check(self)?)
    }

    fn build(&self, cx: &mut SinkContext) -> Result<Box<dyn Publisher>, PublishError> {
        Ok(Box::new(MqttPublisher::start(self, cx.announce())?))
    }
}
