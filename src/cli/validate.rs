//! `cliper validate`: config, models, descriptor set, output files/devices and source
//! checked; nothing runs or connects.

use super::args::ConfigArgs;
use super::exit::Error;
use cliper::classify::Classifier;
use cliper::config::Config;
use cliper::pipeline::models;
use cliper::shutdown::Shutdown;
use std::io::Write;

pub fn run(args: &ConfigArgs, out: &mut dyn Write) -> Result<(), Error> {
    let cfg = Config::load(&args.config)?;
    let (detector, classifier) = models::load_live(&cfg.models, &cfg.inference)?;
    cfg.check_labels(&classifier.folded().labels, &args.config)?;
    cfg.source.settings().check()?;
    for o in &cfg.outputs {
        o.check()?;
    }
    let source = cfg.source.open(&Shutdown::new())?;
    writeln!(
        out,
        "{}: ok (camera {}, source {}, detector {}, classifier {})",
        args.config.display(),
        cfg.camera,
        source.name(),
        detector.name,
        classifier.name
    )?;
    Ok(())
}
