//! The `gpio` sink: output lines driven by expressions. A line is active while any face on
//! the camera shows its expression, or for a pulse each time a face starts showing it;
//! every line is at its inactive (safe) level at start and after shutdown.
//!
//! [`PinLogic`] ([`logic`]) decides the levels from events and a clock it is given;
//! [`GpioPublisher`] writes them through the [`OutputLine`] seam. Only [`lines`] touches a
//! device (the Linux GPIO character device through gpiocdev, or rppal on a Raspberry Pi);
//! [`config`] is the `[[outputs]] type = "gpio"` table.

pub mod config;
pub mod lines;
pub mod logic;

pub use config::{Backend, Config, PinConfig};
#[cfg(feature = "rppal")]
pub use lines::RppalLine;
pub use lines::{check, open_chip, open_rppal, ChipLine};
pub use logic::{PinLogic, PinRule};

use crate::publish::config::{SinkContext, SinkType};
use crate::publish::{Event, PublishError, Publisher};
use crate::schema::{Invalid, Key};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Why a GPIO output could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    #[error("gpio: cannot open lines {lines:?} on {chip}: {reason}")]
    Open { chip: PathBuf, lines: Vec<u32>, reason: String },
    #[error("gpio: cannot set line {line} on {chip}: {reason}")]
    Set { chip: PathBuf, line: u32, reason: String },
}

/// One output line; `high` is the electrical level.
pub trait OutputLine: Send {
    fn set_high(&mut self, high: bool) -> Result<(), GpioError>;
}

/// A [`Publisher`] writing [`PinLogic`]'s levels to lines, only when they change.
pub struct GpioPublisher<L: OutputLine> {
    logic: PinLogic,
    lines: Vec<L>,
    written: Vec<bool>,
    epoch: Instant,
}

impl<L: OutputLine> GpioPublisher<L> {
    /// Takes one line per rule, in the same order, and drives them all to the safe level.
    pub fn new(logic: PinLogic, mut lines: Vec<L>) -> Result<Self, GpioError> {
        let safe = logic.safe_level();
        for l in &mut lines {
            l.set_high(safe)?;
        }
        let written = vec![safe; lines.len()];
        Ok(GpioPublisher { logic, lines, written, epoch: Instant::now() })
    }

    fn apply(&mut self, now: Duration) -> Result<(), GpioError> {
        let levels = self.logic.levels(now);
        for ((line, written), level) in self.lines.iter_mut().zip(&mut self.written).zip(levels) {
            if *written != level {
                line.set_high(level)?;
                *written = level;
            }
        }
        Ok(())
    }

    /// Feed an event at an explicit clock reading (tests drive time themselves).
    pub fn publish_at(&mut self, event: &Event, now: Duration) -> Result<(), GpioError> {
        if let Event::Expression(e) = event {
            self.logic.on_event(e, now);
        }
        self.apply(now)
    }

    pub fn tick_at(&mut self, now: Duration) -> Result<(), GpioError> {
        self.apply(now)
    }

    /// Every line to its safe level.
    pub fn make_safe(&mut self) -> Result<(), GpioError> {
        let safe = self.logic.safe_level();
        let mut first = Ok(());
        for (line, written) in self.lines.iter_mut().zip(&mut self.written) {
            // Keep going: the other lines must still be made safe.
            match line.set_high(safe) {
                Ok(()) => *written = safe,
                Err(e) if first.is_ok() => first = Err(e),
                Err(_) => {}
            }
        }
        first
    }
}

impl<L: OutputLine> Publisher for GpioPublisher<L> {
    fn publish(&mut self, event: &Event) -> Result<(), PublishError> {
        let now = self.epoch.elapsed();
        Ok(self.publish_at(event, now)?)
    }

    fn tick(&mut self) {
        // A failed write shows up again on the next event, which reports it.
        let _ = self.tick_at(self.epoch.elapsed());
    }

    fn close(&mut self) -> Result<(), PublishError> {
        self.make_safe()?;
        log::info!("gpio: {} lines at their safe level", self.lines.len());
        Ok(())
    }
}

impl SinkType for Config {
    fn validate(&self, key: &Key) -> Result<(), Invalid> {
        Config::validate(self, key)
    }

    fn check(&self) -> Result<(), PublishError> {
        Ok(check(self)?)
    }

    fn build(&self, _cx: &mut SinkContext) -> Result<Box<dyn Publisher>, PublishError> {
        Ok(match self.backend {
            Backend::Rppal => Box::new(open_rppal(self)?),
            Backend::Chardev => Box::new(open_chip(self)?),
        })
    }
}

