//! `cliper run`: events as JSON lines (and to every other configured output) until the
//! source ends or a signal arrives.

use super::args::ConfigArgs;
use super::exit::Error;
use cliper::classify::Classifier;
use cliper::config::Config;
use cliper::notify;
use cliper::pipeline::live::{self, RunSummary};
use cliper::pipeline::models;
use cliper::publish::{self, Announce, SinkContext};
use cliper::shutdown::Shutdown;
use std::io::Write;

/// `stdout` is the `stdout` output's writer.
pub fn run(args: &ConfigArgs, stdout: Box<dyn Write + Send>) -> Result<RunSummary, Error> {
    let cfg = Config::load(&args.config)?;
    let (mut detector, mut classifier) = models::load_live(&cfg.models, &cfg.inference)?;
    cfg.check_labels(&classifier.folded().labels, &args.config)?;
    log::info!(
        "models loaded: detector {} on {}, classifier {} on {}",
        detector.name,
        detector.backend(),
        classifier.name,
        classifier.backend()
    );
    let shutdown = Shutdown::new();
    shutdown.on_signals()?;
    let source = cfg.source.open(&shutdown)?;
    let mut live_cfg = cfg.live(detector.input_side(), detector.options().nms_iou);
    live_cfg.watchdog = notify::watchdog_interval();
    let announce = Announce { cameras: vec![cfg.camera.clone()], classes: classifier.folded().labels.clone() };
    let sinks = publish::start(&cfg.outputs, &mut SinkContext::new(stdout).announcing(announce))?;
    notify::ready(&format!("watching {} as camera {}", source.name(), cfg.camera));
    let result = live::run(source, &mut detector, &mut classifier, sinks, &live_cfg, &shutdown);
    notify::stopping();
    let summary = result?;
    // An MQTT output whose broker refused us all along: the run did not do its job.
    if let Some(out) = summary.outputs.iter().find(|o| o.own.contains(&("broker_refused", 1))) {
        return Err(Error::BrokerRefused(out.name.clone()));
    }
    Ok(summary)
}
