//! Every topic cliper publishes to, and the payloads that are plain functions of an event or
//! of the configuration: pure, unit-tested, shared by the publisher and the connection thread.
//!
//! Contract v2 (docs/mqtt.md): every topic carries the node id (the MQTT `client_id`, which
//! a broker already requires to be unique), so two nodes never touch each other's topics.

use crate::publish::{ExpressionEvent, StatsEvent};
use serde_json::{json, Map, Value};

/// Payloads of `<prefix>/<node>/available`.
pub const ONLINE: &str = "online";
pub const OFFLINE: &str = "offline";

/// Every topic cliper uses, from the configured prefixes and the node id.
#[derive(Debug, Clone, PartialEq)]
pub struct Topics {
    prefix: String,
    discovery_prefix: String,
    /// The node id as given (`client_id`): a topic level.
    node: String,
    /// The node id with only `[a-zA-Z0-9_-]`: Home Assistant ids.
    node_id: String,
}

impl Topics {
    pub fn new(prefix: &str, discovery_prefix: &str, node: &str) -> Topics {
        Topics { prefix: prefix.into(), discovery_prefix: discovery_prefix.into(), node: node.into(), node_id: ha_id(node) }
    }
    pub fn available(&self) -> String {
        format!("{}/{}/available", self.prefix, self.node)
    }
    pub fn expression(&self, camera: &str) -> String {
        format!("{}/{}/{camera}/expression", self.prefix, self.node)
    }
    pub fn events(&self, camera: &str) -> String {
        format!("{}/{}/{camera}/events", self.prefix, self.node)
    }
    pub fn stats(&self) -> String {
        format!("{}/{}/stats", self.prefix, self.node)
    }
    /// Home Assistant's device-based discovery topic: one config for the whole node.
    pub fn discovery(&self) -> String {
        format!("{}/device/{}/config", self.discovery_prefix, self.node_id)
    }
    pub fn ha_status(&self) -> String {
        format!("{}/status", self.discovery_prefix)
    }

    /// Home Assistant's device-based discovery config for this node: one device, and per
    /// camera an expression `enum` sensor (`classes` + `none`), a faces-in-view sensor, a
    /// `binary_sensor` per class, an `event` entity, and diagnostics from the stats topic.
    /// Everything is available while the node is.
    pub fn discovery_payload(&self, cameras: &[String], classes: &[String]) -> String {
        let mut cmps = Map::new();
        for camera in cameras {
            for (key, component) in self.components(camera, classes) {
                cmps.insert(key, component);
            }
        }
        let version = env!("CARGO_PKG_VERSION");
        json!({
            "dev": {
                "ids": [format!("cliper_{}", self.node_id)],
                "name": self.node,
                "mf": "cliper",
                "mdl": "cliper facial-expression recognition",
                "sw": version,
            },
            "o": { "name": "cliper", "sw": version },
            "avty_t": self.available(),
            "pl_avail": ONLINE,
            "pl_not_avail": OFFLINE,
            "cmps": cmps,
        })
        .to_string()
    }

