//! The `stdout` sink: one JSON object per line, flushed per event so a reader sees events
//! as they happen.

use super::config::{SinkContext, SinkType};
use super::{Event, PublishError, Publisher};
use serde::Deserialize;
use std::io::Write;

/// `[[outputs]] type = "stdout"`: no settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {}

impl SinkType for Config {
    fn unique(&self) -> bool {
        true
    }

    fn build(&self, cx: &mut SinkContext) -> Result<Box<dyn Publisher>, PublishError> {
        // Validation allows one stdout output, so the writer is still there.
        let out = cx.take_stdout().ok_or_else(|| PublishError::Sink { sink: "stdout".into(), reason: "a second stdout output".into() })?;
        Ok(Box::new(JsonLines::new(out)))
    }
}

pub struct JsonLines<W: Write + Send> {
    out: W,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W) -> Self {
        JsonLines { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Send> Publisher for JsonLines<W> {
    fn publish(&mut self, event: &Event) -> Result<(), PublishError> {
        serde_json::to_writer(&mut self.out, event).map_err(|source| PublishError::Encode { sink: "stdout", source })?;
        self.out.write_all(b"\n").and_then(|_| self.out.flush()).map_err(|source| PublishError::Write { sink: "stdout", source })
    }

    fn close(&mut self) -> Result<(), PublishError> {
        self.out.flush().map_err(|source| PublishError::Write { sink: "stdout", source })
    }
}
