//! The `gpio` sink: output lines driven by expressions. A line is active while any face on
//! the camera shows its expression, or for a pulse each time a face starts showing it;
//! every line is at its inactive (safe) level at start and after shutdown.
//!
//! [`PinLogic`] decides the levels from events and a clock it is given; [`GpioPublisher`]
//! writes them through the [`OutputLine`] seam. Only [`open_chip`] touches a device (the
//! Linux GPIO character device, through gpiocdev).

use super::{Event, EventKind, ExpressionEvent, PublishError, Publisher};
use crate::config::GpioOutput;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
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

fn sink_error(e: GpioError) -> PublishError {
    PublishError::Sink { sink: "gpio".into(), reason: e.to_string() }
}

impl<L: OutputLine> Publisher for GpioPublisher<L> {
    fn publish(&mut self, event: &Event) -> Result<(), PublishError> {
        let now = self.epoch.elapsed();
        self.publish_at(event, now).map_err(sink_error)
    }

    fn tick(&mut self) {
        // A failed write shows up again on the next event, which reports it.
        let _ = self.tick_at(self.epoch.elapsed());
    }

    fn close(&mut self) -> Result<(), PublishError> {
        self.make_safe().map_err(sink_error)?;
        log::info!("gpio: {} lines at their safe level", self.lines.len());
        Ok(())
    }
}

/// The rules of a configured output, in `pins` order.
pub fn rules(cfg: &GpioOutput) -> Vec<PinRule> {
    cfg.pins
        .iter()
        .map(|p| PinRule { expression: p.expression.clone(), pulse: (p.pulse_ms > 0).then(|| Duration::from_millis(p.pulse_ms)) })
        .collect()
}

/// A line of a GPIO character device (one request holds all lines of an output).
pub struct ChipLine {
    request: Arc<gpiocdev::Request>,
    chip: PathBuf,
    offset: u32,
}

impl OutputLine for ChipLine {
    fn set_high(&mut self, high: bool) -> Result<(), GpioError> {
        let v = if high { gpiocdev::line::Value::Active } else { gpiocdev::line::Value::Inactive };
        self.request.set_value(self.offset, v).map_err(|e| GpioError::Set {
            chip: self.chip.clone(),
            line: self.offset,
            reason: e.to_string(),
        })
    }
}

/// What `cliper validate` can check without claiming the lines: the chip exists.
pub fn check(cfg: &GpioOutput) -> Result<(), GpioError> {
    if cfg.backend == crate::config::GpioBackend::Rppal {
        // rppal claims the pins to check them; `validate` must not touch outputs.
        return Ok(());
    }
    if cfg.chip.exists() {
        return Ok(());
    }
    Err(GpioError::Open { chip: cfg.chip.clone(), lines: cfg.pins.iter().map(|p| p.line).collect(), reason: NO_CHIP.into() })
}

const NO_CHIP: &str = "no such GPIO chip (see `ls /dev/gpiochip*`)";

/// Request the configured lines as outputs at their safe level.
pub fn open_chip(cfg: &GpioOutput) -> Result<GpioPublisher<ChipLine>, GpioError> {
    let offsets: Vec<u32> = cfg.pins.iter().map(|p| p.line).collect();
    let logic = PinLogic::new(rules(cfg), cfg.active_low);
    let open_err = |reason: String| GpioError::Open { chip: cfg.chip.clone(), lines: offsets.clone(), reason };
    if !cfg.chip.exists() {
        return Err(open_err(NO_CHIP.into()));
    }
    // Polarity is ours (PinLogic), so the kernel sees plain active-high lines.
    let safe = if logic.safe_level() { gpiocdev::line::Value::Active } else { gpiocdev::line::Value::Inactive };
    let request = gpiocdev::Request::builder()
        .on_chip(&cfg.chip)
        .with_consumer("cliper")
        .with_lines(&offsets)
        .as_output(safe)
        .request()
        .map_err(|e| open_err(e.to_string()))?;
    let request = Arc::new(request);
    let lines = offsets.iter().map(|&offset| ChipLine { request: Arc::clone(&request), chip: cfg.chip.clone(), offset }).collect();
    let publisher = GpioPublisher::new(logic, lines)?;
    log::info!("gpio: {} lines on {} at their safe level", offsets.len(), cfg.chip.display());
    Ok(publisher)
}

