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
    /// Re-read the config file without dropping a connection.
    Reload {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Graceful stop: close the listeners, finish requests in flight, then exit. Refused
    /// while deletion_protection.enabled is true.
    Stop {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Connections, requests, responses, desync counts, and each target's health and load.
    Stats {
        /// Refresh once a second until interrupted, with requests per second.
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List, register and deregister targets on the running balancer.
    Targets {
        #[command(subcommand)]
        action: TargetsAction,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Read or change load balancer attributes on the running balancer.
    Attrs {
        #[command(subcommand)]
        action: AttrsAction,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

#[derive(Subcommand)]
enum TargetsAction {
    /// Each group's targets with weight, health, draining and requests in flight.
    List { group: Option<String> },
    /// Add a target to a group; with health checks it takes requests once it passes one.
    Register {
        group: String,
        addr: SocketAddr,
        #[arg(long, default_value_t = 1)]
        weight: u32,
    },
    /// Drain a target: no new requests, those in flight finish, then it leaves the group
    /// (after deregistration_delay.timeout_seconds at most).
    Deregister { group: String, addr: SocketAddr },
}

#[derive(Subcommand)]
enum AttrsAction {
    /// Print every attribute, or the value of KEY.
    Get { key: Option<String> },
    /// Set attributes: all of them or, if one is refused, none.
    Set {
        #[arg(required = true, value_name = "KEY=VALUE")]
        changes: Vec<String>,
    },
}

/// How the control verbs find the admin API (DESIGN.md §1).
#[derive(clap::Args)]
struct AdminArgs {
    /// The admin address [default: load_balancer.admin of --config, else 127.0.0.1:9900].
    #[arg(long, global = true)]
    admin: Option<SocketAddr>,
    /// The config file to take the admin address and token from.
    #[arg(short, long, global = true)]
    config: Option<PathBuf>,
    /// The bearer token [default: $RINGWAY_ADMIN_TOKEN, else admin_token of --config].
    #[arg(long, global = true)]
    token: Option<String>,
}

impl AdminArgs {
    fn client(&self) -> Result<admin::AdminClient, String> {
        let config = match &self.config {
            Some(path) => Some(Config::load(path).map_err(|e| e.to_string())?),
            None => None,
        };
        let addr = self
            .admin
            .or(config.as_ref().map(|c| c.load_balancer.admin))
            .unwrap_or(ringway::config::DEFAULT_ADMIN);
        let token = self
            .token
            .clone()
            .or_else(|| std::env::var("RINGWAY_ADMIN_TOKEN").ok())
            .or_else(|| config.and_then(|c| c.load_balancer.admin_token));
        Ok(admin::AdminClient { addr, token })
    }
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
        Command::Reload { admin } => match reload(&admin) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        },
        Command::Stop { admin } => match stop(&admin) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        },
        Command::Stats { watch, admin } => match stats(watch, &admin) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        },
        Command::Targets { action, admin } => match targets(action, &admin) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        },
        Command::Attrs { action, admin } => match attrs(action, &admin) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        },
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

/// `ringway reload`.
fn reload(admin: &AdminArgs) -> Result<(), String> {
    let answer = admin.client()?.call("POST", "/reload", None)?;
    if answer.status != 200 {
        return Err(answer.message());
    }
    let summary: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
    println!(
        "reloaded: {}",
        summary["reloaded"].as_str().unwrap_or("done")
    );
    Ok(())
}

/// `ringway stop`.
fn stop(admin: &AdminArgs) -> Result<(), String> {
    let answer = admin.client()?.call("POST", "/stop", None)?;
    if answer.status != 200 {
        return Err(answer.message());
    }
    println!("stopping: listeners closed, connections draining");
    Ok(())
}

/// `ringway stats [--watch]`.
fn stats(watch: bool, admin: &AdminArgs) -> Result<(), String> {
    let client = admin.client()?;
    let fetch = || -> Result<serde_json::Value, String> {
        let answer = client.call("GET", "/stats", None)?;
        if answer.status != 200 {
            return Err(answer.message());
        }
        serde_json::from_str(&answer.body)
            .map_err(|e| format!("the admin API sent stats that are not JSON: {e}"))
    };
    if !watch {
        print!("{}", stats_table(&fetch()?));
        return Ok(());
    }
    loop {
        // Clear the screen and draw the table again.
        print!("\x1b[2J\x1b[H{}", stats_table(&fetch()?));
        use std::io::Write;
        let _ = std::io::stdout().flush();
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// The compact table of `ringway stats`.
fn stats_table(s: &serde_json::Value) -> String {
    use std::fmt::Write;
    let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "connections  active {}  new {}",
        n(&s["connections"]["active"]),
        n(&s["connections"]["new_total"])
    );
    // The workers' own rate over their last second (they publish once a second).
    let _ = writeln!(
        out,
        "requests     total {}  {}/s",
        n(&s["requests_total"]),
        n(&s["requests_per_second"])
    );
    let _ = write!(out, "responses   ");
    for class in ["1xx", "2xx", "3xx", "4xx", "5xx"] {
        let _ = write!(out, " {class} {}", n(&s["responses"][class]));
    }
    let _ = writeln!(out);
    if let Some(codes) = s["responses_by_code"].as_object().filter(|c| !c.is_empty()) {
        let _ = write!(out, "codes       ");
        for (code, count) in codes {
            let _ = write!(out, " {code} {}", n(count));
        }
        let _ = writeln!(out);
    }
    let _ = write!(out, "desync      ");
    for tier in ["Acceptable", "Ambiguous", "Severe"] {
        let count = n(&s["desync_non_compliant_by_tier"][tier]);
        let _ = write!(out, " {} {count}", tier.to_lowercase());
    }
    let _ = writeln!(out);
    if let Some(causes) = s["errors_by_cause"].as_object().filter(|c| !c.is_empty()) {
        let _ = write!(out, "errors      ");
        for (cause, count) in causes {
            let _ = write!(out, " {cause} {}", n(count));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "{:<16} {:<24} {:<10} {:<8} {:>9}",
        "GROUP", "TARGET", "HEALTH", "DRAINING", "IN-FLIGHT"
    );
    for g in s["target_groups"].as_array().into_iter().flatten() {
        for t in g["targets"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "{:<16} {:<24} {:<10} {:<8} {:>9}",
                g["name"].as_str().unwrap_or(""),
                t["address"].as_str().unwrap_or(""),
                t["health"].as_str().unwrap_or(""),
                if t["draining"] == true { "yes" } else { "no" },
                n(&t["outstanding_requests"]),
            );
        }
    }
    out
}

/// `ringway targets list|register|deregister`.
fn targets(action: TargetsAction, admin: &AdminArgs) -> Result<(), String> {
    let client = admin.client()?;
    let answer = match &action {
        TargetsAction::List { .. } => client.call("GET", "/target-groups", None)?,
        TargetsAction::Register {
            group,
            addr,
            weight,
        } => {
            let body = serde_json::json!({ "address": addr.to_string(), "weight": weight });
            let path = format!("/target-groups/{group}/targets");
            client.call("POST", &path, Some(&body.to_string()))?
        }
        TargetsAction::Deregister { group, addr } => {
            let path = format!("/target-groups/{group}/targets/{addr}");
            client.call("DELETE", &path, None)?
        }
    };
    if answer.status != 200 {
        return Err(answer.message());
    }
    match action {
        TargetsAction::Register { group, addr, .. } => {
            println!("registered {addr} in target group {group}");
        }
        TargetsAction::Deregister { group, addr } => {
            println!("draining {addr} in target group {group}");
        }
        TargetsAction::List { group } => {
            let groups: Vec<serde_json::Value> = serde_json::from_str(&answer.body)
                .map_err(|e| format!("the admin API sent groups that are not JSON: {e}"))?;
            if let Some(name) = &group {
                if !groups.iter().any(|g| g["name"] == name.as_str()) {
                    return Err(format!("no target group named {name:?}"));
                }
            }
            println!(
                "{:<16} {:<24} {:>6} {:<10} {:<8} {:>9}",
                "GROUP", "TARGET", "WEIGHT", "HEALTH", "DRAINING", "IN-FLIGHT"
            );
            for g in &groups {
                let name = g["name"].as_str().unwrap_or("");
                if group.as_deref().is_some_and(|want| want != name) {
                    continue;
                }
                for t in g["targets"].as_array().into_iter().flatten() {
                    println!(
                        "{:<16} {:<24} {:>6} {:<10} {:<8} {:>9}",
                        name,
                        t["address"].as_str().unwrap_or(""),
                        t["weight"],
                        t["health"].as_str().unwrap_or(""),
                        if t["draining"] == true { "yes" } else { "no" },
                        t["outstanding_requests"],
                    );
                }
            }
        }
    }
    Ok(())
}

/// `ringway attrs get|set`.
fn attrs(action: AttrsAction, admin: &AdminArgs) -> Result<(), String> {
    let client = admin.client()?;
    let answer = match &action {
        AttrsAction::Get { key: Some(key) } if ringway::config::attribute(key).is_none() => {
            return Err(format!(
                "unknown attribute {key:?}; allowed: {}",
                ringway::config::ATTRIBUTE_KEYS.join(", ")
            ));
        }
        AttrsAction::Get { .. } => client.call("GET", "/attributes", None)?,
        AttrsAction::Set { changes } => {
            let mut body = serde_json::Map::new();
            for change in changes {
                let Some((key, value)) = change.split_once('=') else {
                    return Err(format!("{change:?}: write KEY=VALUE"));
                };
                body.insert(key.trim().to_string(), value.trim().into());
            }
            let body = serde_json::Value::Object(body).to_string();
            client.call("PATCH", "/attributes", Some(&body))?
        }
    };
    if answer.status != 200 {
        return Err(answer.message());
    }
    let values: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&answer.body)
        .map_err(|e| format!("the admin API sent attributes that are not JSON: {e}"))?;
    let shown: Vec<&str> = match &action {
        AttrsAction::Get { key: Some(key) } => {
            if let Some(v) = values.get(key.as_str()) {
                println!(
                    "{}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_string)
                );
            }
            return Ok(());
        }
        AttrsAction::Get { key: None } => values.keys().map(String::as_str).collect(),
        AttrsAction::Set { changes } => changes
            .iter()
            .filter_map(|c| c.split_once('=').map(|(k, _)| k.trim()))
            .collect(),
    };
    for key in shown {
        if let Some(v) = values.get(key) {
            println!("{key} = {v}");
        }
    }
    Ok(())
}

fn fail(message: &str) -> ExitCode {
    eprintln!("ringway: {message}");
    ExitCode::FAILURE
}

fn check(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            print!("{}", config.effective_redacted());
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
    start_and_wait(
        config,
        ServeOptions {
            workers,
            driver,
            config_path: Some(path.to_path_buf()),
        },
    )
}

fn start_and_wait(config: Config, opts: ServeOptions) -> ExitCode {
    let admin_addr = config.load_balancer.admin;
    // Every thread started from here on inherits the mask: only the signal thread sees them.
    let signals = block_signals();
    match worker::start(config, opts) {
        Ok(server) => {
            let control = server.control.clone();
            std::thread::spawn(move || handle_signals(signals, &control));
            let plane: std::sync::Arc<dyn admin::Plane> = server.control.clone();
            let api = admin::Admin {
                workers: server.published.clone(),
                plane,
                health: server.health.clone(),
            };
            match admin::start(admin_addr, api) {
                Ok(Some(bound)) => eprintln!("ringway: admin on http://{bound}"),
                Ok(None) => {}
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

/// Blocks SIGTERM, SIGINT and SIGHUP in this thread (and so in every thread it starts) and
/// returns the set, for `handle_signals` to wait on.
fn block_signals() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before any other use, and
    // pthread_sigmask only reads the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

/// SIGTERM: a graceful stop (even under deletion protection: the service manager decides).
/// SIGINT: the same; a second one exits at once. SIGHUP: reload.
fn handle_signals(set: libc::sigset_t, control: &worker::ControlPlane) {
    let mut interrupts = 0;
    loop {
        let mut sig = 0;
        // SAFETY: `set` was initialised by block_signals; `sig` is a valid out pointer.
        if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
            return;
        }
        match sig {
            libc::SIGHUP => {
                if let Err(refused) = control.reload() {
                    eprintln!("ringway: SIGHUP: reload refused: {}", refused.message);
                }
            }
            libc::SIGINT if interrupts > 0 => std::process::exit(130),
            _ => {
                interrupts += u32::from(sig == libc::SIGINT);
                let _ = control.stop(true);
            }
        }
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

/// clap's message for a bad argument in one line: its lines up to the usage, joined, with the
/// pointer to `--help` at the end, as the other errors read ("ringway: invalid value 'x' for
/// '--workers <WORKERS>': invalid digit found in string (see --help)").
pub fn one_line_error(rendered: &str) -> String {
    let mut parts = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty());
    let first = parts.next().unwrap_or("bad arguments");
    let mut line = format!(
        "ringway: {}",
        first.strip_prefix("error: ").unwrap_or(first)
    );
    // The rest: the missing arguments clap lists a line each, its "tip: ..." lines.
    for (i, part) in parts.enumerate() {
        line.push_str(if i == 0 && line.ends_with(':') {
            " "
        } else {
            "; "
        });
        line.push_str(part);
    }
    line.push_str(" (see --help)");
    line
}
