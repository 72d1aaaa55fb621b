//! One shutdown handle for the whole process: set by SIGINT/SIGTERM, polled by capture and
//! by anything that sleeps (reconnect backoff), so a stop takes effect within a frame.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stops a run from any thread or from a signal handler.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Trigger on SIGINT and SIGTERM; a second signal while stopping exits at once
    /// (status 1), for a pipeline wedged in a driver call.
    pub fn on_signals(&self) -> std::io::Result<()> {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&self.0))?;
            signal_hook::flag::register(sig, Arc::clone(&self.0))?;
        }
        Ok(())
    }

    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

impl Shutdown {
    /// Sleep up to `d`, waking early on shutdown; returns false if shutdown was triggered.
    pub fn sleep(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while !self.is_triggered() {
            let now = Instant::now();
            if now >= until {
                return true;
            }
            std::thread::sleep((until - now).min(Duration::from_millis(50)));
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_returns_early_once_triggered() {
        let s = Shutdown::new();
        assert!(s.sleep(Duration::from_millis(1)));
        let other = s.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            other.trigger();
        });
        let start = Instant::now();
        assert!(!s.sleep(Duration::from_secs(10)));
        assert!(start.elapsed() < Duration::from_secs(2));
        t.join().expect("join");
    }
}
