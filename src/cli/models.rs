//! `cliper models`: what is compiled in, with provenance.

use super::exit::Error;
use cliper::model::embedded::{self, DEFAULT_DESCRIPTORS};
use std::io::Write;

pub fn run(out: &mut dyn Write) -> Result<(), Error> {
    for name in embedded::model_names() {
        let m = embedded::model(name)?;
        let man = &m.manifest;
        writeln!(
            out,
            "{name}: {:?} {}x{} {} licence {} from {} ({})",
            man.role,
            man.input_width,
            man.input_height,
            man.name,
            man.licence,
            man.provenance.package,
            man.provenance.paths.join(", ")
        )?;
    }
    let set = embedded::descriptor_set(DEFAULT_DESCRIPTORS)?;
    writeln!(
        out,
        "{DEFAULT_DESCRIPTORS}: descriptor set {} for {} ({} classes, {} descriptors, {:?})",
        set.name,
        set.encoder,
        set.classes.len(),
        set.descriptor_count(),
        set.scoring
    )?;
    Ok(())
}
