//! Everything between cliper and the broker's socket: the secrets read from files, the one
//! place that builds rumqttc's options, and the connection thread that polls rumqttc (which
//! must be polled to make progress and to reconnect) and reports the `Link` state.

use super::config::Config;
use super::topics::{Topics, OFFLINE, ONLINE};
use super::MqttError;
use rumqttc::{
    Client, ConnectReturnCode, Connection, ConnectionError, LastWill, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport,
};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Pause between reconnection attempts: short, because an outage queue is filling.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// Requests rumqttc may hold between the publisher and its event loop.
pub(super) const CLIENT_CAPACITY: usize = 256;
/// Largest packet cliper sends or accepts (rumqttc's default is 10 KiB, which a discovery
/// config with many classes exceeds; rumqttc answers a larger one by dropping the
/// connection). The publisher drops and counts anything larger before handing it over.
pub(super) const MAX_PACKET: usize = 256 * 1024;

/// What the connection thread reports to the publishing side.
#[derive(Debug, Default)]
pub(super) struct Link {
    pub connected: bool,
    /// CONNACKs so far: a change means a fresh session (resubscribe, refresh retained).
    pub sessions: u64,
    /// Connection attempts or connections that failed (refused, TLS, socket errors).
    pub failures: u64,
    /// Home Assistant announced `online`: discovery must be re-sent.
    pub ha_online: bool,
    /// The broker refused our credentials (bad user name or password, not authorised).
    pub auth_refused: bool,
    /// The discovery config the broker had retained when we subscribed (an earlier run's),
    /// to remove components that no longer exist.
    pub retained_discovery: Option<String>,
    /// close() was called: stop reconnecting.
    pub stopping: bool,
}

/// The files a connection needs, read once: by `cliper validate` to check them, by the
/// publisher to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    /// Never logged (this type has no `Debug`).
    password: Option<String>,
    tls: Option<TlsFiles>,
}

/// The CA and the optional client certificate and key, PEM.
#[derive(Clone, PartialEq, Eq)]
struct TlsFiles {
    ca: Vec<u8>,
    client_auth: Option<(Vec<u8>, Vec<u8>)>,
}

impl Secrets {
    /// Read the password (from `password_file` or `$CREDENTIALS_DIRECTORY`) and the TLS
    /// files; a password without a user name is refused here.
    pub fn read(cfg: &Config) -> Result<Secrets, MqttError> {
        let credentials_dir = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        let password = read_password(cfg, credentials_dir.as_deref())?;
        if password.is_some() && cfg.username.is_none() {
            return Err(MqttError::Invalid("a password needs a username".into()));
        }
        let tls = match &cfg.tls {
            None => None,
            Some(t) => {
                let ca = read("CA file", &t.ca_file)?;
                let client_auth = match (&t.cert_file, &t.key_file) {
                    (Some(c), Some(k)) => Some((read("client certificate", c)?, read("client key", k)?)),
                    _ => None,
                };
                Some(TlsFiles { ca, client_auth })
            }
        };
        Ok(Secrets { password, tls })
    }
}

/// Read the password from `password_file` or `$CREDENTIALS_DIRECTORY/<password_credential>`.
pub fn read_password(cfg: &Config, credentials_dir: Option<&Path>) -> Result<Option<String>, MqttError> {
    let path = match (&cfg.password_file, &cfg.password_credential) {
        (Some(p), _) => p.clone(),
        (None, Some(name)) => match credentials_dir {
            Some(d) => d.join(name),
            None => return Err(MqttError::NoCredentialsDirectory { name: name.clone() }),
        },
        (None, None) => return Ok(None),
    };
    if cfg.password_file.is_some() {
        refuse_exposed(&path)?;
    }
    let text = std::fs::read_to_string(&path).map_err(|source| MqttError::ReadFile { what: "password file", path, source })?;
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
}

/// A `password_file` others may read is refused, as ssh refuses such a key: chmod 600.
/// (A systemd credential is protected by systemd.)
fn refuse_exposed(path: &Path) -> Result<(), MqttError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| MqttError::ReadFile { what: "password file", path: path.to_owned(), source })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(MqttError::ExposedPassword { path: path.to_owned(), mode });
    }
    Ok(())
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, MqttError> {
    std::fs::read(path).map_err(|source| MqttError::ReadFile { what, path: path.to_owned(), source })
}

/// The QoS a config level names (validation keeps it within 0..=2).
pub(super) fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        2 => QoS::ExactlyOnce,
        _ => QoS::AtLeastOnce,
    }
}

/// rumqttc's options for this output: the only place they are built. A clean session, the
/// retained `offline` last will, credentials and TLS from `secrets`.
pub(super) fn options(cfg: &Config, topics: &Topics, secrets: Secrets) -> MqttOptions {
    let mut opts = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
    opts.set_keep_alive(Duration::from_secs(cfg.keep_alive_s));
    opts.set_clean_session(true);
    opts.set_max_packet_size(MAX_PACKET, MAX_PACKET);
    opts.set_last_will(LastWill::new(topics.available(), OFFLINE, qos(cfg.qos), true));
    if let Some(u) = &cfg.username {
        opts.set_credentials(u.clone(), secrets.password.unwrap_or_default());
    }
    if let Some(TlsFiles { ca, client_auth }) = secrets.tls {
        opts.set_transport(Transport::Tls(TlsConfiguration::Simple { ca, alpn: None, client_auth }));
    }
    opts
}

/// What the connection thread needs.
pub(super) struct Session {
    pub client: Client,
    pub link: Arc<Mutex<Link>>,
    pub available: String,
    /// Home Assistant's status topic, when discovery is on.
    pub ha_status: Option<String>,
    /// Our own discovery topic, when discovery is on: subscribed to, to read what is retained.
    pub discovery: Option<String>,
    pub qos: QoS,
    pub broker: String,
}

