//! The `mqtt` sink: availability with a last will, retained per-camera expression state,
//! events, statistics and optional Home Assistant discovery (docs/mqtt.md is the contract).
//!
//! The topic names, payloads, per-camera state and the outage queue are plain values with
//! unit tests; only [`MqttPublisher`] talks to the broker. rumqttc's `Connection` must be
//! polled for the client to make progress (and to reconnect), so a thread of its own
//! polls it and reports the link state; the publishing thread decides from that state
//! whether an event goes out now or waits in the [`OutageQueue`].

use super::{Event, EventKind, ExpressionEvent, PublishError, Publisher, StatsEvent};
use crate::config::MqttOutput;
use rumqttc::{Client, Connection, LastWill, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport};
use serde_json::json;
use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Why the MQTT sink could not start.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("mqtt: cannot read {what} {path}: {source}")]
    ReadFile { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("mqtt: password_credential {name:?} needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=)")]
    NoCredentialsDirectory { name: String },
    #[error("mqtt: {0}")]
    Invalid(String),
}

/// Payloads of `<prefix>/available`.
pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";

/// Every topic cliper uses, from the configured prefixes.
#[derive(Debug, Clone, PartialEq)]
pub struct Topics {
    prefix: String,
    discovery_prefix: String,
    node: String,
}

impl Topics {
    pub fn new(prefix: &str, discovery_prefix: &str, node: &str) -> Topics {
        Topics { prefix: prefix.into(), discovery_prefix: discovery_prefix.into(), node: node_id(node) }
    }
    pub fn available(&self) -> String {
        format!("{}/available", self.prefix)
    }
    pub fn expression(&self, camera: &str) -> String {
        format!("{}/{camera}/expression", self.prefix)
    }
    pub fn events(&self, camera: &str) -> String {
        format!("{}/{camera}/events", self.prefix)
    }
    pub fn stats(&self) -> String {
        format!("{}/stats", self.prefix)
    }
    pub fn discovery(&self, camera: &str) -> String {
        format!("{}/sensor/{}/{}_expression/config", self.discovery_prefix, self.node, node_id(camera))
    }
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }

    /// Home Assistant's discovery config for one camera's expression sensor: its state is
    /// the retained expression topic, it is available while cliper is.
    pub fn discovery_payload(&self, camera: &str) -> String {
        json!({
            "name": format!("{camera} expression"),
            "unique_id": format!("{}_{}_expression", self.node, node_id(camera)),
            "object_id": format!("{}_{}_expression", self.node, node_id(camera)),
            "state_topic": self.expression(camera),
            "value_template": "{{ value_json.expression }}",
            "json_attributes_topic": self.expression(camera),
            "availability_topic": self.available(),
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "icon": "mdi:emoticon-outline",
            "device": {
                "identifiers": [format!("cliper_{}", self.node)],
                "name": format!("cliper {}", self.node),
                "manufacturer": "cliper",
                "model": "cliper",
                "sw_version": env!("CARGO_PKG_VERSION"),
            },
        })
        .to_string()
    }
}

