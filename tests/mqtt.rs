//! The MQTT sink against a real mosquitto started here on a free loopback port (Debian
//! packages `mosquitto`, `openssl`; `.ci/run` installs them): availability and its last
//! will, event order, retained state, discovery, password auth, TLS with a CA made at test
//! time, a broker outage, and SIGKILL/SIGTERM of a real `cliper run`.
//!
//! An observer client (rumqttc) records what the broker delivers; the events payload is
//! the same JSON as stdout's, so order is checked on (type, track, timestamp).

use crate::common::*;
use cliper::publish::mqtt::Config as MqttOutput;
use cliper::publish::mqtt::MqttPublisher;
use cliper::publish::{Announce, Event, EventKind, Publisher, StatsEvent};
use rumqttc::{Client, MqttOptions, Packet, QoS};
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A mosquitto of our own, killed on drop.
struct Broker {
    dir: tempfile::TempDir,
    port: u16,
    /// TLS listeners when asked for: server-authenticated, and requiring a client certificate.
    tls_port: Option<u16>,
    mtls_port: Option<u16>,
    child: Option<Child>,
}

/// Ports handed out to the brokers of this process: the tests run in parallel, and none
/// may get a port another broker here is using (or will use again after a restart).
static PORTS: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port nothing listened on a moment ago and no broker of this process has. Another
/// process may still take it before mosquitto binds it; [`Broker::prepared`] then retries.
fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        if PORTS.lock().unwrap_or_else(|p| p.into_inner()).insert(port) {
            return port;
        }
    }
}

/// How often a broker start is retried with fresh ports when one was taken meanwhile.
const START_ATTEMPTS: usize = 5;

impl Broker {
    /// `extra` is appended to the config; it may name files under `dir` via `{dir}`.
    fn start_with(extra: &str, tls: bool) -> Broker {
        Broker::prepared(extra, tls, |_| {})
    }

    /// `prepare` runs on the broker's directory before mosquitto starts.
    fn prepared(extra: &str, tls: bool, prepare: impl FnOnce(&Path)) -> Broker {
        let mut dir = tempfile::tempdir().expect("tempdir");
        if tls {
            make_test_ca(dir.path());
        }
        prepare(dir.path());
        let mut last_log = String::new();
        for _ in 0..START_ATTEMPTS {
            let (port, tls_port, mtls_port) = (free_port(), tls.then(free_port), tls.then(free_port));
            let mut conf = format!(
                "per_listener_settings false\nuser root\npersistence true\npersistence_location {d}/\nlog_dest file {d}/mosquitto.log\nlistener {port} 127.0.0.1\n",
                d = dir.path().display()
            );
            for (p, require) in [(tls_port, false), (mtls_port, true)] {
                if let Some(p) = p {
                    conf += &format!(
                        "listener {p} 127.0.0.1\ncafile {d}/ca.crt\ncertfile {d}/server.crt\nkeyfile {d}/server.key\nrequire_certificate {require}\n",
                        d = dir.path().display()
                    );
                }
            }
            conf += &extra.replace("{dir}", &dir.path().display().to_string());
            std::fs::write(dir.path().join("mosquitto.conf"), conf).expect("write mosquitto.conf");
            let mut b = Broker { dir, port, tls_port, mtls_port, child: None };
            match b.try_run() {
                Ok(()) => return b,
                // A port was taken between free_port() and mosquitto's bind: new ports.
                Err(log) => {
                    last_log = log;
                    dir = std::mem::replace(&mut b.dir, tempfile::tempdir().expect("tempdir"));
                }
            }
        }
        panic!("mosquitto did not start in {START_ATTEMPTS} attempts: {last_log}");
    }

    fn start() -> Broker {
        Broker::start_with("allow_anonymous true\n", false)
    }

    /// Start mosquitto on this broker's ports again (after [`Broker::stop`]).
    fn run(&mut self) {
        if let Err(log) = self.try_run() {
            panic!("mosquitto did not restart on port {}: {log}", self.port);
        }
    }

    /// Start mosquitto and wait until it says it is running: it has bound every listener
    /// then (it exits when one cannot be bound), so what answers on the ports is ours.
    /// `Err` carries its log when it exited instead.
    fn try_run(&mut self) -> Result<(), String> {
        let runs_before = self.log().matches(" running").count();
        let mut child = Command::new(mosquitto())
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start mosquitto ({e}): apt-get install mosquitto"));
        let until = Instant::now() + LONG;
        while self.log().matches(" running").count() == runs_before {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("mosquitto exited ({status}): {}", self.log()));
            }
            assert!(Instant::now() < until, "mosquitto did not start within {LONG:?}: {}", self.log());
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
        Ok(())
    }

    /// SIGTERM, so mosquitto saves its persistent sessions (the observer's), and wait.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            signal(&c, libc::SIGTERM);
            let _ = c.wait();
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn mosquitto() -> PathBuf {
    ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].iter().map(PathBuf::from).find(|p| p.exists()).unwrap_or_else(|| "mosquitto".into())
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    let rc = unsafe { libc::kill(child.id() as i32, sig) };
    assert_eq!(rc, 0, "kill {}", child.id());
}

