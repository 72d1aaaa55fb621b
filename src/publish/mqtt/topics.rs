//! Every topic cliper publishes to, and the payloads that are plain functions of an event:
//! pure, unit-tested, shared by the publisher and the connection thread.

use crate::publish::{ExpressionEvent, StatsEvent};
use serde_json::json;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
