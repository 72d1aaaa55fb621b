//! Publishing: the events cliper tells the world about ([`event`]), the `Publisher` seam
//! their sinks implement, and the sinks, each chosen by an `[[outputs]]` table's `type`.
//! Only network and GPIO sinks touch the outside; [`stdout`] writes JSON lines, [`mqtt`]
//! talks to a broker, [`gpio`] drives output lines; [`fanout`] runs several at once, each
//! behind its own bounded queue.
//!
//! Adding a sink: its own module (or folder) with a `Config` that implements
//! [`config::SinkType`], and one line in the `sinks!` list below.

pub mod config;
pub mod event;
pub mod fanout;
pub mod gpio;
pub mod mqtt;
pub mod null;
pub mod stdout;

pub use config::{Announce, SinkContext, SinkType};
pub use event::{indexmap_like, Event, EventKind, ExpressionEvent, FiredDescriptor, Scored, StatsEvent};

use crate::schema::{Invalid, Key};

config::sinks! {
    /// JSON lines on standard output.
    Stdout(stdout::Config) = "stdout",
    /// An MQTT broker (docs/mqtt.md lists every topic). Boxed: it is much the largest.
    Mqtt(Box<mqtt::Config>) = "mqtt",
    /// GPIO output lines driven by expressions.
    Gpio(gpio::Config) = "gpio",
    Null(null::Config) = "null", // discards events, counting them (tests)
}

/// A started sink and its name (`stdout`, `mqtt`, `mqtt-2`).
pub type NamedSink = (String, Box<dyn Publisher>);

/// Unset `outputs`: one `stdout` sink.
pub fn default_outputs() -> Vec<OutputConfig> {
    vec![OutputConfig::Stdout(stdout::Config {})]
}

/// The whole `outputs` list: at least one, unique types at most once, each valid.
pub fn validate_outputs(outputs: &[OutputConfig], key: &Key) -> Result<(), Invalid> {
    if outputs.is_empty() {
        return Err(key.invalid("needs at least one output (events would go nowhere)"));
    }
    for (i, o) in outputs.iter().enumerate() {
        if o.settings().unique() && outputs[..i].iter().any(|p| p.name() == o.name()) {
            return Err(key.index(i).invalid(format!("is a second {0} output; at most one {0} output is allowed", o.name())));
        }
        o.settings().validate(&key.index(i))?;
    }
    Ok(())
}

/// Start every configured sink, each with its name: the type, with `-2`, `-3`… for a second
/// and third of the same type.
pub fn start(outputs: &[OutputConfig], cx: &mut SinkContext) -> Result<Vec<NamedSink>, PublishError> {
    let mut sinks = Vec::with_capacity(outputs.len());
    for (i, o) in outputs.iter().enumerate() {
        let same = outputs[..i].iter().filter(|p| p.name() == o.name()).count();
        let name = if same == 0 { o.name().to_owned() } else { format!("{}-{}", o.name(), same + 1) };
        sinks.push((name, o.settings().build(cx)?));
    }
    Ok(sinks)
}

impl OutputConfig {
    /// What `cliper validate` checks for this output without connecting or claiming lines.
    pub fn check(&self) -> Result<(), PublishError> {
        self.settings().check()
    }
}

/// Why a sink failed to start, publish or close.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{sink}: cannot write: {source}")]
    Write {
        sink: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{sink}: cannot encode an event: {source}")]
    Encode {
        sink: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Mqtt(#[from] mqtt::MqttError),
    #[error(transparent)]
    Gpio(#[from] gpio::GpioError),
    #[error("{sink}: {reason}")]
    Sink { sink: String, reason: String },
}

/// A sink for events. Called from its own thread only (the fan-out gives each sink a
/// thread and a bounded queue), so it may block briefly; it never holds up capture,
/// inference or the other sinks.
pub trait Publisher: Send {
    fn publish(&mut self, event: &Event) -> Result<(), PublishError>;
    /// Called about every 100 ms while no event arrives (by [`fanout::Fanout`]): for work
    /// that cannot wait for the next event, such as flushing after a reconnect or ending
    /// a GPIO pulse.
    fn tick(&mut self) {}
    /// Flush and release; called once at shutdown.
    fn close(&mut self) -> Result<(), PublishError> {
        Ok(())
    }
    /// The sink's own counters, totals so far (`("stats_dropped", 3)`); read after every
    /// publish and tick and reported in the statistics under the sink's name.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }
}
