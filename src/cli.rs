//! The command line (DESIGN.md §1). Thin: parse with clap, then call the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use ringway::admin;
use ringway::config::Config;
use ringway::worker::{self, origin, DriverChoice, ServeOptions};

#[derive(Parser)]
#[command(
    name = "ringway",
    version,
    about = "An HTTP/1.1 load balancer on io_uring"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Two built-in origins on 127.0.0.1:9001 and :9002 and the balancer in front of them.
    Demo {
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Run the balancer from a config file.
    Serve {
        #[arg(short, long)]
        config: PathBuf,
        /// Worker threads (overrides load_balancer.workers; 0 = one per CPU).
        #[arg(long)]
        workers: Option<usize>,
        #[arg(long, value_enum, default_value_t = DriverArg::Auto)]
        driver: DriverArg,
        /// Validate the config, print the effective settings and exit.
        #[arg(long)]
        test: bool,
    },
    /// Validate a config file and print the effective settings.
    Check {
        #[arg(short, long)]
        config: PathBuf,
    },
    /// A fast built-in origin server for demos, tests and benchmarks.
    Origin {
        #[arg(long)]
        bind: SocketAddr,
        /// Answer with a body of exactly this many bytes.
        #[arg(long)]
        body_bytes: Option<usize>,
        #[arg(long, default_value = "origin")]
        name: String,
        #[arg(long, default_value_t = 1)]
        workers: usize,
    },
    /// Check this host: kernel, io_uring, limits, network sysctls.
    Doctor,
}

#[derive(Clone, Copy, ValueEnum)]
enum DriverArg {
    Auto,
    Uring,
    Epoll,
}

impl From<DriverArg> for DriverChoice {
    fn from(d: DriverArg) -> Self {
        match d {
            DriverArg::Auto => DriverChoice::Auto,
            DriverArg::Uring => DriverChoice::Uring,
            DriverArg::Epoll => DriverChoice::Epoll,
        }
    }
}

pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Demo { port } => demo(port),
        Command::Serve {
            config, test: true, ..
        }
        | Command::Check { config } => check(&config),
        Command::Serve {
            config,
            workers,
            driver,
            test: false,
        } => serve(&config, workers, driver.into()),
        Command::Origin {
            bind,
            body_bytes,
            name,
            workers,
        } => {
            let opts = origin::OriginOptions {
                bind,
                body_bytes,
                name,
                workers,
                pin: false,
            };
            match origin::run_origin(opts, |addr| {
                eprintln!("ringway origin: listening on http://{addr}")
            }) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("origin: cannot listen on {bind}: {e}")),
            }
        }
        Command::Doctor => {
            let report = ringway::doctor::run();
            println!("{report}");
            if report.has_failures() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("ringway: {message}");
    ExitCode::FAILURE
}

fn check(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            print!("{}", config.effective());
            eprintln!("ringway: {}: ok", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

fn serve(path: &std::path::Path, workers: Option<usize>, driver: DriverChoice) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    start_and_wait(config, ServeOptions { workers, driver })
}

fn start_and_wait(config: Config, opts: ServeOptions) -> ExitCode {
    let admin_addr = config.load_balancer.admin;
    let token = config.load_balancer.admin_token.clone();
    let style = config.attributes.upstream_error_style;
    match worker::start(config, opts) {
        Ok(server) => {
            match admin::start(admin_addr, token, style, server.published.clone()) {
                Ok(bound) => eprintln!("ringway: admin on http://{bound}"),
                Err(e) => return fail(&format!("cannot listen on {admin_addr} (admin): {e}")),
            }
            for (i, addr) in server.listeners.iter().enumerate() {
                eprintln!("ringway: listener {i} on http://{addr}");
            }
            server.join();
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e.to_string()),
    }
}

/// The embedded default: two origins and a balancer over them on loopback.
fn demo(port: u16) -> ExitCode {
    for (name, origin_port) in [("origin-1", 9001), ("origin-2", 9002)] {
        let bind: SocketAddr = ([127, 0, 0, 1], origin_port).into();
        let opts = origin::OriginOptions {
            bind,
            body_bytes: None,
            name: name.into(),
            workers: 1,
            pin: false,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let started = origin::run_origin(opts, |_| {
                let _ = tx.send(Ok(()));
            });
            if let Err(e) = started {
                let _ = tx.send(Err(e));
            }
        });
        match rx.recv() {
            Ok(Ok(())) => eprintln!("ringway demo: {name} on http://{bind}"),
            Ok(Err(e)) => return fail(&format!("demo: cannot start {name} on {bind}: {e}")),
            Err(_) => return fail(&format!("demo: {name} exited while starting")),
        }
    }
    let toml = format!(
        r#"
[load_balancer]
workers = 1

[[listeners]]
address = "127.0.0.1"
port = {port}
default_target_group = "demo"

[[target_groups]]
name = "demo"
targets = ["127.0.0.1:9001", "127.0.0.1:9002"]
"#
    );
    let config = match Config::from_toml_str(&toml) {
        Ok(c) => c,
        Err(e) => return fail(&format!("demo: {e}")),
    };
    println!("ringway demo: open http://127.0.0.1:{port}/ (Ctrl-C stops all)");
    start_and_wait(config, ServeOptions::default())
}
