//! The devices behind [`super::OutputLine`]: the Linux GPIO character device (gpiocdev),
//! and Raspberry Pi GPIO through rppal (feature `rppal`). The only GPIO code that touches
//! hardware.

use super::config::{Backend, Config};
use super::{rules, GpioError, GpioPublisher, OutputLine, PinLogic};
use std::path::PathBuf;
use std::sync::Arc;

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

/// What `cliper validate` can check without claiming the lines: the chip exists and is a
/// GPIO character device (not `/dev/null` or a regular file).
pub fn check(cfg: &Config) -> Result<(), GpioError> {
    if cfg.backend == Backend::Rppal {
        // rppal claims the pins to check them; `validate` must not touch outputs.
        return Ok(());
    }
    chip_problem(&cfg.chip)
        .map_or(Ok(()), |reason| Err(GpioError::Open { chip: cfg.chip.clone(), lines: cfg.pins.iter().map(|p| p.line).collect(), reason }))
}

/// Why `chip` is not a GPIO chip, if it is not.
fn chip_problem(chip: &std::path::Path) -> Option<String> {
    if !chip.exists() {
        return Some(NO_CHIP.into());
    }
    gpiocdev::chip::is_chip(chip).err().map(|_| NOT_A_CHIP.into())
}

const NO_CHIP: &str = "no such GPIO chip (see `ls /dev/gpiochip*`)";
const NOT_A_CHIP: &str = "not a GPIO character device (see `ls /dev/gpiochip*`)";

/// Request the configured lines as outputs at their safe level.
pub fn open_chip(cfg: &Config) -> Result<GpioPublisher<ChipLine>, GpioError> {
    let offsets: Vec<u32> = cfg.pins.iter().map(|p| p.line).collect();
    let logic = PinLogic::new(rules(cfg), cfg.active_low);
    let open_err = |reason: String| GpioError::Open { chip: cfg.chip.clone(), lines: offsets.clone(), reason };
    if let Some(reason) = chip_problem(&cfg.chip) {
        return Err(open_err(reason));
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
pub fn open_rppal(cfg: &Config) -> Result<GpioPublisher<RppalLine>, GpioError> {
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
pub fn open_rppal(cfg: &Config) -> Result<GpioPublisher<ChipLine>, GpioError> {
    Err(GpioError::Open {
        chip: PathBuf::from("rppal (Raspberry Pi GPIO)"),
        lines: cfg.pins.iter().map(|p| p.line).collect(),
        reason: "this cliper was built without the rppal feature (cargo build --features rppal)".into(),
    })
}