    /// One camera's components, keyed by their id within the device.
    fn components(&self, camera: &str, classes: &[String]) -> Vec<(String, Value)> {
        let cam = ha_id(camera);
        let state = self.expression(camera);
        let stats = self.stats();
        let id = |what: &str| format!("{}_{cam}_{}", self.node_id, ha_id(what));
        let mut options: Vec<String> = classes.to_vec();
        options.push("none".into());
        let mut out = vec![
            (
                format!("{cam}_expression"),
                json!({
                    "p": "sensor", "name": format!("{camera} expression"), "uniq_id": id("expression"),
                    "default_entity_id": format!("sensor.{}", id("expression")),
                    "dev_cla": "enum", "ops": options, "stat_t": state,
                    "val_tpl": "{{ value_json.expression }}", "json_attr_t": state,
                    "ic": "mdi:emoticon-outline",
                }),
            ),
            (
                format!("{cam}_faces"),
                json!({
                    "p": "sensor", "name": format!("{camera} faces"), "uniq_id": id("faces"),
                    "default_entity_id": format!("sensor.{}", id("faces")),
                    "stat_cla": "measurement", "stat_t": state, "val_tpl": "{{ value_json.tracks }}",
                    "ic": "mdi:account-multiple",
                }),
            ),
            (
                format!("{cam}_events"),
                json!({
                    "p": "event", "name": format!("{camera} expression event"), "uniq_id": id("events"),
                    "default_entity_id": format!("event.{}", id("events")),
                    "stat_t": self.events(camera), "evt_typ": ["start", "change", "end"],
                    "val_tpl": "{{ {'event_type': value_json.type, 'track': value_json.track, \
                                'expression': value_json.expression, 'confidence': value_json.confidence, \
                                'descriptor': value_json.descriptor.name} | to_json }}",
                }),
            ),
        ];
        for class in classes {
            let what = format!("anyone_{class}");
            let label = serde_json::to_string(class).unwrap_or_default();
            out.push((
                format!("{cam}_{}", ha_id(&what)),
                json!({
                    "p": "binary_sensor", "name": format!("{camera} anyone {class}"), "uniq_id": id(&what),
                    "default_entity_id": format!("binary_sensor.{}", id(&what)),
                    "stat_t": state,
                    "val_tpl": format!("{{{{ 'ON' if {label} in value_json.expressions else 'OFF' }}}}"),
                }),
            ));
        }
        // Diagnostics: the stats topic is per node; one camera per process, so its figures
        // are this camera's.
        for (what, template, unit) in [
            ("fps_in", "{{ value_json.fps_in }}", Some("fps")),
            ("fps_out", "{{ value_json.fps_out }}", Some("fps")),
            ("latency", "{{ value_json.latency_ms.values() | sum | round(1) }}", Some("ms")),
            ("frames_dropped", "{{ value_json.frames_dropped }}", None),
            ("events_dropped", "{{ value_json.events_dropped }}", None),
        ] {
            let mut c = json!({
                "p": "sensor", "name": format!("{camera} {}", what.replace('_', " ")), "uniq_id": id(what),
                "default_entity_id": format!("sensor.{}", id(what)),
                "ent_cat": "diagnostic", "stat_t": stats, "val_tpl": template,
            });
            if let Some(u) = unit {
                c["unit_of_meas"] = json!(u);
                c["stat_cla"] = json!("measurement");
            } else {
                c["stat_cla"] = json!("total_increasing");
            }
            out.push((format!("{cam}_{what}"), c));
        }
        out
    }
}

/// The components of a `previous` discovery config (as the broker retained it) that `current`
/// no longer has, each as `{"p": <platform>}`: Home Assistant removes a component sent with
/// only its platform. Components already sent that way are not removed again.
pub fn removed_components(previous: &str, current: &str) -> Map<String, Value> {
    let cmps = |text: &str| -> Map<String, Value> {
        serde_json::from_str::<Value>(text).ok().and_then(|v| v.get("cmps").and_then(Value::as_object).cloned()).unwrap_or_default()
    };
    let now = cmps(current);
    cmps(previous)
        .into_iter()
        .filter(|(key, c)| !now.contains_key(key) && c.as_object().is_some_and(|o| o.len() > 1))
        .filter_map(|(key, c)| c.get("p").cloned().map(|p| (key, json!({ "p": p }))))
        .collect()
}

/// `payload` with `removed` added to its components.
pub fn with_removed(payload: &str, removed: Map<String, Value>) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(payload) else { return payload.to_owned() };
    if let Some(cmps) = v.get_mut("cmps").and_then(Value::as_object_mut) {
        cmps.extend(removed);
    }
    v.to_string()
}