/// A Raspberry Pi GPIO (BCM numbering) driven through rppal.
#[cfg(feature = "rppal")]
pub struct RppalLine {
    pin: rppal::gpio::OutputPin,
}

#[cfg(feature = "rppal")]
impl OutputLine for RppalLine {
    fn set_high(&mut self, high: bool) -> Result<(), GpioError> {
        self.pin.write(if high { rppal::gpio::Level::High } else { rppal::gpio::Level::Low });
        Ok(())
    }
}

/// Claim the configured BCM pins through rppal, at their safe level. Off a Raspberry Pi
/// rppal refuses, and the error names the pins.
#[cfg(feature = "rppal")]
pub fn open_rppal(cfg: &GpioOutput) -> Result<GpioPublisher<RppalLine>, GpioError> {
    let offsets: Vec<u32> = cfg.pins.iter().map(|p| p.line).collect();
    let open_err = |reason: String| GpioError::Open { chip: PathBuf::from("rppal (Raspberry Pi GPIO)"), lines: offsets.clone(), reason };
    let logic = PinLogic::new(rules(cfg), cfg.active_low);
    let gpio = rppal::gpio::Gpio::new().map_err(|e| open_err(e.to_string()))?;
    let mut lines = Vec::with_capacity(offsets.len());
    for &bcm in &offsets {
        let bcm = u8::try_from(bcm).map_err(|_| open_err(format!("BCM pin {bcm} out of range")))?;
        let pin = gpio.get(bcm).map_err(|e| open_err(format!("BCM {bcm}: {e}")))?;
        let pin = if logic.safe_level() { pin.into_output_high() } else { pin.into_output_low() };
        lines.push(RppalLine { pin });
    }
    let publisher = GpioPublisher::new(logic, lines)?;
    log::info!("gpio: {} rppal pins at their safe level", offsets.len());
    Ok(publisher)
}

/// Without the `rppal` feature, a config asking for it gets a clear error.
#[cfg(not(feature = "rppal"))]
pub fn open_rppal(cfg: &GpioOutput) -> Result<GpioPublisher<ChipLine>, GpioError> {
    Err(GpioError::Open {
        chip: PathBuf::from("rppal (Raspberry Pi GPIO)"),
        lines: cfg.pins.iter().map(|p| p.line).collect(),
        reason: "this cliper was built without the rppal feature (cargo build --features rppal)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::mqtt::tests::event;
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
        let cfg: GpioOutput = toml::from_str(
            "chip = '/dev/gpiochip-missing'\n[[pins]]\nline = 17\nexpression = 'happy'\n[[pins]]\nline = 27\nexpression = 'sad'",
        )
        .expect("cfg");
        let e = open_chip(&cfg).err().expect("missing chip").to_string();
        assert!(e.contains("/dev/gpiochip-missing") && e.contains("[17, 27]"), "{e}");
        assert_eq!(check(&cfg).err().map(|e| e.to_string()), Some(e));
    }

    /// Off a Raspberry Pi (or without the feature) the rppal backend refuses with the pins
    /// named; it never pretends to drive them.
    #[test]
    fn rppal_off_a_pi_is_a_clear_error_naming_the_pins() {
        let cfg: GpioOutput = toml::from_str(
            "backend = 'rppal'
[[pins]]
line = 17
expression = 'happy'",
        )
        .expect("cfg");
        assert_eq!(cfg.backend, crate::config::GpioBackend::Rppal);
        let is_pi = std::fs::read_to_string("/proc/device-tree/compatible").is_ok_and(|c| c.contains("raspberrypi"));
        if !is_pi {
            let e = open_rppal(&cfg).err().expect("not a Pi").to_string();
            assert!(e.contains("rppal") && e.contains("[17]"), "{e}");
        }
        // validate does not claim rppal pins.
        assert!(check(&cfg).is_ok());
    }
}
