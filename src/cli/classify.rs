//! `cliper classify`: every face of every photo, one line (or JSON object) per face, one
//! error line per input that failed.

use super::args::ModelArgs;
use super::exit::Error;
use clap::Args;
use cliper::decode::files::expand_inputs;
use cliper::detect::FaceDetector;
use cliper::pipeline::{models, StillPipeline};
use cliper::report;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, Args)]
pub struct ClassifyArgs {
    #[command(flatten)]
    pub models: ModelArgs,
    /// Treat every image as an already aligned face crop: no detection.
    #[arg(long)]
    pub aligned: bool,
    /// One JSON object per face per line.
    #[arg(long)]
    pub json: bool,
    /// Image files or directories (searched recursively for .jpg, .jpeg, .png).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// What a classify run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub images: usize,
    pub faces: usize,
    pub failed: usize,
}

/// Results to `out`, one error line per failed input to `err`.
pub fn run(args: &ClassifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Outcome, Error> {
    let (selection, inference) = (args.models.selection(), args.models.inference.config());
    let classifier = models::load_classifier(&selection, &inference)?;
    let detector: Option<Box<dyn FaceDetector>> =
        if args.aligned { None } else { Some(Box::new(models::load_tiled_detector(&selection, &inference, args.models.min_face)?)) };
    let mut pipeline = StillPipeline::new(detector, Box::new(classifier), args.models.align_options());
    let mut outcome = Outcome::default();
    for input in expand_inputs(&args.paths) {
        let path = match input {
            Ok(p) => p,
            Err(e) => {
                outcome.failed += 1;
                fail(args.json, "", &e.to_string(), out, err)?;
                continue;
            }
        };
        let name = path.display().to_string();
        match pipeline.process_file(&path) {
            Ok(faces) => {
                outcome.images += 1;
                outcome.faces += faces.len();
                let folded = pipeline.classifier().folded();
                if faces.is_empty() {
                    if args.json {
                        writeln!(out, "{}", report::no_face_json(&name))?;
                    } else {
                        writeln!(out, "{name}: no face found")?;
                    }
                }
                for f in &faces {
                    if args.json {
                        writeln!(out, "{}", report::face_json(&name, f, folded))?;
                    } else {
                        writeln!(out, "{}", report::face_line(&name, f, folded))?;
                    }
                }
            }
            Err(e) => {
                outcome.failed += 1;
                fail(args.json, &name, &e.to_string(), out, err)?;
            }
        }
    }
    Ok(outcome)
}

fn fail(json: bool, image: &str, msg: &str, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Error> {
    writeln!(err, "error: {msg}")?;
    if json {
        writeln!(out, "{}", report::error_json(image, msg))?;
    }
    Ok(())
}
