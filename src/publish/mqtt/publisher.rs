//! The MQTT publisher: decides, from the link state its connection thread reports, whether an
//! event goes out now or waits in the [`OutageQueue`], and brings a reconnected broker up to
//! date (discovery, the queue in order, then the retained state).

use super::config::Config;
use super::connection::{options, qos, Link, Secrets, Session, CLIENT_CAPACITY};
use super::queue::OutageQueue;
use super::state::CameraStates;
use super::topics::{event_payload, stats_payload, Topics, OFFLINE};
use super::MqttError;
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
    /// Read the files, set up the client and start its connection thread. Does not wait
    /// for the broker: events queue until it answers.
    pub fn start(cfg: &Config) -> Result<MqttPublisher, MqttError> {
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

    /// The connection as its thread last reported it.
    pub fn link_status(&self) -> LinkStatus {
        match self.link.lock() {
            Ok(l) => LinkStatus { connected: l.connected, sessions: l.sessions, failures: l.failures },
            Err(_) => LinkStatus::default(),
        }
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

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let link = self.link_status();
        vec![
            ("outage_dropped", self.queue.dropped()),
            ("outage_queued", self.queue.len() as u64),
            ("stats_dropped", self.stats_dropped),
            ("connection_failures", link.failures),
        ]
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
            Err(RecvTimeoutError::Timeout) => Err(MqttError::CloseTimeout.into()),
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
