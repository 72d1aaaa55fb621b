//! systemd notifications: READY once models are loaded and the source is open, WATCHDOG
//! from the inference loop (so a wedged pipeline is restarted), STOPPING on shutdown.
//! Every call is a no-op outside systemd (no `NOTIFY_SOCKET`).

use sd_notify::NotifyState;
use std::time::{Duration, Instant};

/// Tell systemd the service is up.
pub fn ready(status: &str) {
    if let Err(e) = sd_notify::notify(&[NotifyState::Ready, NotifyState::Status(status)]) {
        log::warn!("cannot notify systemd of readiness: {e}");
    }
}

/// Tell systemd the service is stopping.
pub fn stopping() {
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
}

/// How often to send WATCHDOG=1: half of systemd's `WatchdogSec`, as sd_watchdog_enabled(3)
/// recommends; `None` when the watchdog is off.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

/// Rate-limited watchdog pings.
#[derive(Debug, Clone)]
pub struct Watchdog {
    interval: Duration,
    last: Option<Instant>,
}

impl Watchdog {
    pub fn new(interval: Duration) -> Watchdog {
        Watchdog { interval, last: None }
    }

    /// Ping if the last ping is older than the interval.
    pub fn kick(&mut self) {
        let now = Instant::now();
        if self.last.is_none_or(|l| now.duration_since(l) >= self.interval) {
            let _ = sd_notify::notify(&[NotifyState::Watchdog]);
            self.last = Some(now);
        }
    }
}