impl Session {
    /// Drive rumqttc (which reconnects on the next poll after an error) until, once close()
    /// has asked to stop, the connection ends: the broker closing it after our DISCONNECT,
    /// or the next failed attempt on an unreachable broker. `online` goes
    /// out here, on every CONNACK, so it never waits for an event.
    pub fn poll(&self, mut connection: Connection) {
        let mut last_error = String::new();
        for notification in connection.iter() {
            match notification {
                Ok(rumqttc::Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = self.client.try_publish(self.available.clone(), self.qos, true, ONLINE.as_bytes().to_vec());
                    for t in self.ha_status.iter().chain(&self.discovery) {
                        let _ = self.client.try_subscribe(t.clone(), QoS::AtLeastOnce);
                    }
                    let Ok(mut l) = self.link.lock() else { return };
                    l.connected = true;
                    l.sessions += 1;
                    if l.sessions == 1 {
                        log::info!("mqtt: connected to {}", self.broker);
                    } else {
                        log::info!("mqtt: reconnected to {}", self.broker);
                    }
                    last_error.clear();
                }
                Ok(rumqttc::Event::Incoming(Packet::Publish(p))) => {
                    if self.ha_status.as_deref() == Some(p.topic.as_str()) && p.payload.as_ref() == ONLINE.as_bytes() {
                        if let Ok(mut l) = self.link.lock() {
                            l.ha_online = true;
                        }
                    } else if p.retain && self.discovery.as_deref() == Some(p.topic.as_str()) {
                        // Only what the broker had retained when we subscribed (retain set);
                        // the live echo of our own publish (retain clear) is what we sent.
                        if let Ok(mut l) = self.link.lock() {
                            l.retained_discovery = Some(String::from_utf8_lossy(&p.payload).into_owned());
                        }
                    }
                }
                // Keep reading until the broker closes the socket: exiting with its
                // PUBACK unread makes the kernel reset the connection, the broker may then
                // drop our DISCONNECT unread and fire the last will.
                Ok(rumqttc::Event::Outgoing(Outgoing::Disconnect)) => {}
                Ok(_) => {}
                Err(e) => {
                    let refused = matches!(
                        e,
                        ConnectionError::ConnectionRefused(ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized)
                    );
                    let stopping = match self.link.lock() {
                        Ok(mut l) => {
                            l.connected = false;
                            l.failures += 1;
                            l.auth_refused |= refused;
                            l.stopping
                        }
                        Err(_) => true,
                    };
                    if stopping {
                        return;
                    }
                    // Once per distinct failure, not per retry.
                    let why = e.to_string();
                    if why != last_error {
                        log::warn!("mqtt: {}: {why}; retrying, events wait in the outage queue", self.broker);
                        last_error = why;
                    }
                    std::thread::sleep(RETRY_PAUSE);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write_private(path: &Path, text: &str) {
        std::fs::write(path, text).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    #[test]
    fn password_comes_from_a_file_or_the_credentials_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("mqtt"), "s3cret\n").expect("write");
        let pw = dir.path().join("pw");
        write_private(&pw, "file\n");
        let mut cfg: Config = toml::from_str("").expect("defaults");
        assert_eq!(read_password(&cfg, None).expect("none"), None);
        cfg.password_credential = Some("mqtt".into());
        assert_eq!(read_password(&cfg, Some(dir.path())).expect("cred").as_deref(), Some("s3cret"));
        let e = read_password(&cfg, None).expect_err("no dir").to_string();
        assert!(e.contains("CREDENTIALS_DIRECTORY") && e.contains("mqtt"), "{e}");
        cfg.password_credential = None;
        cfg.password_file = Some(pw.clone());
        assert_eq!(read_password(&cfg, None).expect("0600 file").as_deref(), Some("file"));
        // Readable by others: refused, naming the file and the mode.
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = read_password(&cfg, None).expect_err("0644").to_string();
        assert!(e.contains("0644") && e.contains("pw") && e.contains("chmod 600"), "{e}");
        cfg.password_file = Some(dir.path().join("missing"));
        let e = read_password(&cfg, None).expect_err("missing").to_string();
        assert!(e.contains("password file") && e.contains("missing"), "{e}");
    }

    #[test]
    fn options_carry_the_will_credentials_and_keep_alive() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_private(&dir.path().join("pw"), "s3cret\n");
        let cfg: Config = toml::from_str(&format!(
            "client_id = \"cam-1\"\nusername = \"u\"\npassword_file = \"{}\"\nkeep_alive_s = 7\nqos = 2",
            dir.path().join("pw").display()
        ))
        .expect("cfg");
        let topics = Topics::new(&cfg.topic_prefix, &cfg.discovery_prefix, &cfg.client_id);
        let opts = options(&cfg, &topics, Secrets::read(&cfg).expect("secrets"));
        assert_eq!(opts.client_id(), "cam-1");
        assert_eq!(opts.keep_alive(), Duration::from_secs(7));
        assert_eq!(opts.credentials(), Some(("u".to_owned(), "s3cret".to_owned())));
        let will = opts.last_will().expect("a last will");
        assert_eq!(
            (will.topic.as_str(), will.message.as_ref(), will.qos, will.retain),
            ("cliper/cam-1/available", &b"offline"[..], QoS::ExactlyOnce, true)
        );
        // A password without a user name is refused when the secrets are read.
        let anonymous = Config { username: None, ..cfg };
        assert!(Secrets::read(&anonymous).is_err_and(|e| e.to_string().contains("needs a username")));
    }
}
