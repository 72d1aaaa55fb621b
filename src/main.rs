//! The `cliper` binary: parse arguments, run a subcommand, map the outcome to an exit code.

use clap::Parser;
use cliper::commands::{self, Cli, Command};
use cliper::exit;
use std::io::Write;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    let mut err = std::io::stderr();
    // `run` publishes from its own thread, so the main thread must not hold stdout's lock.
    if let Command::Run(args) = &cli.command {
        let code = match commands::run(args, std::io::stdout()) {
            Ok(_) => exit::OK,
            Err(e) => {
                let _ = writeln!(err, "error: {e}");
                e.exit_code()
            }
        };
        std::process::exit(code);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = match &cli.command {
        Command::Classify(args) => {
            commands::classify(args, &mut out, &mut err).map(|o| if o.failed > 0 { exit::INPUT_FAILED } else { exit::OK })
        }
        Command::Bench(args) => cliper::bench::run(args, &mut out).map(|_| exit::OK),
        Command::Models => commands::models(&mut out).map(|_| exit::OK),
        Command::Validate(args) => commands::validate(args, &mut out).map(|_| exit::OK),
        Command::Devices => commands::devices(&mut out).map(|_| exit::OK),
        Command::Run(_) => Ok(exit::OK),
    };
    let code = match result.and_then(|code| out.flush().map(|_| code).map_err(Into::into)) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`cliper classify … | head`) is the reader's choice, not a failure.
            if matches!(&e, commands::CommandError::Output(io) if io.kind() == std::io::ErrorKind::BrokenPipe) {
                exit::OK
            } else {
                let _ = writeln!(err, "error: {e}");
                e.exit_code()
            }
        }
    };
    std::process::exit(code);
}
