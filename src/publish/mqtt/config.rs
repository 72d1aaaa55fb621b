//! `[[outputs]] type = "mqtt"`: the broker, credentials, TLS, topics and the outage queue.

use crate::schema::{self, Invalid, Key};
use serde::Deserialize;
use std::path::PathBuf;

/// An MQTT broker (docs/mqtt.md lists every topic and payload).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Broker host name or address.
    #[serde(default = "default_host")]
    pub host: String,
    /// Broker port (1883 plain, usually 8883 with TLS).
    #[serde(default = "default_port")]
    pub port: u16,
    /// MQTT client id; also the node id in every topic (`<topic_prefix>/<client_id>/…`)
    /// and Home Assistant's device id, so give each cliper on a broker its own (a broker
    /// disconnects a second client with the same id anyway). At most 64 bytes, a topic
    /// level: no `/`, `+`, `#` or control characters.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    /// User name; unset: anonymous.
    #[serde(default = "default_none")]
    pub username: Option<String>,
    /// File holding the password (trailing newline ignored). Never logged.
    #[serde(default = "default_none")]
    pub password_file: Option<PathBuf>,
    /// Name of a systemd credential (`LoadCredential=`): the password is read from
    /// `$CREDENTIALS_DIRECTORY/<name>`.
    #[serde(default = "default_none")]
    pub password_credential: Option<String>,
    /// TLS to the broker; unset: plain TCP.
    #[serde(default = "default_none")]
    pub tls: Option<TlsConfig>,
    /// Seconds between keep-alive pings; the broker fires the last will after 1.5 times
    /// this without traffic. 0 turns keep-alive off.
    #[serde(default = "default_keep_alive_s")]
    pub keep_alive_s: u64,
    /// QoS of every publish: 0, 1 or 2.
    #[serde(default = "default_qos")]
    pub qos: u8,
    /// First level of every cliper topic.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// Events kept while the broker is unreachable; when full, the oldest `change` goes
    /// first, then the oldest event of any type.
    #[serde(default = "default_outage_queue")]
    pub outage_queue: usize,
    /// Publish Home Assistant discovery configs.
    #[serde(default = "default_discovery")]
    pub discovery: bool,
    /// Home Assistant's discovery prefix.
    #[serde(default = "default_discovery_prefix")]
    pub discovery_prefix: String,
    /// Churn rule: the retained state is re-published when the expression, the faces in
    /// view or the set of expressions change, or the confidence moved more than this since
    /// the last publish (0..=1; 0: on every confidence change).
    #[serde(default = "default_state_confidence_step")]
    pub state_confidence_step: f32,
}

/// `[outputs.tls]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file with the CA certificate(s) the broker's certificate must chain to.
    pub ca_file: PathBuf,
    /// PEM client certificate, for brokers that require one (needs `key_file`).
    #[serde(default = "default_none")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    #[serde(default = "default_none")]
    pub key_file: Option<PathBuf>,
}

fn default_host() -> String {
    "localhost".into()
}
fn default_port() -> u16 {
    1883
}
fn default_client_id() -> String {
    "cliper".into()
}
fn default_none<T>() -> Option<T> {
    None
}
fn default_keep_alive_s() -> u64 {
    30
}
fn default_qos() -> u8 {
    1
}
fn default_topic_prefix() -> String {
    "cliper".into()
}
fn default_outage_queue() -> usize {
    1000
}
fn default_discovery() -> bool {
    false
}
fn default_discovery_prefix() -> String {
    "homeassistant".into()
}
fn default_state_confidence_step() -> f32 {
    0.05
}

/// Longest `client_id` accepted: a topic level and a device id, not a payload.
pub const MAX_CLIENT_ID: usize = 64;
/// Longest topic prefix accepted.
pub const MAX_PREFIX: usize = 128;

/// A topic level (a node id, a camera name): not empty, at most `max` bytes, no `/`,
/// wildcards, U+0000 or other control characters. `None` when usable, else why not.
pub fn topic_level_problem(s: &str, max: usize) -> Option<String> {
    if s.is_empty() {
        Some("must not be empty".into())
    } else if s.len() > max {
        Some(format!("must be at most {max} bytes, got {}", s.len()))
    } else if s.contains(['/', '+', '#']) || s.chars().any(char::is_control) {
        Some("must not contain '/', '+', '#' or control characters (U+0000 included)".into())
    } else {
        None
    }
}

/// A topic cliper can build on: not empty, bounded, no wildcards or control characters,
/// no leading or trailing `/`.
fn usable_topic(t: &str) -> bool {
    !(t.is_empty()
        || t.len() > MAX_PREFIX
        || t.contains(['#', '+'])
        || t.chars().any(char::is_control)
        || t.starts_with('/')
        || t.ends_with('/'))
}

impl Config {
    /// `key` names this output (`outputs[1]`).
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        if self.qos > 2 {
            return Err(key.field("qos").invalid(format!("must be 0, 1 or 2, got {}", self.qos)));
        }
        // MQTT carries the keep-alive in 16 bits.
        schema::within(&key.field("keep_alive_s"), self.keep_alive_s, 0, u64::from(u16::MAX))?;
        schema::at_least(&key.field("outage_queue"), self.outage_queue, 1)?;
        if self.password_file.is_some() && self.password_credential.is_some() {
            return Err(key.field("password_file").invalid("and password_credential exclude each other: set one, not both"));
        }
        for (name, topic) in [("topic_prefix", &self.topic_prefix), ("discovery_prefix", &self.discovery_prefix)] {
            if !usable_topic(topic) {
                return Err(key.field(name).invalid(format!(
                    "must be a non-empty topic of at most {MAX_PREFIX} bytes without '#', '+', control characters or an edge '/'"
                )));
            }
        }
        if let Some(why) = topic_level_problem(&self.client_id, MAX_CLIENT_ID) {
            return Err(key.field("client_id").invalid(why));
        }
        schema::within(&key.field("state_confidence_step"), self.state_confidence_step, 0.0, 1.0)?;
        if let Some(t) = &self.tls {
            if t.cert_file.is_some() != t.key_file.is_some() {
                return Err(key.field("tls").field("cert_file").invalid("and key_file go together"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_and_camera_names_are_bounded_topic_levels() {
        let key = Key::root().field("outputs").index(0);
        // A 70 000-byte client id used to be accepted and never connect.
        let long: Config = toml::from_str(&format!("client_id = '{}'", "x".repeat(70_000))).expect("parses");
        let e = long.validate(&key).expect_err("70 000 bytes");
        assert_eq!((e.key.as_str(), e.reason.as_str()), ("outputs[0].client_id", "must be at most 64 bytes, got 70000"));
        let ok: Config = toml::from_str(&format!("client_id = '{}'", "x".repeat(MAX_CLIENT_ID))).expect("parses");
        assert!(ok.validate(&key).is_ok());
        for bad in ["", "a/b", "a+", "#", "a\u{0}b", "tab\there"] {
            assert!(topic_level_problem(bad, 64).is_some(), "{bad:?} accepted");
        }
        assert_eq!(topic_level_problem("garage pi-2", 64), None);
        let prefix: Config = toml::from_str("topic_prefix = \"a\\u0000\"").expect("parses");
        assert!(prefix.validate(&key).is_err_and(|e| e.key == "outputs[0].topic_prefix"));
    }
}
