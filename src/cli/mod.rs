//! The `cliper` command line, private to the binary: clap's types, one module per
//! subcommand, and the mapping of failures to exit codes ([`exit`]). Everything a
//! subcommand does is the library's; this is argument parsing and glue.

mod args;
mod bench;
mod bench_detection;
mod classify;
mod devices;
pub mod exit;
mod models;
mod run;
mod validate;

use clap::{Parser, Subcommand};
use std::io::Write;

/// Facial expression recognition on edge devices.
#[derive(Debug, Parser)]
#[command(name = "cliper", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Classify the expression of every face in photos (files or directories).
    Classify(classify::ClassifyArgs),
    /// Time every stage on photos and print per-stage figures.
    Bench(bench::BenchArgs),
    /// List the embedded models and descriptor sets.
    Models,
    /// Watch a source continuously: JSON events on stdout when a face's expression starts,
    /// changes or ends, plus periodic statistics.
    Run(args::ConfigArgs),
    /// Load the config and every model it names, check the source, and exit; nothing runs.
    Validate(args::ConfigArgs),
    /// List V4L2 capture devices with their formats, sizes and frame rates.
    Devices,
}

/// Run the subcommand; returns the process's exit code. Errors are printed to stderr.
pub fn run(cli: Cli) -> i32 {
    let mut err = std::io::stderr();
    // `run` publishes from its own threads, so this thread must not hold stdout's lock.
    if let Command::Run(args) = &cli.command {
        return match run::run(args, Box::new(std::io::stdout())) {
            Ok(_) => exit::OK,
            Err(e) => report(&e, &mut err),
        };
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match &cli.command {
        Command::Classify(args) => {
            classify::run(args, &mut out, &mut err).map(|o| if o.failed > 0 { exit::INPUT_FAILED } else { exit::OK })
        }
        Command::Bench(args) if args.detection => bench::run_detection(args, &mut out).map(|_| exit::OK),
        Command::Bench(args) => bench::run(args, &mut out).map(|_| exit::OK),
        Command::Models => models::run(&mut out).map(|_| exit::OK),
        Command::Validate(args) => validate::run(args, &mut out).map(|_| exit::OK),
        Command::Devices => devices::run(&mut out).map(|_| exit::OK),
        Command::Run(_) => Ok(exit::OK),
    };
    match result.and_then(|code| out.flush().map(|_| code).map_err(Into::into)) {
        Ok(code) => code,
        Err(e) => report(&e, &mut err),
    }
}

/// Print a failure and return its exit code.
fn report(e: &exit::Error, err: &mut dyn Write) -> i32 {
    if e.is_broken_pipe() {
        return exit::OK;
    }
    let _ = writeln!(err, "error: {e}");
    e.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_command_line_exits_with_clap_s_usage_code() {
        let e = Cli::try_parse_from(["cliper", "classify", "--no-such-flag", "x.jpg"]).expect_err("unknown flag");
        assert_eq!(e.exit_code(), exit::USAGE);
        let e = Cli::try_parse_from(["cliper", "classify", "--backend", "opencl", "x.jpg"]).expect_err("unknown backend");
        assert!(e.to_string().contains("possible values: tract, ort"), "{e}");
    }
}
