//! The config schema's building blocks, shared by every component's `validate()`: a [`Key`]
//! path naming where a value sits in the file (`outputs[1].qos`), the [`Invalid`] error it
//! produces, and small range checks that name the key.
//!
//! Components own their sections (`capture::images::Config`, `publish::mqtt::Config`, …) and
//! check them without knowing the file; `crate::config` composes them and adds the file
//! name, so a bad value reads `c.toml: outputs[1].qos must be 0, 1 or 2, got 3`. Messages are
//! predicates of the key (`must be …`), so the key and the reason read as one sentence.

use std::fmt;

/// Where a value sits in the config: dotted fields and `[i]` indices.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Key(String);

impl Key {
    /// The top of the file.
    pub fn root() -> Key {
        Key(String::new())
    }

    /// A field of this table.
    pub fn field(&self, name: &str) -> Key {
        if self.0.is_empty() {
            Key(name.to_owned())
        } else {
            Key(format!("{}.{name}", self.0))
        }
    }

    /// An element of this array.
    pub fn index(&self, i: usize) -> Key {
        Key(format!("{}[{i}]", self.0))
    }

    /// This key is wrong: `reason` completes the sentence (`must be …`, `and … go together`).
    pub fn invalid(&self, reason: impl Into<String>) -> Invalid {
        Invalid { key: self.0.clone(), reason: reason.into() }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A value serde accepted but the component cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key} {reason}")]
pub struct Invalid {
    /// `outputs[1].qos`.
    pub key: String,
    /// `must be 0, 1 or 2, got 3`.
    pub reason: String,
}

/// A number a range check can compare and print.
pub trait Number: Copy + PartialOrd + fmt::Display {
    const ZERO: Self;
    /// False for NaN and the infinities; integers are always finite.
    fn is_finite_number(self) -> bool {
        true
    }
}

macro_rules! integers {
    ($($t:ty),*) => { $(impl Number for $t { const ZERO: Self = 0; })* };
}
integers!(u8, u16, u32, u64, usize, i32, i64);

impl Number for f32 {
    const ZERO: Self = 0.0;
    fn is_finite_number(self) -> bool {
        self.is_finite()
    }
}

impl Number for f64 {
    const ZERO: Self = 0.0;
    fn is_finite_number(self) -> bool {
        self.is_finite()
    }
}

/// A finite number above zero.
pub fn positive<T: Number>(key: &Key, v: T) -> Result<(), Invalid> {
    if v.is_finite_number() && v > T::ZERO {
        Ok(())
    } else {
        Err(key.invalid(format!("must be positive, got {v}")))
    }
}

/// A finite number (not NaN, not infinite).
pub fn finite<T: Number>(key: &Key, v: T) -> Result<(), Invalid> {
    if v.is_finite_number() {
        Ok(())
    } else {
        Err(key.invalid(format!("must be a finite number, got {v}")))
    }
}

/// Zero or more (NaN is refused; infinity is not, use [`finite`] too where it matters).
pub fn not_negative<T: Number>(key: &Key, v: T) -> Result<(), Invalid> {
    if v >= T::ZERO {
        Ok(())
    } else {
        Err(key.invalid(format!("must not be negative, got {v}")))
    }
}

/// `min` or more (NaN is refused).
pub fn at_least<T: Number>(key: &Key, v: T, min: T) -> Result<(), Invalid> {
    if v >= min {
        Ok(())
    } else {
        Err(key.invalid(format!("must be at least {min}, got {v}")))
    }
}

/// Within `lo..=hi` (NaN is refused).
pub fn within<T: Number>(key: &Key, v: T, lo: T, hi: T) -> Result<(), Invalid> {
    if v >= lo && v <= hi {
        Ok(())
    } else {
        Err(key.invalid(format!("must be within {lo}..={hi}, got {v}")))
    }
}

/// Slowest and fastest frame rate of any source: one frame in 1000 s to 1000 a second.
/// Beyond them frame periods overflow or round to zero.
pub const FPS_RANGE: (f64, f64) = (0.001, 1000.0);

/// A frame rate within [`FPS_RANGE`].
pub fn fps(key: &Key, v: f64) -> Result<(), Invalid> {
    within(key, v, FPS_RANGE.0, FPS_RANGE.1)
}

/// Largest capacity of any queue: each slot is allocated up front, and a queue this long is
/// already minutes of events.
pub const MAX_QUEUE: usize = 65_536;

/// A queue capacity within `1..=MAX_QUEUE`.
pub fn queue(key: &Key, v: usize) -> Result<(), Invalid> {
    within(key, v, 1, MAX_QUEUE)
}

/// A path that names something: not empty (an empty path reads as `: cannot read`).
pub fn path(key: &Key, p: &std::path::Path) -> Result<(), Invalid> {
    if p.as_os_str().is_empty() {
        Err(key.invalid("must name a file or directory, got an empty path"))
    } else {
        Ok(())
    }
}

/// Longest interval any `*_s` setting takes: one day.
pub const MAX_INTERVAL_S: f64 = 86_400.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_render_as_paths() {
        let k = Key::root().field("outputs").index(1).field("tls").field("ca_file");
        assert_eq!(k.to_string(), "outputs[1].tls.ca_file");
        assert_eq!(Key::root().field("camera").as_str(), "camera");
    }

    #[test]
    fn checks_name_the_key_and_the_value_and_refuse_nan() {
        let k = Key::root().field("source").field("fps");
        assert_eq!(positive(&k, 0.0).map_err(|e| e.to_string()), Err("source.fps must be positive, got 0".into()));
        assert!(positive(&k, f64::INFINITY).is_err() && positive(&k, 2.5).is_ok());
        assert_eq!(within(&k, 3u8, 0, 2).map_err(|e| e.to_string()), Err("source.fps must be within 0..=2, got 3".into()));
        for check in [not_negative(&k, f32::NAN), at_least(&k, f32::NAN, 1.0), within(&k, f32::NAN, 0.0, 1.0), finite(&k, f32::NAN)] {
            assert!(check.is_err_and(|e| e.reason.contains("NaN")));
        }
        assert!(at_least(&k, 1usize, 1).is_ok() && at_least(&k, 0usize, 1).is_err());
        assert!(not_negative(&k, f64::INFINITY).is_ok() && finite(&k, f64::INFINITY).is_err());
        for bad in [1e-19, 1e-300, 1e300, f64::NAN, f64::INFINITY] {
            assert!(fps(&k, bad).is_err(), "{bad}");
        }
        assert!(fps(&k, 30.0).is_ok() && queue(&k, 256).is_ok());
        assert!(queue(&k, 0).is_err() && queue(&k, 10_000_000).is_err() && queue(&k, usize::MAX).is_err());
    }
}
