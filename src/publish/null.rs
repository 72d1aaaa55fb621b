//! The `null` sink: discards every event and counts it. For tests, and for timing the
//! pipeline without an output's cost.

use super::config::{SinkContext, SinkType};
use super::{Event, PublishError, Publisher};
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// `[[outputs]] type = "null"`: no settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl SinkType for Config {
    fn build(&self, _cx: &mut SinkContext) -> Result<Box<dyn Publisher>, PublishError> {
        Ok(Box::new(NullSink::default()))
    }
}

/// Counts what it is given, and nothing else.
#[derive(Debug, Clone, Default)]
pub struct NullSink {
    events: Arc<AtomicU64>,
}

impl NullSink {
    /// Events discarded so far, shared with every clone (a test keeps one).
    pub fn discarded(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }
}

impl Publisher for NullSink {
    fn publish(&mut self, _event: &Event) -> Result<(), PublishError> {
        self.events.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![("discarded", self.discarded())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{EventKind, SinkContext};
    use crate::testutil::expression_event;

    #[test]
    fn a_null_output_is_chosen_by_type_and_counts_what_it_discards() {
        let cfg = crate::config::Config::parse("[[outputs]]\ntype = 'null'\n[[outputs]]\ntype = 'null'", std::path::Path::new("c.toml"))
            .expect("two null outputs");
        let mut sinks = crate::publish::start(&cfg.outputs, &mut SinkContext::new(Box::new(std::io::sink()))).expect("start");
        let names: Vec<&str> = sinks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["null", "null-2"]);
        let event = Event::Expression(expression_event(EventKind::Start, "cam", 1, "happy", 0.1));
        for _ in 0..3 {
            sinks[0].1.publish(&event).expect("discarded");
        }
        assert_eq!((sinks[0].1.counters(), sinks[1].1.counters()), (vec![("discarded", 3)], vec![("discarded", 0)]));
        let e = crate::config::Config::parse("[[outputs]]\ntype = 'null'\nsize = 1", std::path::Path::new("c.toml")).expect_err("no keys");
        assert!(e.to_string().contains("size"), "{e}");
    }
}