fn sh(cmd: &str, dir: &Path) {
    let out = Command::new("sh").arg("-c").arg(cmd).current_dir(dir).output().expect("sh");
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA and a server certificate for localhost/127.0.0.1, made with openssl.
fn make_test_ca(dir: &Path) {
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    sh(&format!("openssl req -x509 {ec} -keyout ca.key -out ca.crt -days 2 -subj /CN=cliper-test-ca"), dir);
    sh(&format!("openssl req {ec} -keyout server.key -out server.csr -subj /CN=localhost"), dir);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").expect("ext");
    sh("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf", dir);
    sh(&format!("openssl req {ec} -keyout client.key -out client.csr -subj /CN=cliper"), dir);
    sh("openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2", dir);
    // A CA the broker does not use, to see a wrong trust anchor refused.
    sh(&format!("openssl req -x509 {ec} -keyout other.key -out other.crt -days 2 -subj /CN=someone-else"), dir);
}

/// What the broker delivered.
#[derive(Debug, Clone)]
struct Msg {
    topic: String,
    payload: String,
    retain: bool,
    at: Instant,
}

/// A subscriber; `persistent` keeps its session (and queued messages) across a broker
/// restart, so nothing published while it reconnects is missed.
struct Observer {
    _client: Client,
    rx: Receiver<Msg>,
    seen: Vec<Msg>,
}

impl Observer {
    fn new(port: u16, id: &str, filters: &[&str], auth: Option<(&str, &str)>) -> Observer {
        Observer::with(port, id, filters, auth, false)
    }

    fn with(port: u16, id: &str, filters: &[&str], auth: Option<(&str, &str)>, persistent: bool) -> Observer {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_clean_session(!persistent);
        // Large enough for anything cliper sends (rumqttc's default is 10 KiB).
        o.set_max_packet_size(1 << 20, 1 << 20);
        if let Some((u, p)) = auth {
            o.set_credentials(u, p);
        }
        let (client, mut conn) = Client::new(o, 64);
        let (tx, rx) = channel();
        let sub = client.clone();
        let filters: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        let (ready_tx, ready_rx) = channel();
        std::thread::spawn(move || {
            for n in conn.iter() {
                match n {
                    Ok(rumqttc::Event::Incoming(Packet::ConnAck(_))) => {
                        for f in &filters {
                            let _ = sub.try_subscribe(f.clone(), QoS::AtLeastOnce);
                        }
                    }
                    Ok(rumqttc::Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(rumqttc::Event::Incoming(Packet::Publish(p))) => {
                        let m = Msg {
                            topic: p.topic.clone(),
                            payload: String::from_utf8_lossy(&p.payload).into(),
                            retain: p.retain,
                            at: Instant::now(),
                        };
                        if tx.send(m).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        });
        ready_rx.recv_timeout(LONG).expect("observer subscribed");
        Observer { _client: client, rx, seen: Vec::new() }
    }

    /// Wait for a message matching `pred` (among those not yet seen and new ones).
    fn wait(&mut self, what: &str, timeout: Duration, pred: impl Fn(&Msg) -> bool) -> Msg {
        let until = Instant::now() + timeout;
        let mut checked = 0;
        loop {
            while let Ok(m) = self.rx.try_recv() {
                self.seen.push(m);
            }
            if let Some(m) = self.seen[checked..].iter().find(|m| pred(m)) {
                return m.clone();
            }
            checked = self.seen.len();
            assert!(Instant::now() < until, "no {what} within {timeout:?}; got {:?}", self.topics());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Collect for `d` more.
    fn settle(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            if let Ok(m) = self.rx.recv_timeout(Duration::from_millis(20)) {
                self.seen.push(m);
            }
        }
    }

    fn on(&self, topic: &str) -> Vec<&Msg> {
        self.seen.iter().filter(|m| m.topic == topic).collect()
    }

    fn topics(&self) -> Vec<(String, String)> {
        self.seen.iter().map(|m| (m.topic.clone(), m.payload.chars().take(60).collect())).collect()
    }
}

/// A publisher that announces no camera (each is discovered at its first event).
fn start(cfg: &MqttOutput) -> Result<MqttPublisher, cliper::publish::mqtt::MqttError> {
    MqttPublisher::start(cfg, &Announce::default())
}

/// A publisher that announces camera `cam` with two classes.
fn start_announcing(cfg: &MqttOutput) -> MqttPublisher {
    let announce = Announce { cameras: vec!["cam".into()], classes: vec!["happy".into(), "sad".into()] };
    MqttPublisher::start(cfg, &announce).expect("start")
}

fn mqtt_cfg(port: u16, extra: &str) -> MqttOutput {
    toml::from_str(&format!("host = \"127.0.0.1\"\nport = {port}\nkeep_alive_s = 5\nclient_id = \"cliper-test\"\n{extra}"))
        .expect("mqtt config")
}

fn event(kind: EventKind, camera: &str, track: u64, expression: &str, t: f64) -> Event {
    Event::Expression(cliper::testutil::expression_event(kind, camera, track, expression, t))
}

/// Wait until the publisher's connection thread has seen `n` failed attempts (refused,
/// handshake failed, connection lost).
fn wait_for_failures(p: &MqttPublisher, n: u64) {
    let until = Instant::now() + LONG;
    while p.link_status().failures < n {
        assert!(Instant::now() < until, "fewer than {n} failed connection attempts within {LONG:?}: {:?}", p.link_status());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until the publisher knows the broker is gone.
fn wait_until_disconnected(p: &MqttPublisher) {
    let until = Instant::now() + LONG;
    while p.link_status().connected {
        assert!(Instant::now() < until, "the publisher still thinks it is connected after {LONG:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Publish a marker event and wait until it arrives: the broker delivers one client's
/// messages in order, so everything published before it has arrived too, and nothing
/// more of it is on its way (no sleeping to see whether a duplicate shows up).
fn flush_through(p: &mut MqttPublisher, obs: &mut Observer) {
    // An `end` of a track that never started: it leaves the retained state as it is.
    p.publish(&event(EventKind::End, "cam", MARKER, "marker", 999.0)).expect("marker");
    let until = Instant::now() + LONG;
    while !obs.seen.iter().any(|m| m.topic == "cliper/cliper-test/cam/events" && json(m)["track"] == MARKER) {
        assert!(Instant::now() < until, "the marker did not arrive: {:?}", obs.topics());
        p.tick();
        obs.settle(Duration::from_millis(20));
    }
}

/// The marker's track id.
const MARKER: u64 = 999_999;

/// The events received before the marker.
fn before_marker<'a>(msgs: &[&'a Msg]) -> Vec<&'a Msg> {
    msgs.iter().copied().take_while(|m| json(m)["track"] != MARKER).collect()
}

/// A scripted day: tracks start, change several times and end, interleaved.
fn script(n_tracks: u64, changes: usize, t0: f64) -> Vec<Event> {
    let labels = ["happy", "sad", "surprised", "neutral"];
    let mut out = Vec::new();
    let mut t = t0;
    for track in 1..=n_tracks {
        t += 0.1;
        out.push(event(EventKind::Start, "cam", track, "happy", t));
        for c in 0..changes {
            t += 0.1;
            out.push(event(EventKind::Change, "cam", track, labels[(c + 1) % labels.len()], t));
        }
        t += 0.1;
        out.push(event(EventKind::End, "cam", track, labels[changes % labels.len()], t));
    }
    out
}

/// (type, track, timestamp) of each event, as sent or as received.
fn keys_sent(events: &[Event]) -> Vec<(String, u64, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Expression(x) => Some((format!("{:?}", x.kind).to_lowercase(), x.track, format!("{:.3}", x.timestamp))),
            Event::Stats(_) => None,
        })
        .collect()
}

fn keys_received(msgs: &[&Msg]) -> Vec<(String, u64, String)> {
    msgs.iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_str(&m.payload).expect("event json");
            (
                v["type"].as_str().unwrap_or("?").to_owned(),
                v["track"].as_u64().unwrap_or(0),
                format!("{:.3}", v["timestamp"].as_f64().unwrap_or(-1.0)),
            )
        })
        .collect()
}

fn json(m: &Msg) -> serde_json::Value {
    serde_json::from_str(&m.payload).expect("json payload")
}

/// How long a test waits for something that must happen: a hang guard, generous on purpose
/// (other tests load the CPU meanwhile), never what a test measures.
const LONG: Duration = Duration::from_secs(30);

#[test]
fn availability_events_state_and_stats_arrive_in_order_and_retained() {
    let broker = Broker::start();
    let mut obs = Observer::new(broker.port, "obs", &["cliper/#"], None);
    let mut p = start(&mqtt_cfg(broker.port, "")).expect("start");
    obs.wait("online", LONG, |m| m.topic == "cliper/cliper-test/available" && m.payload == "online");
    let events = script(3, 3, 0.0);
    for e in &events {
        p.publish(e).expect("publish");
    }
    p.publish(&Event::Stats(StatsEvent { kind: "stats", camera: "cam".into(), frames_in: 42, ..StatsEvent::default() })).expect("stats");
    let last_ts = format!("{:.3}", 1.5);
    obs.wait("the last event", LONG, |m| {
        m.topic == "cliper/cliper-test/cam/events" && m.payload.contains("\"type\":\"end\"") && json(m)["track"] == 3
    });
    obs.wait("stats", LONG, |m| m.topic == "cliper/cliper-test/stats");
    assert_eq!(keys_received(&obs.on("cliper/cliper-test/cam/events")), keys_sent(&events), "every event once, in order");
    let first = json(obs.on("cliper/cliper-test/cam/events")[0]);
    assert_eq!((first["camera"].as_str(), first["descriptor"]["name"].as_str()), (Some("cam"), Some("fc.happy")));
    assert_eq!(first["probs"]["happy"].as_f64().map(|x| (x * 10.0).round()), Some(8.0));
    assert_eq!(json(obs.on("cliper/cliper-test/stats")[0])["frames_in"], 42);
    // The state topic followed every event; a late subscriber gets the retained ones.
    let states: Vec<String> =
        obs.on("cliper/cliper-test/cam/expression").iter().map(|m| json(m)["expression"].as_str().unwrap_or("?").to_owned()).collect();
    assert_eq!(states.len(), events.len());
    assert_eq!(&states[..5], ["happy", "sad", "surprised", "neutral", "none"]);
    let mut late = Observer::new(broker.port, "late", &["cliper/#"], None);
    let avail = late.wait("retained online", LONG, |m| m.topic == "cliper/cliper-test/available");
    assert!(avail.retain && avail.payload == "online", "{avail:?}");
    let state = late.wait("retained state", LONG, |m| m.topic == "cliper/cliper-test/cam/expression");
    assert!(state.retain, "{state:?}");
    assert_eq!(
        (json(&state)["expression"].as_str(), json(&state)["timestamp"].as_f64().map(|t| format!("{t:.3}"))),
        (Some("none"), Some(last_ts))
    );
    // A clean close says offline itself (not the will: the broker got a DISCONNECT).
    p.close().expect("close");
    obs.wait("offline", LONG, |m| m.topic == "cliper/cliper-test/available" && m.payload == "offline");
    let mut after = Observer::new(broker.port, "after", &["cliper/cliper-test/available"], None);
    let m = after.wait("retained offline", LONG, |m| m.topic == "cliper/cliper-test/available");
    assert!(m.retain && m.payload == "offline");
    // mosquitto logs this only for a DISCONNECT packet: the will was not fired.
    assert!(broker.log().contains("Client cliper-test disconnected."), "{}", broker.log());
}

#[test]
fn discovery_and_a_none_state_come_at_connect_before_any_face() {
    let broker = Broker::start();
    let topic = "homeassistant/device/cliper-test/config";
    let mut obs = Observer::new(broker.port, "ha", &["homeassistant/device/#", "cliper/#"], None);
    let mut p = start_announcing(&mqtt_cfg(broker.port, "discovery = true"));
    // No event yet: the announced camera already has its entities and a retained `none`
    // (`cliper run` ticks its outputs every 100 ms while no event comes).
    let until = Instant::now() + LONG;
    while obs.on("cliper/cliper-test/cam/expression").is_empty() {
        assert!(Instant::now() < until, "no state before any face: {:?}", obs.topics());
        p.tick();
        obs.settle(Duration::from_millis(20));
    }
    let cfg = json(&obs.wait("discovery", LONG, |m| m.topic == topic));
    let state = obs.wait("state before any face", LONG, |m| m.topic == "cliper/cliper-test/cam/expression");
    assert_eq!((json(&state)["expression"].as_str(), json(&state)["tracks"].as_u64()), (Some("none"), Some(0)));
    let mut early = Observer::new(broker.port, "early", &["cliper/cliper-test/cam/expression"], None);
    assert!(early.wait("retained none", LONG, |m| m.topic == "cliper/cliper-test/cam/expression").retain);
    assert_eq!(cfg["dev"]["ids"][0], "cliper_cliper-test");
    assert_eq!(cfg["avty_t"], "cliper/cliper-test/available");
    assert_eq!(cfg["cmps"]["cam_expression"]["ops"], serde_json::json!(["happy", "sad", "none"]));
    assert_eq!(cfg["cmps"]["cam_expression"]["stat_t"], "cliper/cliper-test/cam/expression");
    assert!(cfg["cmps"].get("door_expression").is_none());
    // A camera nobody announced shows up: discovery is re-sent with it.
    p.publish(&event(EventKind::Start, "door", 1, "happy", 0.1)).expect("publish");
    let grown = json(&obs.wait("discovery with door", LONG, |m| m.topic == topic && json(m)["cmps"].get("door_expression").is_some()));
    assert_eq!(grown["cmps"]["door_anyone_happy"]["p"], "binary_sensor");
    let sent = obs.on(topic).len();
    // Home Assistant restarts: it says online, and gets the config again.
    let ha = Client::new(MqttOptions::new("ha-status", "127.0.0.1", broker.port), 8);
    let (ha_client, mut ha_conn) = ha;
    ha_client.publish("homeassistant/status", QoS::AtLeastOnce, false, "online").expect("ha status");
    std::thread::spawn(move || for _ in ha_conn.iter().take(8) {});
    let until = Instant::now() + LONG;
    while obs.on(topic).len() <= sent {
        assert!(Instant::now() < until, "discovery not re-sent: {:?}", obs.topics());
        p.tick();
        obs.settle(Duration::from_millis(50));
    }
    let mut late = Observer::new(broker.port, "late", &["homeassistant/device/#"], None);
    assert!(late.wait("retained discovery", LONG, |m| m.topic == topic).retain);
    // A clean stop: `none`, then `offline`.
    p.publish(&event(EventKind::Start, "cam", 2, "sad", 0.2)).expect("publish");
    obs.wait("sad", LONG, |m| m.topic == "cliper/cliper-test/cam/expression" && json(m)["expression"] == "sad");
    p.close().expect("close");
    let off = obs.wait("offline", LONG, |m| m.topic == "cliper/cliper-test/available" && m.payload == "offline").at;
    let cam: Vec<&Msg> = obs.on("cliper/cliper-test/cam/expression");
    let last = cam.last().expect("states");
    assert!(json(last)["expression"] == "none" && last.at <= off, "{:?}", obs.topics());
}

#[test]
fn two_nodes_on_one_broker_share_no_topic_and_stopping_one_leaves_the_other_online() {
    let broker = Broker::start();
    let mut obs = Observer::new(broker.port, "obs", &["#"], None);
    let cfg = |node: &str| MqttOutput { client_id: node.into(), ..mqtt_cfg(broker.port, "discovery = true") };
    let mut garage = start_announcing(&cfg("garage"));
    let mut hallway = start_announcing(&cfg("hallway"));
    obs.wait("garage online", LONG, |m| m.topic == "cliper/garage/available" && m.payload == "online");
    obs.wait("hallway online", LONG, |m| m.topic == "cliper/hallway/available" && m.payload == "online");
    // The same camera name on both nodes.
    garage.publish(&event(EventKind::Start, "cam", 1, "happy", 0.1)).expect("publish");
    hallway.publish(&event(EventKind::Start, "cam", 1, "sad", 0.1)).expect("publish");
    obs.wait("garage event", LONG, |m| m.topic == "cliper/garage/cam/events");
    obs.wait("hallway event", LONG, |m| m.topic == "cliper/hallway/cam/events");
    garage.close().expect("close");
    obs.wait("garage offline", LONG, |m| m.topic == "cliper/garage/available" && m.payload == "offline");
    // The hallway node is still online, and says so to a late subscriber.
    hallway.publish(&event(EventKind::End, "cam", 1, "sad", 0.5)).expect("publish");
    obs.wait("hallway still publishing", LONG, |m| m.topic == "cliper/hallway/cam/events" && json(m)["type"] == "end");
    let mut late = Observer::new(broker.port, "late", &["cliper/+/available"], None);
    let h = late.wait("hallway availability", LONG, |m| m.topic == "cliper/hallway/available");
    assert_eq!(h.payload, "online");
    assert_eq!(late.wait("garage availability", LONG, |m| m.topic == "cliper/garage/available").payload, "offline");
    // No topic was written by both: each node's topics carry its id.
    let garage_topics: BTreeSet<&str> = obs.seen.iter().filter(|m| m.topic.contains("garage")).map(|m| m.topic.as_str()).collect();
    assert!(obs.seen.iter().all(|m| m.topic.contains("garage") || m.topic.contains("hallway")), "{:?}", obs.topics());
    assert!(garage_topics.iter().all(|t| !t.contains("hallway")), "{garage_topics:?}");
    assert_eq!(obs.seen.iter().filter(|m| m.topic.ends_with("/device/garage/config")).count(), 1);
    hallway.close().expect("close");
}

#[test]
fn password_auth_accepts_the_file_and_refuses_a_wrong_one() {
    let broker = Broker::prepared("allow_anonymous false\npassword_file {dir}/passwd\n", false, |d| {
        sh("mosquitto_passwd -b -c passwd watcher watcherpw && mosquitto_passwd -b passwd cliper 'c0rrect horse'", d)
    });
    let d = broker.dir.path();
    for (name, text) in [("good", "c0rrect horse\n"), ("bad", "wrong\n")] {
        std::fs::write(d.join(name), text).expect("write");
        std::fs::set_permissions(d.join(name), std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    }
    let mut obs = Observer::new(broker.port, "watcher", &["cliper/#"], Some(("watcher", "watcherpw")));
    let mut wrong =
        start(&mqtt_cfg(broker.port, &format!("username = \"cliper\"\npassword_file = \"{}\"", d.join("bad").display()))).expect("start");
    wrong.publish(&event(EventKind::Start, "cam", 9, "sad", 0.1)).expect("queued");
    // Refused, and never given a session: it cannot have published anything.
    wait_for_failures(&wrong, 1);
    assert_eq!(wrong.link_status().sessions, 0, "a wrong password got a session");
    assert!(obs.seen.is_empty(), "a refused client published: {:?}", obs.topics());
    assert_eq!(wrong.queued(), (1, 0), "the event waits while refused");
    assert!(wrong.refused_whole_run() && wrong.counters().contains(&("broker_refused", 1)));
    let t = Instant::now();
    let closed = wrong.close().expect_err("refused all along").to_string();
    assert!(closed.contains("refused the credentials"), "{closed}");
    assert!(t.elapsed() < LONG, "close of a refused client hung");
    // The right password, through systemd's credentials directory.
    let creds = tempfile::tempdir().expect("creds");
    std::fs::write(creds.path().join("mqtt-password"), "c0rrect horse\n").expect("write");
    std::env::set_var("CREDENTIALS_DIRECTORY", creds.path());
    let mut good = start(&mqtt_cfg(broker.port, "username = \"cliper\"\npassword_credential = \"mqtt-password\"")).expect("start");
    std::env::remove_var("CREDENTIALS_DIRECTORY");
    obs.wait("online", LONG, |m| m.topic == "cliper/cliper-test/available" && m.payload == "online");
    good.publish(&event(EventKind::Start, "cam", 1, "happy", 0.1)).expect("publish");
    obs.wait("event", LONG, |m| m.topic == "cliper/cliper-test/cam/events");
    good.close().expect("close");
    assert!(!broker.log().contains("c0rrect"), "the password reached the broker log");
}

#[test]
fn tls_with_a_ca_made_at_test_time() {
    let broker = Broker::start_with("allow_anonymous true\n", true);
    let d = broker.dir.path();
    let tls_port = broker.tls_port.expect("tls port");
    let mut obs = Observer::new(broker.port, "obs", &["cliper/#"], None);
    let tls =
        |ca: &str| format!("host = \"localhost\"\nport = {tls_port}\nkeep_alive_s = 5\n[tls]\nca_file = \"{}\"", d.join(ca).display());
    // Trusting another CA: the handshake fails, nothing is published.
    let mut untrusted = start(&toml::from_str(&tls("other.crt")).expect("cfg")).expect("start");
    wait_for_failures(&untrusted, 1);
    assert_eq!(untrusted.link_status().sessions, 0, "a broker with an untrusted certificate was accepted");
    assert!(obs.seen.is_empty(), "{:?}", obs.topics());
    let _ = untrusted.close();
    let mut p = start(&toml::from_str(&tls("ca.crt")).expect("cfg")).expect("start");
    obs.wait("online over TLS", LONG, |m| m.topic == "cliper/cliper/available" && m.payload == "online");
    p.publish(&event(EventKind::Start, "cam", 1, "happy", 0.1)).expect("publish");
    obs.wait("event over TLS", LONG, |m| m.topic == "cliper/cliper/cam/events");
    p.close().expect("close");
    let t_offline = obs.wait("offline over TLS", LONG, |m| m.topic == "cliper/cliper/available" && m.payload == "offline").at;
    // The listener that requires a client certificate: refused without, accepted with.
    let mtls_port = broker.mtls_port.expect("mtls port");
    let mtls = |client: bool| {
        let mut c = format!(
            "host = \"localhost\"\nport = {mtls_port}\nclient_id = \"mtls-{client}\"\n[tls]\nca_file = \"{}\"\n",
            d.join("ca.crt").display()
        );
        if client {
            c += &format!("cert_file = \"{}\"\nkey_file = \"{}\"\n", d.join("client.crt").display(), d.join("client.key").display());
        }
        toml::from_str::<MqttOutput>(&c).expect("cfg")
    };
    let mut anonymous = start(&mtls(false)).expect("start");
    wait_for_failures(&anonymous, 1);
    assert_eq!(anonymous.link_status().sessions, 0, "accepted without a client certificate");
    assert!(!obs.seen.iter().any(|m| m.payload == "online" && m.at > t_offline), "accepted without a client certificate");
    let _ = anonymous.close();
    let mut p = start(&mtls(true)).expect("start");
    obs.wait("online with a client certificate", LONG, |m| m.payload == "online" && m.at > t_offline);
    p.close().expect("close");
    // A missing CA file is named at start.
    let e = start(&toml::from_str(&tls("nope.crt")).expect("cfg")).err().expect("missing CA").to_string();
    assert!(e.contains("CA file") && e.contains("nope.crt"), "{e}");
}

#[test]
fn a_broker_outage_loses_nothing_and_keeps_order() {
    let mut broker = Broker::start();
    let mut obs = Observer::with(broker.port, "outage-obs", &["cliper/cliper-test/cam/events", "cliper/cliper-test/available"], None, true);
    let mut p = start(&mqtt_cfg(broker.port, "outage_queue = 100")).expect("start");
    obs.wait("online", LONG, |m| m.payload == "online");
    let before = script(2, 2, 0.0);
    let during = script(5, 4, 10.0);
    let after = script(2, 2, 20.0);
    for e in &before {
        p.publish(e).expect("publish");
    }
    obs.wait("events before the outage", LONG, |m| {
        m.topic == "cliper/cliper-test/cam/events" && json(m)["timestamp"].as_f64() > Some(0.75)
    });
    broker.stop();
    let down = Instant::now();
    wait_until_disconnected(&p);
    for e in &during {
        p.publish(e).expect("publish");
    }
    let depth = p.queued().0;
    assert_eq!(p.queued(), (during.len(), 0), "every outage event queued, none dropped");
    broker.run();
    let outage = down.elapsed();
    let up = Instant::now();
    for e in &after {
        p.tick();
        p.publish(e).expect("publish");
    }
    let until = Instant::now() + LONG;
    while obs.on("cliper/cliper-test/cam/events").len() < before.len() + during.len() + after.len() {
        assert!(Instant::now() < until, "missing events: {:?}", keys_received(&obs.on("cliper/cliper-test/cam/events")));
        p.tick();
        obs.settle(Duration::from_millis(20));
    }
    flush_through(&mut p, &mut obs);
    let all: Vec<Event> = before.iter().chain(&during).chain(&after).cloned().collect();
    assert_eq!(keys_received(&before_marker(&obs.on("cliper/cliper-test/cam/events"))), keys_sent(&all), "every event once, in order");
    let first_flushed = obs.on("cliper/cliper-test/cam/events")[before.len()].at;
    let reconnect = first_flushed.duration_since(up);
    let last = before_marker(&obs.on("cliper/cliper-test/cam/events")).last().map(|m| m.at.duration_since(up)).unwrap_or_default();
    eprintln!(
        "outage: broker down {:.2} s, {} events queued (capacity 100, 0 dropped), first queued event delivered {:.0} ms after the broker was back, all {} delivered after {:.0} ms",
        outage.as_secs_f64(),
        depth,
        reconnect.as_secs_f64() * 1e3,
        all.len(),
        last.as_secs_f64() * 1e3
    );
    // The retained state was refreshed on the new broker (it kept none of its own: the
    // persisted retained message is the pre-outage one, so check the payload is current).
    let mut late = Observer::new(broker.port, "late", &["cliper/cliper-test/cam/expression", "cliper/cliper-test/available"], None);
    let state = json(&late.wait("state", LONG, |m| m.topic == "cliper/cliper-test/cam/expression"));
    assert_eq!((state["expression"].as_str(), state["timestamp"].as_f64().map(|t| t > 20.0)), (Some("none"), Some(true)));
    assert_eq!(late.wait("available", LONG, |m| m.topic == "cliper/cliper-test/available").payload, "online");
    p.close().expect("close");
}

/// `cliper run` with stdout and mqtt outputs, on the face fixtures played in a loop.
fn spawn_cliper(broker: &Broker, dir: &Path) -> Child {
    let config = dir.join("cliper.toml");
    std::fs::write(
        &config,
        format!(
            "camera = \"door\"\n[source]\ntype = \"images\"\npath = \"{}\"\nfps = 10\nrepeat = true\n[pipeline]\nstats_interval_s = 1\n\
             [[outputs]]\ntype = \"stdout\"\n[[outputs]]\ntype = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {}\nclient_id = \"cliper-proc\"\nkeep_alive_s = 5\n",
            fixture("faces").display(),
            broker.port
        ),
    )
    .expect("config");
    cliper_command()
        .args(["run", "--config", config.to_str().expect("utf8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cliper")
}

#[test]
fn a_killed_process_gets_its_last_will_and_sigterm_stops_it_cleanly() {
    let broker = Broker::start();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut obs = Observer::new(broker.port, "obs", &["cliper/cliper-proc/available", "cliper/cliper-proc/stats"], None);

    let mut killed = spawn_cliper(&broker, tmp.path());
    obs.wait("online", Duration::from_secs(60), |m| m.payload == "online");
    obs.wait("stats from the running pipeline", Duration::from_secs(30), |m| m.topic == "cliper/cliper-proc/stats");
    signal(&killed, libc::SIGKILL);
    let _ = killed.wait();
    let t = Instant::now();
    obs.wait("the last will", LONG, |m| m.payload == "offline");
    eprintln!("last will {:.0} ms after SIGKILL", t.elapsed().as_secs_f64() * 1e3);
    assert!(broker.log().contains("cliper-proc"), "{}", broker.log());

    // What a crashed run leaves: a retained state with faces nobody sees any more.
    let state_topic = "cliper/cliper-proc/door/expression";
    let (stale_client, mut stale_conn) = Client::new(MqttOptions::new("stale", "127.0.0.1", broker.port), 8);
    stale_client.publish(state_topic, QoS::AtLeastOnce, true, r#"{"expression":"stale-crash","tracks":4}"#).expect("stale state");
    std::thread::spawn(move || for _ in stale_conn.iter().take(8) {});
    let mut obs = Observer::new(broker.port, "obs2", &["cliper/cliper-proc/available", "cliper/cliper-proc/stats", state_topic], None);
    obs.wait("retained offline from the killed one", LONG, |m| m.payload == "offline");
    obs.wait("the stale retained state", LONG, |m| m.topic == state_topic && m.payload.contains("stale-crash"));
    let mut stopped = spawn_cliper(&broker, tmp.path());
    // The restarted node replaces it at connect, face or no face.
    let fresh = obs.wait("a fresh state", Duration::from_secs(60), |m| m.topic == state_topic && !m.payload.contains("stale-crash"));
    assert!(json(&fresh)["tracks"].is_u64(), "{fresh:?}");
    obs.wait("online again", Duration::from_secs(60), |m| m.payload == "online");
    obs.wait("stats again", Duration::from_secs(30), |m| m.topic == "cliper/cliper-proc/stats");
    let t = Instant::now();
    signal(&stopped, libc::SIGTERM);
    let status = loop {
        if let Some(s) = stopped.try_wait().expect("wait") {
            break s;
        }
        assert!(t.elapsed() < LONG, "cliper still running {LONG:?} after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!("cliper stopped {:.0} ms after SIGTERM", t.elapsed().as_secs_f64() * 1e3);
    let out = stopped.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("mqtt: closing"), "{stderr}");
    obs.wait("offline after SIGTERM", LONG, |m| m.payload == "offline");
    // The broker was told goodbye, so this offline is cliper's own, not the will.
    assert!(broker.log().contains("Client cliper-proc disconnected."), "{}", broker.log());
    // The stdout sink ran beside the broker: its stats lines are there.
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"type\":\"stats\""));
}

#[test]
fn a_full_outage_queue_drops_changes_and_keeps_every_start_and_end() {
    let mut broker = Broker::start();
    let mut obs =
        Observer::with(broker.port, "overflow-obs", &["cliper/cliper-test/cam/events", "cliper/cliper-test/available"], None, true);
    let mut p = start(&mqtt_cfg(broker.port, "outage_queue = 6")).expect("start");
    obs.wait("online", LONG, |m| m.payload == "online");
    p.publish(&event(EventKind::Start, "cam", 1, "happy", 0.1)).expect("publish");
    obs.wait("first event", LONG, |m| m.topic == "cliper/cliper-test/cam/events");
    broker.stop();
    wait_until_disconnected(&p);
    // Two tracks, 4 + 3 changes: 11 events for 6 places.
    let during = [script(1, 4, 1.0), script(1, 3, 2.0)].concat();
    for e in &during {
        p.publish(e).expect("publish");
    }
    assert_eq!(p.queued(), (6, 5));
    broker.run();
    let until = Instant::now() + LONG;
    while obs.on("cliper/cliper-test/cam/events").len() < 7 {
        assert!(Instant::now() < until, "missing events: {:?}", keys_received(&obs.on("cliper/cliper-test/cam/events")));
        p.tick();
        obs.settle(Duration::from_millis(20));
    }
    flush_through(&mut p, &mut obs);
    let got: Vec<String> =
        keys_received(&before_marker(&obs.on("cliper/cliper-test/cam/events"))).into_iter().map(|(k, _, ts)| format!("{k}@{ts}")).collect();
    // The five oldest changes went; every start and end and the newest changes stayed, in order.
    assert_eq!(got, ["start@0.100", "start@1.100", "end@1.600", "start@2.100", "change@2.300", "change@2.400", "end@2.500"]);
    p.close().expect("close");
}

#[test]
fn an_oversized_message_is_dropped_and_counted_without_a_reconnect() {
    let broker = Broker::start();
    let mut obs = Observer::new(broker.port, "obs", &["cliper/#"], None);
    let mut p = start(&mqtt_cfg(broker.port, "")).expect("start");
    obs.wait("online", LONG, |m| m.topic == "cliper/cliper-test/available" && m.payload == "online");
    // Over rumqttc's 10 KiB default, within cliper's limit: delivered.
    p.publish(&event(EventKind::Start, "cam", 1, &"x".repeat(20_000), 0.1)).expect("publish");
    // Over the limit: the event and its state are dropped and counted, the link stays up.
    p.publish(&event(EventKind::Start, "cam", 2, &"y".repeat(300_000), 0.2)).expect("publish");
    flush_through(&mut p, &mut obs);
    let tracks: Vec<u64> =
        before_marker(&obs.on("cliper/cliper-test/cam/events")).iter().filter_map(|m| json(m)["track"].as_u64()).collect();
    assert_eq!(tracks, [1]);
    let link = p.link_status();
    assert_eq!((link.sessions, link.failures), (1, 0), "the connection was dropped");
    assert!(p.counters().contains(&("oversize_dropped", 2)), "{:?}", p.counters());
    p.close().expect("close");
}

#[test]
fn after_a_backlog_larger_than_the_client_channel_the_state_is_still_refreshed() {
    let mut broker = Broker::start();
    let mut obs =
        Observer::with(broker.port, "backlog-obs", &["cliper/cliper-test/cam/events", "cliper/cliper-test/available"], None, true);
    let mut p = start(&mqtt_cfg(broker.port, "outage_queue = 2000")).expect("start");
    obs.wait("online", LONG, |m| m.payload == "online");
    p.publish(&event(EventKind::Start, "cam", 1, "happy", 0.1)).expect("publish");
    obs.wait("first event", LONG, |m| m.topic == "cliper/cliper-test/cam/events");
    broker.stop();
    wait_until_disconnected(&p);
    // 600 events: more than rumqttc's 256-request channel takes in one go.
    let during = script(150, 2, 10.0);
    for e in &during {
        p.publish(e).expect("publish");
    }
    assert_eq!(p.queued(), (600, 0));
    broker.run();
    let until = Instant::now() + LONG;
    while p.queued().0 > 0 {
        assert!(Instant::now() < until, "{} events still queued", p.queued().0);
        p.tick();
        obs.settle(Duration::from_millis(10));
    }
    flush_through(&mut p, &mut obs);
    // The broker persisted the pre-outage `happy`: only a refresh replaces it.
    let mut late = Observer::new(broker.port, "late", &["cliper/cliper-test/cam/expression"], None);
    let state = json(&late.wait("state", LONG, |m| m.topic == "cliper/cliper-test/cam/expression"));
    assert_eq!((state["expression"].as_str(), state["timestamp"].as_f64().map(|t| t > 10.0)), (Some("none"), Some(true)));
    p.close().expect("close");
}

#[test]
fn run_exits_with_its_own_code_when_the_broker_refuses_the_credentials_all_along() {
    let broker = Broker::prepared("allow_anonymous false\npassword_file {dir}/passwd\n", false, |d| {
        sh("mosquitto_passwd -b -c passwd cliper 'c0rrect horse'", d)
    });
    let d = broker.dir.path();
    std::fs::write(d.join("bad"), "wrong\n").expect("write");
    std::fs::set_permissions(d.join("bad"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let config = d.join("cliper.toml");
    std::fs::write(
        &config,
        format!(
            "camera = \"door\"\n[source]\ntype = \"images\"\npath = \"{}\"\nfps = 20\n\
             [[outputs]]\ntype = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {}\nclient_id = \"refused\"\nusername = \"cliper\"\npassword_file = \"{}\"\n",
            fixture("faces").display(),
            broker.port,
            d.join("bad").display()
        ),
    )
    .expect("config");
    let mut child = cliper_command()
        .args(["run", "--config", config.to_str().expect("utf8")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cliper");
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(t.elapsed() < Duration::from_secs(120), "cliper run did not end");
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = child.wait_with_output().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).unwrap_or_default();
    assert_eq!(status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
}

#[test]
fn components_that_no_longer_exist_are_removed_from_discovery() {
    let broker = Broker::start();
    let topic = "homeassistant/device/cliper-test/config";
    // An earlier run had a camera `gone`: its component is still retained on the broker.
    let (old_client, mut old_conn) = Client::new(MqttOptions::new("earlier-run", "127.0.0.1", broker.port), 8);
    let earlier = r#"{"dev":{"ids":["cliper_cliper-test"]},"cmps":{"gone_expression":{"p":"sensor","stat_t":"x"}}}"#;
    old_client.publish(topic, QoS::AtLeastOnce, true, earlier).expect("earlier discovery");
    std::thread::spawn(move || for _ in old_conn.iter().take(8) {});
    let mut obs = Observer::new(broker.port, "ha", &["homeassistant/device/#"], None);
    obs.wait("the earlier config", LONG, |m| m.payload.contains("\"stat_t\":\"x\""));
    let mut p = start_announcing(&mqtt_cfg(broker.port, "discovery = true"));
    let until = Instant::now() + LONG;
    while !obs.on(topic).iter().any(|m| json(m)["cmps"]["gone_expression"] == serde_json::json!({"p": "sensor"})) {
        assert!(Instant::now() < until, "the stale component was not removed: {:?}", obs.topics());
        p.tick();
        obs.settle(Duration::from_millis(20));
    }
    let last = json(obs.on(topic).last().expect("config"));
    assert!(last["cmps"]["cam_expression"]["stat_t"].is_string(), "{last}");
    p.close().expect("close");
}
