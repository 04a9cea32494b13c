use std::process::ExitCode;

use clap::Parser;

mod cli;

#[global_allocator]
static GLOBAL: ringway::alloc::Mimalloc = ringway::alloc::Mimalloc;

fn main() -> ExitCode {
    ringway::alloc::no_huge_pages();
    cli::run(cli::Cli::parse())
}