/// Home Assistant accepts only `[a-zA-Z0-9_-]` in node and object ids.
fn node_id(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// The payload of `<prefix>/<camera>/events`: the event exactly as stdout prints it.
pub fn event_payload(event: &ExpressionEvent) -> String {
    // Serialising plain data cannot fail; an empty object would still be valid JSON.
    serde_json::to_string(event).unwrap_or_else(|_| "{}".into())
}

pub fn stats_payload(stats: &StatsEvent) -> String {
    serde_json::to_string(stats).unwrap_or_else(|_| "{}".into())
}

/// One live track as the retained state remembers it.
#[derive(Debug, Clone, PartialEq)]
struct TrackState {
    track: u64,
    expression: String,
    confidence: f32,
    timestamp: f64,
}

/// The retained `<prefix>/<camera>/expression` state of every camera: the expression of the
/// most recently updated live track, or `none` when no face is tracked.
#[derive(Debug, Clone, Default)]
pub struct CameraStates {
    /// Per camera: live tracks in update order (latest last), and the last event's time.
    cameras: BTreeMap<String, (Vec<TrackState>, f64)>,
}

impl CameraStates {
    /// Apply an event; returns the camera's new state payload.
    pub fn apply(&mut self, e: &ExpressionEvent) -> String {
        let (tracks, last) = self.cameras.entry(e.camera.clone()).or_default();
        tracks.retain(|t| t.track != e.track);
        if e.kind != EventKind::End {
            tracks.push(TrackState { track: e.track, expression: e.expression.clone(), confidence: e.confidence, timestamp: e.timestamp });
        }
        *last = e.timestamp;
        Self::payload(tracks, *last)
    }

    /// Every camera seen, with its current payload (to refresh retained state).
    pub fn all(&self) -> Vec<(String, String)> {
        self.cameras.iter().map(|(c, (t, last))| (c.clone(), Self::payload(t, *last))).collect()
    }

    pub fn knows(&self, camera: &str) -> bool {
        self.cameras.contains_key(camera)
    }

    fn payload(tracks: &[TrackState], timestamp: f64) -> String {
        match tracks.last() {
            Some(t) => json!({"expression": t.expression, "track": t.track, "confidence": t.confidence,
                              "timestamp": t.timestamp, "tracks": tracks.len()}),
            None => json!({"expression": "none", "track": null, "confidence": null, "timestamp": timestamp, "tracks": 0}),
        }
        .to_string()
    }
}

/// A bounded queue of events waiting for the broker. When full, the oldest `change` is
/// dropped first: a `start` or `end` carries the track's life, while a later `change` or
/// the retained state (refreshed on reconnect) supersedes an intermediate one. With no
/// `change` left, the oldest event of any kind goes.
#[derive(Debug)]
pub struct OutageQueue<T> {
    items: VecDeque<(EventKind, T)>,
    capacity: usize,
    dropped: u64,
}

impl<T> OutageQueue<T> {
    pub fn new(capacity: usize) -> Self {
        OutageQueue { items: VecDeque::new(), capacity: capacity.max(1), dropped: 0 }
    }

    /// Queue an item; returns the one dropped to make room, if any.
    pub fn push(&mut self, kind: EventKind, item: T) -> Option<(EventKind, T)> {
        let dropped = if self.items.len() >= self.capacity {
            let victim = self.items.iter().position(|(k, _)| *k == EventKind::Change).unwrap_or(0);
            self.dropped += 1;
            self.items.remove(victim)
        } else {
            None
        };
        self.items.push_back((kind, item));
        dropped
    }

    pub fn front(&self) -> Option<&(EventKind, T)> {
        self.items.front()
    }
    pub fn pop_front(&mut self) -> Option<(EventKind, T)> {
        self.items.pop_front()
    }
    /// Put back an item that could not be sent, keeping the order.
    pub fn push_front(&mut self, kind: EventKind, item: T) {
        self.items.push_front((kind, item));
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// A message waiting to go out.
#[derive(Debug, Clone, PartialEq)]
struct Message {
    topic: String,
    payload: String,
}

/// What the connection thread reports to the publishing side.
#[derive(Debug, Default)]
struct Link {
    connected: bool,
    /// CONNACKs so far: a change means a fresh session (resubscribe, refresh retained).
    sessions: u64,
    /// Home Assistant announced `online`: discovery must be re-sent.
    ha_online: bool,
    /// close() was called: stop reconnecting.
    stopping: bool,
}

/// How long close() waits for the DISCONNECT to be written; beyond it the process exits
/// anyway (and the broker fires the last will, which says the same).
const CLOSE_WAIT: Duration = Duration::from_millis(1500);
/// Pause between reconnection attempts: short, because an outage queue is filling.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// Requests rumqttc may hold between this thread and its event loop.
const CLIENT_CAPACITY: usize = 256;

/// Read the password from `password_file` or `$CREDENTIALS_DIRECTORY/<password_credential>`.
pub fn read_password(cfg: &MqttOutput, credentials_dir: Option<&Path>) -> Result<Option<String>, MqttError> {
    let path = match (&cfg.password_file, &cfg.password_credential) {
        (Some(p), _) => p.clone(),
        (None, Some(name)) => match credentials_dir {
            Some(d) => d.join(name),
            None => return Err(MqttError::NoCredentialsDirectory { name: name.clone() }),
        },
        (None, None) => return Ok(None),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| MqttError::ReadFile { what: "password file", path, source })?;
    Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()))
}

/// What `cliper validate` can check without connecting: the password and TLS files.
pub fn check(cfg: &MqttOutput) -> Result<(), MqttError> {
    let credentials_dir = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
    if read_password(cfg, credentials_dir.as_deref())?.is_some() && cfg.username.is_none() {
        return Err(MqttError::Invalid("a password needs a username".into()));
    }
    if let Some(tls) = &cfg.tls {
        read("CA file", &tls.ca_file)?;
        for (what, f) in [("client certificate", &tls.cert_file), ("client key", &tls.key_file)] {
            if let Some(f) = f {
                read(what, f)?;
            }
        }
    }
    Ok(())
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, MqttError> {
    std::fs::read(path).map_err(|source| MqttError::ReadFile { what, path: path.to_owned(), source })
}

fn qos(level: u8) -> QoS {
    match level {
        0 => QoS::AtMostOnce,
        2 => QoS::ExactlyOnce,
        _ => QoS::AtLeastOnce,
    }
}

/// The MQTT sink.
pub struct MqttPublisher {
    client: Client,
    topics: Topics,
    qos: QoS,
    discovery: bool,
    link: Arc<Mutex<Link>>,
    /// The session whose retained state and subscriptions we have set up.
    session_seen: u64,
    queue: OutageQueue<Message>,
    states: CameraStates,
    /// The connection thread says it has finished (DISCONNECT written, or gave up).
    finished: Receiver<()>,
    outage_started: Option<Instant>,
    stats_dropped: u64,
}

impl MqttPublisher {
    /// Check the files, set up the client and start its connection thread. Does not wait
    /// for the broker: events queue until it answers.
    pub fn start(cfg: &MqttOutput) -> Result<MqttPublisher, MqttError> {
        let topics = Topics::new(&cfg.topic_prefix, &cfg.discovery_prefix, &cfg.client_id);
        let mut opts = MqttOptions::new(cfg.client_id.clone(), cfg.host.clone(), cfg.port);
        opts.set_keep_alive(Duration::from_secs(cfg.keep_alive_s));
        opts.set_clean_session(true);
        opts.set_last_will(LastWill::new(topics.available(), OFFLINE, qos(cfg.qos), true));
        let credentials_dir = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        match (&cfg.username, read_password(cfg, credentials_dir.as_deref())?) {
            (Some(u), p) => {
                opts.set_credentials(u.clone(), p.unwrap_or_default());
            }
            (None, Some(_)) => return Err(MqttError::Invalid("a password needs a username".into())),
            (None, None) => {}
        }
        if let Some(tls) = &cfg.tls {
            let ca = read("CA file", &tls.ca_file)?;
            let client_auth = match (&tls.cert_file, &tls.key_file) {
                (Some(c), Some(k)) => Some((read("client certificate", c)?, read("client key", k)?)),
                _ => None,
            };
            opts.set_transport(Transport::Tls(TlsConfiguration::Simple { ca, alpn: None, client_auth }));
        }
        let (client, connection) = Client::new(opts, CLIENT_CAPACITY);
        let link = Arc::new(Mutex::new(Link::default()));
        let (done_tx, finished) = std::sync::mpsc::channel();
        let session = Session {
            client: client.clone(),
            link: Arc::clone(&link),
            available: topics.available(),
            ha_status: cfg.discovery.then(|| topics.ha_status()),
            qos: qos(cfg.qos),
            broker: format!("{}:{}", cfg.host, cfg.port),
        };
        std::thread::Builder::new()
            .name("mqtt".into())
            .spawn(move || {
                session.poll(connection);
                let _ = done_tx.send(());
            })
            .map_err(|e| MqttError::Invalid(format!("cannot start the connection thread: {e}")))?;
        Ok(MqttPublisher {
            client,
            topics,
            qos: qos(cfg.qos),
            discovery: cfg.discovery,
            link,
            session_seen: 0,
            queue: OutageQueue::new(cfg.outage_queue),
            states: CameraStates::default(),
            finished,
            outage_started: None,
            stats_dropped: 0,
        })
    }

    /// Events waiting for the broker, and those dropped from the full queue.
    pub fn queued(&self) -> (usize, u64) {
        (self.queue.len(), self.queue.dropped())
    }

    fn link(&self) -> (bool, u64, bool) {
        match self.link.lock() {
            Ok(mut l) => {
                let ha = std::mem::take(&mut l.ha_online);
                (l.connected, l.sessions, ha)
            }
            Err(_) => (false, self.session_seen, false),
        }
    }

    /// Hand a message to rumqttc without blocking; false if its channel is full.
    fn send(&self, topic: &str, payload: &str, retain: bool) -> bool {
        self.client.try_publish(topic, self.qos, retain, payload.as_bytes().to_vec()).is_ok()
    }

    fn send_discovery(&self) {
        if self.discovery {
            for (camera, _) in self.states.all() {
                self.send(&self.topics.discovery(&camera), &self.topics.discovery_payload(&camera), true);
            }
        }
    }

    /// Bring the broker up to date: a new session gets discovery, then the queued events in
    /// order, then the retained state of every camera.
    /// Returns whether the broker is reachable.
    fn catch_up(&mut self) -> bool {
        let (connected, sessions, ha_online) = self.link();
        if !connected {
            if self.outage_started.is_none() && self.session_seen > 0 {
                self.outage_started = Some(Instant::now());
            }
            return false;
        }
        // `online` and the subscription were sent by the connection thread on CONNACK.
        let fresh = sessions != self.session_seen;
        if fresh {
            self.session_seen = sessions;
        }
        if fresh || ha_online {
            self.send_discovery();
        }
        let backlog = self.queue.len();
        while let Some((kind, m)) = self.queue.pop_front() {
            if !self.send(&m.topic, &m.payload, false) {
                self.queue.push_front(kind, m);
                return true;
            }
        }
        if fresh {
            for (camera, state) in self.states.all() {
                self.send(&self.topics.expression(&camera), &state, true);
            }
            if let Some(t) = self.outage_started.take() {
                log::info!(
                    "mqtt: back after {:.1} s; {backlog} queued events sent, {} dropped so far",
                    t.elapsed().as_secs_f64(),
                    self.queue.dropped()
                );
            }
        }
        true
    }
}

impl Publisher for MqttPublisher {
    fn publish(&mut self, event: &Event) -> Result<(), PublishError> {
        let online = self.catch_up();
        match event {
            Event::Expression(e) => {
                let first_sight = !self.states.knows(&e.camera);
                let state = self.states.apply(e);
                let m = Message { topic: self.topics.events(&e.camera), payload: event_payload(e) };
                // Once something waits, everything after it waits too, or order breaks.
                if online && self.queue.is_empty() && self.send(&m.topic, &m.payload, false) {
                    if first_sight && self.discovery {
                        self.send(&self.topics.discovery(&e.camera), &self.topics.discovery_payload(&e.camera), true);
                    }
                    self.send(&self.topics.expression(&e.camera), &state, true);
                } else {
                    // The retained state is re-sent whole after reconnecting.
                    self.queue.push(e.kind, m);
                }
            }
            Event::Stats(s) => {
                // Statistics are periodic and superseded by the next; never queued.
                if !(online && self.send(&self.topics.stats(), &stats_payload(s), false)) {
                    self.stats_dropped += 1;
                }
            }
        }
        Ok(())
    }

    fn tick(&mut self) {
        self.catch_up();
    }

    fn close(&mut self) -> Result<(), PublishError> {
        let online = self.catch_up();
        if let Ok(mut l) = self.link.lock() {
            l.stopping = true;
        }
        if online {
            self.send(&self.topics.available(), OFFLINE, true);
        }
        let (waiting, dropped) = self.queued();
        log::info!("mqtt: closing ({waiting} events unsent, {dropped} dropped while the broker was away)");
        // Requests are handled in order, so `offline` is written before the DISCONNECT.
        let _ = self.client.try_disconnect();
        match self.finished.recv_timeout(CLOSE_WAIT) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => Ok(()),
            Err(RecvTimeoutError::Timeout) => {
                Err(PublishError::Sink { sink: "mqtt".into(), reason: "the connection did not close in time (broker unreachable?)".into() })
            }
        }
    }
}

/// What the connection thread needs.
struct Session {
    client: Client,
    link: Arc<Mutex<Link>>,
    available: String,
    /// Home Assistant's status topic, when discovery is on.
    ha_status: Option<String>,
    qos: QoS,
    broker: String,
}

impl Session {
    /// Drive rumqttc (which reconnects on the next poll after an error) until, once close()
    /// has asked to stop, the connection ends: the broker closing it after our DISCONNECT,
    /// or the next failed attempt on an unreachable broker. `online` goes
    /// out here, on every CONNACK, so it never waits for an event.
    fn poll(&self, mut connection: Connection) {
        let mut last_error = String::new();
        for notification in connection.iter() {
            match notification {
                Ok(rumqttc::Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = self.client.try_publish(self.available.clone(), self.qos, true, ONLINE.as_bytes().to_vec());
                    if let Some(t) = &self.ha_status {
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
                    }
                }
                // Keep reading until the broker closes the socket: exiting with its
                // PUBACK unread makes the kernel reset the connection, the broker may then
                // drop our DISCONNECT unread and fire the last will.
                Ok(rumqttc::Event::Outgoing(Outgoing::Disconnect)) => {}
                Ok(_) => {}
                Err(e) => {
                    let stopping = match self.link.lock() {
                        Ok(mut l) => {
                            l.connected = false;
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

impl Drop for MqttPublisher {
    /// Without close() (a panic elsewhere), still stop the connection thread.
    fn drop(&mut self) {
        if let Ok(mut l) = self.link.lock() {
            l.stopping = true;
        }
        let _ = self.client.try_disconnect();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::publish::indexmap_like::OrderedProbs;
    use crate::publish::{FiredDescriptor, Scored};

    pub(crate) fn event(kind: EventKind, camera: &str, track: u64, expression: &str, t: f64) -> ExpressionEvent {
        let scored = Scored { expression: expression.into(), confidence: 0.9, probs: OrderedProbs(vec![(expression.into(), 0.9)]) };
        ExpressionEvent {
            kind,
            camera: camera.into(),
            track,
            bbox: [0.0; 4],
            expression: expression.into(),
            confidence: 0.9,
            probs: scored.probs.clone(),
            previous: None,
            frame: scored.clone(),
            clip: scored,
            clip_frames: 1,
            descriptor: FiredDescriptor { name: format!("fc.{expression}"), logit: 1.0 },
            timestamp: t,
            track_started: 0.0,
        }
    }

    #[test]
    fn topics_follow_the_prefixes() {
        let t = Topics::new("home/cliper", "homeassistant", "pi 4");
        assert_eq!(t.available(), "home/cliper/available");
        assert_eq!(t.expression("hallway"), "home/cliper/hallway/expression");
        assert_eq!(t.events("hallway"), "home/cliper/hallway/events");
        assert_eq!(t.stats(), "home/cliper/stats");
        assert_eq!(t.discovery("hall.way"), "homeassistant/sensor/pi_4/hall_way_expression/config");
        assert_eq!(t.ha_status(), "homeassistant/status");
    }

    #[test]
    fn discovery_names_state_availability_and_device() {
        let t = Topics::new("cliper", "homeassistant", "node1");
        let v: serde_json::Value = serde_json::from_str(&t.discovery_payload("hallway")).expect("json");
        assert_eq!(v["unique_id"], "node1_hallway_expression");
        assert_eq!(v["state_topic"], "cliper/hallway/expression");
        assert_eq!(v["availability_topic"], "cliper/available");
        assert_eq!(v["payload_not_available"], "offline");
        assert_eq!(v["device"]["identifiers"][0], "cliper_node1");
    }

    #[test]
    fn state_is_the_latest_live_track_or_none() {
        let mut s = CameraStates::default();
        let p = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("json");
        assert_eq!(p(&s.apply(&event(EventKind::Start, "a", 1, "happy", 1.0)))["expression"], "happy");
        let two = p(&s.apply(&event(EventKind::Start, "a", 2, "sad", 2.0)));
        assert_eq!((two["expression"].as_str(), two["tracks"].as_u64()), (Some("sad"), Some(2)));
        // Track 2 leaves: track 1 is what remains.
        assert_eq!(p(&s.apply(&event(EventKind::End, "a", 2, "sad", 3.0)))["track"], 1);
        let none = p(&s.apply(&event(EventKind::End, "a", 1, "happy", 4.0)));
        assert_eq!((none["expression"].as_str(), none["timestamp"].as_f64()), (Some("none"), Some(4.0)));
        assert_eq!(s.all().len(), 1);
        // Other cameras are independent.
        s.apply(&event(EventKind::Start, "b", 1, "surprised", 5.0));
        assert_eq!((p(&s.all()[0].1)["expression"].as_str(), p(&s.all()[0].1)["timestamp"].as_f64()), (Some("none"), Some(4.0)));
        assert_eq!(p(&s.all()[1].1)["expression"], "surprised");
    }

    #[test]
    fn full_queue_drops_the_oldest_change_before_any_start_or_end() {
        use EventKind::*;
        let mut q = OutageQueue::new(3);
        assert!(q.push(Start, 1).is_none());
        assert!(q.push(Change, 2).is_none());
        assert!(q.push(Change, 3).is_none());
        assert_eq!(q.push(End, 4), Some((Change, 2)));
        assert_eq!(q.push(Start, 5), Some((Change, 3)));
        // Only starts and ends left: the oldest of them goes.
        assert_eq!(q.push(Change, 6), Some((Start, 1)));
        assert_eq!(q.dropped(), 3);
        let order: Vec<i32> = std::iter::from_fn(|| q.pop_front().map(|(_, v)| v)).collect();
        assert_eq!(order, [4, 5, 6]);
    }

    #[test]
    fn password_comes_from_a_file_or_the_credentials_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("mqtt"), "s3cret\n").expect("write");
        let mut cfg: MqttOutput = toml::from_str("").expect("defaults");
        assert_eq!(read_password(&cfg, None).expect("none"), None);
        cfg.password_credential = Some("mqtt".into());
        assert_eq!(read_password(&cfg, Some(dir.path())).expect("cred").as_deref(), Some("s3cret"));
        let e = read_password(&cfg, None).expect_err("no dir").to_string();
        assert!(e.contains("CREDENTIALS_DIRECTORY") && e.contains("mqtt"), "{e}");
        cfg.password_credential = None;
        cfg.password_file = Some(dir.path().join("missing"));
        let e = read_password(&cfg, None).expect_err("missing").to_string();
        assert!(e.contains("password file") && e.contains("missing"), "{e}");
    }
}
