//! The MQTT publisher: decides, from the link state its connection thread reports, whether an
//! event goes out now or waits in the [`OutageQueue`], and brings a reconnected broker up to
//! date (discovery, the queue in order, then the retained state).

use super::config::Config;
use super::connection::{options, qos, Link, Secrets, Session, CLIENT_CAPACITY, MAX_PACKET};
use super::queue::OutageQueue;
use super::state::CameraStates;
use super::topics::{event_payload, removed_components, stats_payload, with_removed, Topics, OFFLINE};
use super::MqttError;
use crate::publish::config::Announce;
use crate::publish::{Event, PublishError, Publisher};
use rumqttc::{Client, QoS};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long close() waits for the DISCONNECT to be written; beyond it the process exits
/// anyway (and the broker fires the last will, which says the same).
const CLOSE_WAIT: Duration = Duration::from_millis(1500);

/// A message waiting to go out.
#[derive(Debug, Clone, PartialEq)]
struct Message {
    topic: String,
    payload: String,
}

/// The connection as the publisher sees it (for tests and statistics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStatus {
    /// Connected now.
    pub connected: bool,
    /// Sessions the broker accepted so far (1 after the first CONNACK).
    pub sessions: u64,
    /// Attempts or connections that failed so far: refused, TLS handshake, socket errors.
    pub failures: u64,
}

/// Bytes of a PUBLISH besides its topic and payload, at most (fixed header with a 4-byte
/// length, topic length, packet id).
const PUBLISH_OVERHEAD: usize = 1 + 4 + 2 + 2;

/// The MQTT sink.
pub struct MqttPublisher {
    client: Client,
    topics: Topics,
    qos: QoS,
    discovery: bool,
    classes: Vec<String>,
    link: Arc<Mutex<Link>>,
    /// The session whose retained state and subscriptions we have set up.
    session_seen: u64,
    /// Discovery must go out (new session, Home Assistant came online, a new camera).
    discovery_pending: bool,
    /// Every camera's retained state must go out (new session, a state that did not fit).
    refresh_pending: bool,
    queue: OutageQueue<Message>,
    states: CameraStates,
    /// The connection thread says it has finished (DISCONNECT written, or gave up).
    finished: Receiver<()>,
    outage_started: Option<Instant>,
    stats_dropped: u64,
    /// Messages larger than [`MAX_PACKET`]: never handed to rumqttc (which would drop the
    /// connection), counted.
    oversize_dropped: u64,
}

impl MqttPublisher {
    /// Read the files, set up the client and start its connection thread. Does not wait
    /// for the broker: events queue until it answers.
    pub fn start(cfg: &Config, announce: &Announce) -> Result<MqttPublisher, MqttError> {
        let topics = Topics::new(&cfg.topic_prefix, &cfg.discovery_prefix, &cfg.client_id);
        let opts = options(cfg, &topics, Secrets::read(cfg)?);
        let (client, connection) = Client::new(opts, CLIENT_CAPACITY);
        let link = Arc::new(Mutex::new(Link::default()));
        let (done_tx, finished) = std::sync::mpsc::channel();
        let session = Session {
            client: client.clone(),
            link: Arc::clone(&link),
            available: topics.available(),
            ha_status: cfg.discovery.then(|| topics.ha_status()),
            discovery: cfg.discovery.then(|| topics.discovery()),
            qos: qos(cfg.qos),
            broker: format!("{}:{}", cfg.host, cfg.port),
        };
        std::thread::Builder::new()
            .name("mqtt".into())
            .spawn(move || {
                session.poll(connection);
                let _ = done_tx.send(());
            })
            .map_err(MqttError::Thread)?;
        Ok(MqttPublisher {
            client,
            topics,
            qos: qos(cfg.qos),
            discovery: cfg.discovery,
            classes: announce.classes.clone(),
            link,
            session_seen: 0,
            discovery_pending: false,
            refresh_pending: false,
            queue: OutageQueue::new(cfg.outage_queue),
            states: CameraStates::new(&announce.cameras, cfg.state_confidence_step),
            finished,
            outage_started: None,
            stats_dropped: 0,
            oversize_dropped: 0,
        })
    }

    /// Events waiting for the broker, and those dropped from the full queue.
    pub fn queued(&self) -> (usize, u64) {
        (self.queue.len(), self.queue.dropped())
    }

    /// The connection as its thread last reported it.
    pub fn link_status(&self) -> LinkStatus {
        match self.link.lock() {
            Ok(l) => LinkStatus { connected: l.connected, sessions: l.sessions, failures: l.failures },
            Err(_) => LinkStatus::default(),
        }
    }

