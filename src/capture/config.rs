//! How frame sources are chosen and configured: the [`SourceType`] every `[source]` table
//! implements, the `sources!` macro that turns one registration line per source into the
//! `type = "…"` enum, and the serde helpers for typed pixel formats. The registrations
//! themselves are in `capture/mod.rs`.

use super::convert::PixelFormat;
use super::{CaptureError, FrameSource};
use crate::schema::{Invalid, Key};
use crate::shutdown::Shutdown;
use serde::{Deserialize, Deserializer};

/// A kind of frame source, as `[source] type = "…"` selects it: its config checks itself and
/// opens the source.
pub trait SourceType {
    /// Check what serde cannot (ranges, combinations); `key` names the table (`source`).
    fn validate(&self, _key: &Key) -> Result<(), Invalid> {
        Ok(())
    }
    /// What `cliper validate` checks besides opening: e.g. that a device path exists.
    fn check(&self) -> Result<(), CaptureError> {
        Ok(())
    }
    /// Open the source; sleeps (reconnection backoff) end early on `shutdown`.
    fn open(&self, shutdown: &Shutdown) -> Result<Box<dyn FrameSource>, CaptureError>;
    /// Frames arrive in real time and cannot wait for inference (cameras, paced replays):
    /// the default frame policy keeps only the freshest.
    fn live(&self) -> bool {
        false
    }
}

/// Declares `SourceConfig`, the `[source]` table chosen by `type`, from one line per source:
/// `Variant(module::Config) = "type name",` with its doc comment.
macro_rules! sources {
    ($($(#[$doc:meta])* $variant:ident($config:ty) = $name:literal,)+) => {
        /// A frame source, chosen by `type`.
        #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
        #[serde(tag = "type", deny_unknown_fields)]
        pub enum SourceConfig {
            $($(#[$doc])* #[serde(rename = $name)] $variant($config),)+
        }

        impl SourceConfig {
            /// The `type` of this source.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(SourceConfig::$variant(_) => $name,)+
                }
            }

            /// The source's own config, for what every source does.
            pub fn settings(&self) -> &dyn $crate::capture::config::SourceType {
                match self {
                    $(SourceConfig::$variant(c) => c,)+
                }
            }
        }
    };
}
pub(crate) use sources;

/// A pixel format as a config value: the FourCC or ffmpeg's name, case-insensitive.
impl<'de> Deserialize<'de> for PixelFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        PixelFormat::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown pixel format {name:?} (MJPG, YUYV, NV12, GREY, RGB3)")))
    }
}

/// A pixel format where the empty string means "any".
pub fn optional_pixel_format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PixelFormat>, D::Error> {
    let name = String::deserialize(d)?;
    if name.trim().is_empty() {
        return Ok(None);
    }
    PixelFormat::parse(&name)
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown pixel format {name:?} (MJPG, YUYV, NV12, GREY, RGB3, or empty)")))
}
