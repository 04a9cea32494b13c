//! The files in deploy/ stay true: the example config validates, and the unit refuses to start
//! on a bad config and runs the binary it names.

use std::process::Command;

#[test]
fn the_example_config_validates_with_ringway_check() {
    let out = Command::new(env!("CARGO_BIN_EXE_ringway"))
        .args([
            "check",
            "-c",
            concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/ringway.toml"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let effective = String::from_utf8_lossy(&out.stdout);
    assert!(effective.contains("[[listeners.rules]]"), "{effective}");
}

#[test]
fn check_rejects_a_bad_value_in_one_line_naming_the_key() {
    let path = std::env::temp_dir().join(format!("ringway-deploy-{}.toml", std::process::id()));
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/ringway.toml"))
        .unwrap()
        .replace(
            "\"idle_timeout.timeout_seconds\" = 60",
            "\"idle_timeout.timeout_seconds\" = 0",
        );
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ringway"))
        .arg("check")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("idle_timeout.timeout_seconds") && stderr.contains("1..=4000"),
        "{stderr}"
    );
}

#[test]
fn the_unit_checks_the_config_before_it_serves_it() {
    let unit = include_str!("../deploy/ringway.service");
    let line = |key: &str| {
        unit.lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("ExecStartPre=").ends_with("ringway check -c /etc/ringway/ringway.toml"));
    assert!(line("ExecStart=").ends_with("ringway serve -c /etc/ringway/ringway.toml"));
    assert_eq!(line("LimitMEMLOCK="), "LimitMEMLOCK=infinity");
    assert!(line("AmbientCapabilities=").contains("CAP_NET_BIND_SERVICE"));
}

/// Every value a unit key is given, in order (ExecReload may appear more than once).
fn unit_values(key: &str) -> Vec<&'static str> {
    let unit = include_str!("../deploy/ringway.service");
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_unit_reload_checks_the_file_then_reloads_it() {
    // systemd runs ExecReload lines in order and stops at the first that fails, so a bad file
    // is refused by `check` before the running balancer is asked to read it.
    assert_eq!(
        unit_values("ExecReload"),
        [
            "/usr/local/bin/ringway check -c /etc/ringway/ringway.toml",
            "/usr/local/bin/ringway reload -c /etc/ringway/ringway.toml",
        ]
    );
}

#[test]
fn the_unit_stops_with_sigterm_and_waits_past_the_30_second_drain() {
    assert_eq!(unit_values("KillSignal"), ["SIGTERM"]);
    let timeout: u64 = unit_values("TimeoutStopSec")[0].parse().unwrap();
    assert!((31..=60).contains(&timeout), "TimeoutStopSec={timeout}");
    assert_eq!(unit_values("User"), ["ringway"]);
    assert_eq!(unit_values("LimitNOFILE"), ["1048576"]);
}