    /// The broker refused our credentials and never gave us a session (so far).
    pub fn refused_whole_run(&self) -> bool {
        self.link.lock().map(|l| l.auth_refused && l.sessions == 0).unwrap_or(false)
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

    /// Hand a message to rumqttc without blocking; false if its channel is full. A message
    /// over [`MAX_PACKET`] is dropped and counted instead (true: nothing to retry).
    fn send(&mut self, topic: &str, payload: &str, retain: bool) -> bool {
        let size = topic.len() + payload.len() + PUBLISH_OVERHEAD;
        if size > MAX_PACKET {
            self.oversize_dropped += 1;
            if self.oversize_dropped == 1 {
                log::warn!(
                    "mqtt: a {size}-byte message for {topic} exceeds the {MAX_PACKET}-byte limit; dropped (further ones are counted)"
                );
            }
            return true;
        }
        self.client.try_publish(topic, self.qos, retain, payload.as_bytes().to_vec()).is_ok()
    }

    /// The node's discovery config, for every camera known.
    fn send_discovery(&mut self) -> bool {
        let payload = self.topics.discovery_payload(&self.states.cameras(), &self.classes);
        let topic = self.topics.discovery();
        self.send(&topic, &payload, true)
    }

    /// When the broker's retained discovery config has components ours no longer has (an
    /// earlier run with other classes or cameras), send ours with those as `{"p": …}` so
    /// Home Assistant removes them.
    fn remove_stale_components(&mut self) {
        let retained = self.link.lock().ok().and_then(|mut l| l.retained_discovery.take());
        let Some(previous) = retained else { return };
        let current = self.topics.discovery_payload(&self.states.cameras(), &self.classes);
        let removed = removed_components(&previous, &current);
        if !removed.is_empty() {
            let keys: Vec<&String> = removed.keys().collect();
            log::info!("mqtt: removing discovery components that no longer exist: {keys:?}");
            let topic = self.topics.discovery();
            if !self.send(&topic, &with_removed(&current, removed), true) {
                // Try again on the next call.
                if let Ok(mut l) = self.link.lock() {
                    l.retained_discovery.get_or_insert(previous);
                }
            }
        }
    }

    /// Bring the broker up to date: a new session gets discovery, then the queued events in
    /// order, then the retained state of every camera. Each step is remembered until it
    /// went out whole, so a backlog larger than rumqttc's channel delays the refresh to a
    /// later call but never skips it.
    /// Returns whether the broker is reachable and fully caught up.
    fn catch_up(&mut self) -> bool {
        let (connected, sessions, ha_online) = self.link();
        if !connected {
            if self.outage_started.is_none() && self.session_seen > 0 {
                self.outage_started = Some(Instant::now());
            }
            return false;
        }
        // `online` and the subscription were sent by the connection thread on CONNACK.
        if sessions != self.session_seen {
            self.session_seen = sessions;
            self.discovery_pending = true;
            self.refresh_pending = true;
        }
        if ha_online {
            self.discovery_pending = true;
        }
        if self.discovery_pending && self.discovery && !self.send_discovery() {
            return false;
        }
        self.discovery_pending = false;
        if self.discovery {
            self.remove_stale_components();
        }
        while let Some((kind, m)) = self.queue.pop_front() {
            if !self.send(&m.topic, &m.payload, false) {
                self.queue.push_front(kind, m);
                return false;
            }
        }
        if self.refresh_pending {
            for (camera, state) in self.states.all() {
                if !self.send(&self.topics.expression(&camera), &state, true) {
                    return false;
                }
            }
            self.refresh_pending = false;
            if let Some(t) = self.outage_started.take() {
                log::info!(
                    "mqtt: back after {:.1} s; queued events sent, {} dropped so far",
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
        match event {
            Event::Expression(e) => {
                // Caught up first: a fresh session's `none` goes out before this event's state.
                let mut online = self.catch_up();
                if !self.states.knows(&e.camera) {
                    // A camera nobody announced: discovery grows by it, before its first state.
                    self.states.add(&e.camera);
                    self.discovery_pending = true;
                    online = online && self.catch_up();
                }
                let state = self.states.apply(e);
                let m = Message { topic: self.topics.events(&e.camera), payload: event_payload(e) };
                // Once something waits, everything after it waits too, or order breaks.
                if online && self.send(&m.topic, &m.payload, false) {
                    if let Some(state) = state {
                        if !self.send(&self.topics.expression(&e.camera), &state, true) {
                            self.refresh_pending = true;
                        }
                    }
                } else {
                    // The retained state is re-sent whole after reconnecting.
                    self.queue.push(e.kind, m);
                }
            }
            Event::Stats(s) => {
                // Statistics are periodic and superseded by the next; never queued.
                let online = self.catch_up();
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

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let link = self.link_status();
        vec![
            ("outage_dropped", self.queue.dropped()),
            ("outage_queued", self.queue.len() as u64),
            ("stats_dropped", self.stats_dropped),
            ("oversize_dropped", self.oversize_dropped),
            ("connection_failures", link.failures),
            ("broker_refused", u64::from(self.refused_whole_run())),
        ]
    }

    /// A clean stop: every camera's state goes back to `none`, then `offline`.
    fn close(&mut self) -> Result<(), PublishError> {
        self.catch_up();
        let link = self.link_status();
        let refused = self.refused_whole_run();
        if let Ok(mut l) = self.link.lock() {
            l.stopping = true;
        }
        if link.connected {
            for (camera, none) in self.states.clear() {
                self.send(&self.topics.expression(&camera), &none, true);
            }
            self.send(&self.topics.available(), OFFLINE, true);
        }
        let (waiting, dropped) = self.queued();
        log::info!("mqtt: closing ({waiting} events unsent, {dropped} dropped while the broker was away)");
        // Requests are handled in order, so `offline` is written before the DISCONNECT.
        let _ = self.client.try_disconnect();
        let closed = match self.finished.recv_timeout(CLOSE_WAIT) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => Ok(()),
            Err(RecvTimeoutError::Timeout) => Err(MqttError::CloseTimeout.into()),
        };
        if refused {
            return Err(MqttError::AuthRefused.into());
        }
        closed
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
