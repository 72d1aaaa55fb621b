//! `[[outputs]] type = "gpio"`: the chip or backend, polarity and one table per line.

use crate::schema::{Invalid, Key};
use serde::Deserialize;
use std::path::PathBuf;

/// GPIO output lines driven by expressions.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `chardev` (the Linux GPIO character device: Pi, Jetson, any board) or `rppal`
    /// (Raspberry Pi only, needs a cliper built with the `rppal` feature; `line` is then
    /// the BCM GPIO number and `chip` is ignored).
    #[serde(default = "default_backend")]
    pub backend: Backend,
    /// GPIO character device, e.g. `/dev/gpiochip0`.
    #[serde(default = "default_chip")]
    pub chip: PathBuf,
    /// Active means low on the wire (relays that switch on low).
    #[serde(default = "default_active_low")]
    pub active_low: bool,
    /// One table per output line.
    #[serde(default = "default_pins")]
    pub pins: Vec<PinConfig>,
}

/// How GPIO lines are driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Chardev,
    Rppal,
}

fn default_backend() -> Backend {
    Backend::Chardev
}

fn default_chip() -> PathBuf {
    "/dev/gpiochip0".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinConfig {
    /// Line offset on the chip.
    pub line: u32,
    /// The expression that drives it (a class label such as `happy`).
    pub expression: String,
    /// 0: active while any face shows the expression; otherwise a pulse this long each
    /// time a face starts showing it.
    #[serde(default = "default_pulse_ms")]
    pub pulse_ms: u64,
}

fn default_active_low() -> bool {
    false
}
fn default_pins() -> Vec<PinConfig> {
    Vec::new()
}
fn default_pulse_ms() -> u64 {
    0
}

impl Config {
    /// Every pin's `expression` is one of the descriptor set's `labels` (known once the
    /// models are loaded): a pin for a class that does not exist would never switch.
    pub fn check_labels(&self, key: &Key, labels: &[String]) -> Result<(), Invalid> {
        for (i, pin) in self.pins.iter().enumerate() {
            if !labels.contains(&pin.expression) {
                return Err(key.field("pins").index(i).field("expression").invalid(format!(
                    "must be one of the descriptor set's classes ({}), got {:?}",
                    labels.join(", "),
                    pin.expression
                )));
            }
        }
        Ok(())
    }

    /// `key` names this output (`outputs[2]`).
    pub fn validate(&self, key: &Key) -> Result<(), Invalid> {
        if self.pins.is_empty() {
            return Err(key.field("pins").invalid("needs at least one [[outputs.pins]] table"));
        }
        if self.backend == Backend::Rppal && !cfg!(feature = "rppal") {
            return Err(key.field("backend").invalid("is \"rppal\", but this cliper was built without the rppal feature; use \"chardev\""));
        }
        for (i, pin) in self.pins.iter().enumerate() {
            if self.pins[..i].iter().any(|p| p.line == pin.line) {
                return Err(key
                    .field("pins")
                    .index(i)
                    .field("line")
                    .invalid(format!("{} is used twice: a line may drive only one expression", pin.line)));
            }
        }
        Ok(())
    }
}
