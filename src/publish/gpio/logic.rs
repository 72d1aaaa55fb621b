//! The level state machine of one GPIO output: which lines are active, from the events seen
//! and a clock it is given. Pure; [`super::GpioPublisher`] writes its levels.

use crate::publish::{EventKind, ExpressionEvent};
use std::collections::BTreeMap;
use std::time::Duration;

/// What drives one line.
#[derive(Debug, Clone, PartialEq)]
pub struct PinRule {
    pub expression: String,
    /// None: active while the expression holds; Some: a pulse this long on each onset.
    pub pulse: Option<Duration>,
}

/// The level state machine of all lines of one output, fed with events and a clock.
#[derive(Debug, Clone)]
pub struct PinLogic {
    rules: Vec<PinRule>,
    active_low: bool,
    /// Expression of every live track, by (camera, track).
    tracks: BTreeMap<(String, u64), String>,
    /// Per rule: when its current pulse ends.
    pulse_until: Vec<Option<Duration>>,
}

impl PinLogic {
    pub fn new(rules: Vec<PinRule>, active_low: bool) -> PinLogic {
        let n = rules.len();
        PinLogic { rules, active_low, tracks: BTreeMap::new(), pulse_until: vec![None; n] }
    }

    /// The electrical level of an inactive line.
    pub fn safe_level(&self) -> bool {
        self.active_low
    }

    pub fn on_event(&mut self, e: &ExpressionEvent, now: Duration) {
        let key = (e.camera.clone(), e.track);
        let before = self.tracks.get(&key).cloned();
        if e.kind == EventKind::End {
            self.tracks.remove(&key);
            return;
        }
        self.tracks.insert(key, e.expression.clone());
        // An onset: this track did not show the expression before this event.
        if before.as_deref() != Some(e.expression.as_str()) {
            for (rule, until) in self.rules.iter().zip(&mut self.pulse_until) {
                if let Some(p) = rule.pulse {
                    if rule.expression == e.expression {
                        *until = Some(now + p);
                    }
                }
            }
        }
    }

    /// Electrical level of every line at `now`, in rule order.
    pub fn levels(&self, now: Duration) -> Vec<bool> {
        self.rules
            .iter()
            .zip(&self.pulse_until)
            .map(|(rule, until)| {
                let active = match rule.pulse {
                    None => self.tracks.values().any(|x| *x == rule.expression),
                    Some(_) => until.is_some_and(|u| now < u),
                };
                active != self.active_low
            })
            .collect()
    }
}
