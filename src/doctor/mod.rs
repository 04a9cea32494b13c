//! `ringway doctor`: checks that this host can run ringway well, and decides what
//! `--driver auto` picks.
//!
//! - `parse`: pure readers of /proc and uname text, and the thresholds that turn values into
//!   statuses.
//! - `host`: the syscalls and file reads, each a thin wrapper returning the raw value or the OS
//!   error.
//! - `expect`: what deploy/ asks of the host: every setting of deploy/sysctl.conf (compiled
//!   in, so the thresholds are the file's values) and the file limits the unit's LimitNOFILE
//!   needs.
//! - here: one function per check that turns a raw reading into a `Check` (pure, so tested with
//!   made-up readings), `run` which feeds them this host's readings, and the table rendering.
//!
//! Nothing here panics on odd host answers: an unreadable value becomes an "unavailable" check.

mod checks;
mod expect;
mod host;
mod parse;

/// What a host read returns in the checks' tests: a file's text, or a missing file.
#[cfg(test)]
mod test_io {
    use std::io;

    pub fn text(s: &str) -> io::Result<String> {
        Ok(s.to_string())
    }

    pub fn missing() -> io::Result<String> {
        Err(io::Error::from_raw_os_error(libc::ENOENT))
    }
}

use checks::*;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub value: String,
    /// One line naming the fix; set for Warn and Fail.
    pub advice: Option<String>,
}

impl Check {
    fn ok(name: &'static str, value: impl Into<String>) -> Self {
        Check {
            name,
            status: Status::Ok,
            value: value.into(),
            advice: None,
        }
    }

