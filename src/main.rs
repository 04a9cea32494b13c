use std::process::ExitCode;

use clap::Parser;

mod cli;

#[global_allocator]
static GLOBAL: ringway::alloc::Mimalloc = ringway::alloc::Mimalloc;

fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}