/// The rules of a configured output, in `pins` order.
pub fn rules(cfg: &Config) -> Vec<PinRule> {
    cfg.pins
        .iter()
        .map(|p| PinRule { expression: p.expression.clone(), pulse: (p.pulse_ms > 0).then(|| Duration::from_millis(p.pulse_ms)) })
        .collect()
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::EventKind;
    use crate::testutil::expression_event as event;
    use std::sync::Arc;
    use std::sync::Mutex;

    /// Every write: (line index, level).
    type WriteLog = Arc<Mutex<Vec<(usize, bool)>>>;

    /// Records every write, shared with the test.
    struct FakeLine {
        id: usize,
        log: WriteLog,
    }

    impl OutputLine for FakeLine {
        fn set_high(&mut self, high: bool) -> Result<(), GpioError> {
            if let Ok(mut l) = self.log.lock() {
                l.push((self.id, high));
            }
            Ok(())
        }
    }

    fn fake(rules: Vec<PinRule>, active_low: bool) -> (GpioPublisher<FakeLine>, WriteLog) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = (0..rules.len()).map(|id| FakeLine { id, log: Arc::clone(&log) }).collect();
        (GpioPublisher::new(PinLogic::new(rules, active_low), lines).expect("fake"), log)
    }

    fn take(log: &WriteLog) -> Vec<(usize, bool)> {
        std::mem::take(&mut *log.lock().expect("log"))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn level_lines_follow_every_transition_and_end_safe() {
        let rules = vec![PinRule { expression: "happy".into(), pulse: None }, PinRule { expression: "sad".into(), pulse: None }];
        let (mut p, log) = fake(rules, false);
        assert_eq!(take(&log), [(0, false), (1, false)], "safe at start");
        let ev = |k, track, x: &str| Event::Expression(event(k, "cam", track, x, 0.0));
        p.publish_at(&ev(EventKind::Start, 1, "happy"), ms(0)).expect("start");
        assert_eq!(take(&log), [(0, true)]);
        // A second happy face changes nothing on the wire.
        p.publish_at(&ev(EventKind::Start, 2, "happy"), ms(10)).expect("start 2");
        assert_eq!(take(&log), []);
        p.publish_at(&ev(EventKind::Change, 1, "sad"), ms(20)).expect("change");
        assert_eq!(take(&log), [(1, true)], "track 2 still holds happy");
        p.publish_at(&ev(EventKind::End, 2, "happy"), ms(30)).expect("end 2");
        assert_eq!(take(&log), [(0, false)]);
        p.close().expect("close");
        assert_eq!(take(&log), [(0, false), (1, false)], "safe on shutdown");
    }

    #[test]
    fn active_low_inverts_and_pulses_end_on_tick() {
        let rules = vec![PinRule { expression: "surprised".into(), pulse: Some(ms(100)) }];
        let (mut p, log) = fake(rules, true);
        assert_eq!(take(&log), [(0, true)], "active low: safe is high");
        let ev = |k, x: &str| Event::Expression(event(k, "cam", 1, x, 0.0));
        p.publish_at(&ev(EventKind::Start, "surprised"), ms(0)).expect("start");
        assert_eq!(take(&log), [(0, false)]);
        p.tick_at(ms(99)).expect("tick");
        assert_eq!(take(&log), []);
        p.tick_at(ms(100)).expect("tick");
        assert_eq!(take(&log), [(0, true)], "pulse over");
        // Holding the expression does not pulse again; a new onset does.
        p.publish_at(&ev(EventKind::Change, "surprised"), ms(150)).expect("same");
        assert_eq!(take(&log), []);
        p.publish_at(&ev(EventKind::Change, "happy"), ms(200)).expect("away");
        p.publish_at(&ev(EventKind::Change, "surprised"), ms(300)).expect("again");
        assert_eq!(take(&log), [(0, false)]);
        p.close().expect("close");
        assert_eq!(take(&log), [(0, true)], "safe mid-pulse on shutdown");
    }

    #[test]
    fn a_missing_chip_is_named_with_its_lines() {
        let cfg: Config = toml::from_str(
            "chip = '/dev/gpiochip-missing'\n[[pins]]\nline = 17\nexpression = 'happy'\n[[pins]]\nline = 27\nexpression = 'sad'",
        )
        .expect("cfg");
        let e = open_chip(&cfg).err().expect("missing chip").to_string();
        assert!(e.contains("/dev/gpiochip-missing") && e.contains("[17, 27]"), "{e}");
        assert_eq!(check(&cfg).err().map(|e| e.to_string()), Some(e));
        // A path that exists but is no GPIO chip.
        let null: Config = toml::from_str("chip = '/dev/null'\n[[pins]]\nline = 17\nexpression = 'happy'").expect("cfg");
        let e = check(&null).err().map(|e| e.to_string()).expect("/dev/null is refused");
        assert_eq!(e, "gpio: cannot open lines [17] on /dev/null: not a GPIO character device (see `ls /dev/gpiochip*`)");
        assert_eq!(open_chip(&null).err().map(|e| e.to_string()), Some(e));
    }

    /// Off a Raspberry Pi (or without the feature) the rppal backend refuses with the pins
    /// named; it never pretends to drive them.
    #[test]
    fn rppal_off_a_pi_is_a_clear_error_naming_the_pins() {
        let cfg: Config = toml::from_str(
            "backend = 'rppal'
[[pins]]
line = 17
expression = 'happy'",
        )
        .expect("cfg");
        assert_eq!(cfg.backend, Backend::Rppal);
        let is_pi = std::fs::read_to_string("/proc/device-tree/compatible").is_ok_and(|c| c.contains("raspberrypi"));
        if !is_pi {
            let e = open_rppal(&cfg).err().expect("not a Pi").to_string();
            assert!(e.contains("rppal") && e.contains("[17]"), "{e}");
        }
        // validate does not claim rppal pins.
        assert!(check(&cfg).is_ok());
        // A build without the feature says so when the config is read.
        let key = Key::root().field("outputs").index(0);
        let valid = cfg.validate(&key).map_err(|e| e.to_string());
        if cfg!(feature = "rppal") {
            assert_eq!(valid, Ok(()));
        } else {
            assert!(valid.is_err_and(|e| e.starts_with("outputs[0].backend is \"rppal\", but this cliper was built without")));
        }
    }
}
