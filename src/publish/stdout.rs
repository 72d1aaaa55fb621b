//! The `stdout` sink: one JSON object per line, flushed per event so a reader sees events
//! as they happen.

use super::{Event, PublishError, Publisher};
use std::io::Write;

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
        let err = |e: String| PublishError::Sink { sink: "stdout".into(), reason: e };
        serde_json::to_writer(&mut self.out, event).map_err(|e| err(e.to_string()))?;
        self.out.write_all(b"\n").and_then(|_| self.out.flush()).map_err(|e| err(e.to_string()))
    }

    fn close(&mut self) -> Result<(), PublishError> {
        self.out.flush().map_err(|e| PublishError::Sink { sink: "stdout".into(), reason: e.to_string() })
    }
}
