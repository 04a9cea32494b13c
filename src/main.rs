use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;

mod cli;

#[global_allocator]
static GLOBAL: ringway::alloc::Mimalloc = ringway::alloc::Mimalloc;

fn main() -> ExitCode {
    ringway::alloc::no_huge_pages();
    match cli::Cli::try_parse() {
        Ok(args) => cli::run(args),
        // --help and --version, and `ringway` alone (the help, on stderr), print as clap has
        // them.
        Err(e)
            if !e.use_stderr()
                || e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            e.exit()
        }
        // A bad argument is one line, as every other error (DESIGN.md §1).
        Err(e) => {
            eprintln!("{}", cli::one_line_error(&e.to_string()));
            ExitCode::from(2)
        }
    }
}