/// Home Assistant accepts only `[a-zA-Z0-9_-]` in node and object ids.
pub fn ha_id(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// The payload of `<prefix>/<node>/<camera>/events`: the event exactly as stdout prints it.
pub fn event_payload(event: &ExpressionEvent) -> String {
    // Serialising plain data cannot fail; an empty object would still be valid JSON.
    serde_json::to_string(event).unwrap_or_else(|_| "{}".into())
}

pub fn stats_payload(stats: &StatsEvent) -> String {
    serde_json::to_string(stats).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_carries_the_node() {
        let t = Topics::new("home/cliper", "homeassistant", "pi 4");
        assert_eq!(t.available(), "home/cliper/pi 4/available");
        assert_eq!(t.expression("hallway"), "home/cliper/pi 4/hallway/expression");
        assert_eq!(t.events("hallway"), "home/cliper/pi 4/hallway/events");
        assert_eq!(t.stats(), "home/cliper/pi 4/stats");
        assert_eq!(t.discovery(), "homeassistant/device/pi_4/config");
        assert_eq!(t.ha_status(), "homeassistant/status");
        // Two nodes with the same camera name share no topic.
        let u = Topics::new("home/cliper", "homeassistant", "garage");
        for (a, b) in [(t.available(), u.available()), (t.expression("c"), u.expression("c")), (t.stats(), u.stats())] {
            assert_ne!(a, b);
        }
    }

    #[test]
    fn device_discovery_has_every_component_and_no_object_id() {
        let t = Topics::new("cliper", "homeassistant", "node1");
        let classes: Vec<String> = ["happy", "sad"].map(String::from).to_vec();
        let text = t.discovery_payload(&["hallway".into()], &classes);
        assert!(!text.contains("object_id"), "{text}");
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["dev"]["ids"][0], "cliper_node1");
        assert_eq!(v["dev"]["name"], "node1");
        assert_eq!(v["avty_t"], "cliper/node1/available");
        let c = &v["cmps"];
        assert_eq!(c["hallway_expression"]["dev_cla"], "enum");
        assert_eq!(c["hallway_expression"]["ops"], json!(["happy", "sad", "none"]));
        assert_eq!(c["hallway_expression"]["stat_t"], "cliper/node1/hallway/expression");
        assert_eq!(c["hallway_expression"]["default_entity_id"], "sensor.node1_hallway_expression");
        assert_eq!(c["hallway_faces"]["stat_cla"], "measurement");
        assert_eq!(c["hallway_events"]["p"], "event");
        assert_eq!(c["hallway_events"]["evt_typ"], json!(["start", "change", "end"]));
        assert_eq!(c["hallway_anyone_sad"]["p"], "binary_sensor");
        assert_eq!(c["hallway_anyone_sad"]["val_tpl"], "{{ 'ON' if \"sad\" in value_json.expressions else 'OFF' }}");
        assert_eq!(c["hallway_fps_in"]["ent_cat"], "diagnostic");
        // 3 + one per class + 5 diagnostics; every component has a platform and a unique id.
        let cmps = c.as_object().expect("cmps");
        assert_eq!(cmps.len(), 3 + 2 + 5);
        assert!(cmps.values().all(|x| x["p"].is_string() && x["uniq_id"].is_string()));
    }

    #[test]
    fn components_a_new_descriptor_set_lacks_are_removed_with_only_their_platform() {
        let t = Topics::new("cliper", "homeassistant", "n");
        let old = t.discovery_payload(&["cam".into()], &["happy".into(), "contempt".into()]);
        let new = t.discovery_payload(&["cam".into()], &["happy".into()]);
        let removed = removed_components(&old, &new);
        assert_eq!(serde_json::Value::Object(removed.clone()), json!({"cam_anyone_contempt": {"p": "binary_sensor"}}));
        let sent = with_removed(&new, removed);
        // Once sent, the broker retains that: nothing more to remove, no loop.
        assert!(removed_components(&sent, &new).is_empty());
        assert!(removed_components(&new, &new).is_empty());
        assert!(removed_components("not json", &new).is_empty());
    }
}
