//! The `cliper` binary: parse the command line, run the subcommand ([`cli`]), exit with
//! the code of its outcome.

mod cli;

use clap::Parser;

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    std::process::exit(cli::run(cli::Cli::parse()));
}