    /// A check whose status comes from a threshold: advice is kept only when it is not Ok.
    fn judged(
        name: &'static str,
        status: Status,
        value: impl Into<String>,
        advice: impl Into<String>,
    ) -> Self {
        Check {
            name,
            status,
            value: value.into(),
            advice: (status != Status::Ok).then(|| advice.into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Uring,
    Epoll,
}

impl Driver {
    pub fn as_str(self) -> &'static str {
        match self {
            Driver::Uring => "io_uring",
            Driver::Epoll => "epoll",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<Check>,
    pub auto_driver: Driver,
}

impl Report {
    pub fn has_failures(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    /// Why `auto` falls back to epoll: the first io_uring check that failed.
    fn epoll_reason(&self) -> String {
        self.checks
            .iter()
            .find(|c| {
                (c.name == IO_URING_DISABLED || c.name == IO_URING_SETUP) && c.status != Status::Ok
            })
            .map_or_else(
                || "io_uring unusable".to_string(),
                |c| format!("{}: {}", c.name, c.value),
            )
    }
}

/// Can a worker set up a ring here? Builds the ring a worker falls back to when DEFER_TASKRUN
/// is refused (COOP_TASKRUN|TASKRUN_FLAG, the worker's size) and drops it. Err carries the OS
/// error text.
pub fn uring_usable() -> Result<(), String> {
    host::build_worker_ring()
        .map(drop)
        .map_err(|e| e.to_string())
}

/// Inspects this host.
pub fn run() -> Report {
    let kernel = host::kernel_release();
    let version = kernel
        .as_ref()
        .ok()
        .and_then(|r| parse::parse_kernel_release(r));
    let disabled = host::read_sysctl(IO_URING_DISABLED);
    let disabled_value = disabled.as_ref().ok().and_then(|t| parse::parse_number(t));
    let worker_ring = host::build_worker_ring().map(drop);
    let auto_driver = choose_driver(worker_ring.is_ok(), disabled_value);

    let mut checks = vec![
        kernel_check(&kernel),
        io_uring_disabled_check(&disabled),
        setup_check(&worker_ring),
        defer_check(&host::build_defer_ring().map(drop)),
        opcodes_check(&host::probe_opcodes().map(|p| opcode_support(|code| p.is_supported(code)))),
        multishot_accept_check(version),
        buf_ring_check(&host::try_buf_ring()),
        nofile_check(&host::rlimit(host::Rlimit::Nofile)),
        memlock_check(&host::rlimit(host::Rlimit::Memlock), version),
    ];
    checks.extend(expect::checks(host::read_sysctl));
    checks.push(cpus_check(
        std::thread::available_parallelism().ok().map(|n| n.get()),
        host::affinity_cpus().ok(),
        host::online_cpus(),
    ));
    Report {
        checks,
        auto_driver,
    }
}

/// `--driver auto`: io_uring when a worker ring builds and the sysctl does not forbid it.
fn choose_driver(worker_ring_ok: bool, io_uring_disabled: Option<u64>) -> Driver {
    if worker_ring_ok && io_uring_disabled != Some(2) {
        Driver::Uring
    } else {
        Driver::Epoll
    }
}

impl fmt::Display for Report {
    /// An aligned table: status, name, value; advice indented under its row; then the driver.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status_width = "STATUS".len();
        let name_width = self
            .checks
            .iter()
            .map(|c| c.name.len())
            .chain(["NAME".len()])
            .max()
            .unwrap_or(0);
        let row = |f: &mut fmt::Formatter<'_>, status: &str, name: &str, value: &str| {
            let line = format!("{status:<status_width$}  {name:<name_width$}  {value}");
            writeln!(f, "{}", line.trim_end())
        };
        row(f, "STATUS", "NAME", "VALUE")?;
        for check in &self.checks {
            row(f, check.status.label(), check.name, &check.value)?;
            if let Some(advice) = &check.advice {
                writeln!(f, "{:indent$}-> {advice}", "", indent = status_width + 2)?;
            }
        }
        match self.auto_driver {
            Driver::Uring => write!(f, "auto driver: io_uring"),
            Driver::Epoll => write!(f, "auto driver: epoll ({})", self.epoll_reason()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &'static str, status: Status, value: &str, advice: Option<&str>) -> Check {
        Check {
            name,
            status,
            value: value.to_string(),
            advice: advice.map(str::to_string),
        }
    }

    fn sample(auto_driver: Driver) -> Report {
        Report {
            checks: vec![
                check("kernel", Status::Ok, "6.18.44-fc-v782", None),
                check(
                    "RLIMIT_NOFILE",
                    Status::Warn,
                    "soft 1024, hard 524288",
                    Some("ulimit -n 524288"),
                ),
                check(
                    "io_uring setup",
                    Status::Fail,
                    "failed: Operation not permitted (os error 1)",
                    Some("allow io_uring_setup"),
                ),
            ],
            auto_driver,
        }
    }

    #[test]
    fn report_renders_an_aligned_table_with_advice_under_its_row() {
        let expected = "\
STATUS  NAME            VALUE
OK      kernel          6.18.44-fc-v782
WARN    RLIMIT_NOFILE   soft 1024, hard 524288
        -> ulimit -n 524288
FAIL    io_uring setup  failed: Operation not permitted (os error 1)
        -> allow io_uring_setup
auto driver: epoll (io_uring setup: failed: Operation not permitted (os error 1))";
        assert_eq!(sample(Driver::Epoll).to_string(), expected);
    }

    #[test]
    fn uring_driver_line_has_no_reason() {
        let text = sample(Driver::Uring).to_string();
        assert_eq!(text.lines().last(), Some("auto driver: io_uring"));
    }

    #[test]
    fn epoll_reason_prefers_the_disabled_sysctl_when_it_failed_first() {
        let report = Report {
            checks: vec![
                check(
                    IO_URING_DISABLED,
                    Status::Fail,
                    "2 (io_uring disabled for everyone)",
                    Some("x"),
                ),
                check(IO_URING_SETUP, Status::Fail, "failed: EPERM", Some("y")),
            ],
            auto_driver: Driver::Epoll,
        };
        assert!(report.to_string().ends_with(
            "auto driver: epoll (kernel.io_uring_disabled: 2 (io_uring disabled for everyone))"
        ));
    }

    #[test]
    fn epoll_without_a_failed_uring_check_still_gives_a_reason() {
        let report = Report {
            checks: vec![],
            auto_driver: Driver::Epoll,
        };
        assert_eq!(
            report.to_string(),
            "STATUS  NAME  VALUE\nauto driver: epoll (io_uring unusable)"
        );
    }

    #[test]
    fn only_fail_counts_as_a_failure() {
        assert!(sample(Driver::Uring).has_failures());
        let mut report = sample(Driver::Uring);
        report.checks.retain(|c| c.status != Status::Fail);
        assert!(!report.has_failures());
    }

    #[test]
    fn auto_picks_uring_only_when_the_ring_builds_and_the_sysctl_allows() {
        assert_eq!(choose_driver(true, None), Driver::Uring);
        assert_eq!(choose_driver(true, Some(0)), Driver::Uring);
        assert_eq!(choose_driver(true, Some(1)), Driver::Uring);
        assert_eq!(choose_driver(true, Some(2)), Driver::Epoll);
        assert_eq!(choose_driver(false, Some(0)), Driver::Epoll);
    }

    #[test]
    fn run_on_this_host_returns_every_named_check() {
        let report = run();
        println!("{report}");
        let names: Vec<&str> = report.checks.iter().map(|c| c.name).collect();
        let mut expected = FIXED_CHECK_NAMES.to_vec();
        expected.extend(expect::sysctl_settings().unwrap().iter().map(|s| s.key));
        expected.extend([expect::NR_OPEN, expect::FILE_MAX, CPUS]);
        assert_eq!(names, expected);
        for c in &report.checks {
            assert!(!c.value.is_empty(), "{} has no value", c.name);
            assert!(!c.value.contains('\n'), "{} value spans lines", c.name);
            assert_eq!(c.advice.is_some(), c.status != Status::Ok, "{c:?}");
        }
        // CI runs on the same kind of host (Linux 6.18); where io_uring is allowed outright
        // the worker ring must build and auto must pick it.
        let disabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled");
        if disabled.is_ok_and(|t| t.trim() == "0") {
            assert_eq!(uring_usable(), Ok(()));
            assert_eq!(report.auto_driver, Driver::Uring);
        }
    }

    #[test]
    fn uring_usable_agrees_with_the_auto_driver() {
        let report = run();
        if uring_usable().is_err() {
            assert_eq!(report.auto_driver, Driver::Epoll);
        }
    }
}
