//! The files in deploy/ stay true: the example config validates, the unit refuses to start or
//! reload on a bad config, install.sh does what it lists, doctor checks every line of the sysctl
//! file, and the DaemonSet's probes reach the admin API of the config it carries.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
const BIN: &str = env!("CARGO_BIN_EXE_ringway");

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("ringway-deploy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

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

/// Runs the unit's ExecReload lines against a running balancer as systemd does: in order,
/// stopping at the first that fails. Err carries that line's index and output.
fn systemctl_reload(config: &Path) -> Result<Vec<Output>, (usize, Output)> {
    let mut outputs = Vec::new();
    for (index, line) in unit_values("ExecReload").into_iter().enumerate() {
        let mut words = line.split_whitespace().map(|w| match w {
            "/usr/local/bin/ringway" => BIN.to_string(),
            "/etc/ringway/ringway.toml" => config.display().to_string(),
            w => w.to_string(),
        });
        let out = Command::new(words.next().unwrap())
            .args(words)
            .output()
            .unwrap();
        if !out.status.success() {
            return Err((index, out));
        }
        outputs.push(out);
    }
    Ok(outputs)
}

#[test]
fn systemctl_reload_applies_a_good_file_and_refuses_a_bad_one_keeping_the_running_config() {
    use common::{config, ok_response, Balancer, Origin, Reply};
    let a = Origin::start(|_| Reply::Send(ok_response(b"a")));
    let b = Origin::start(|_| Reply::Send(ok_response(b"b")));
    // `ringway reload -c FILE` finds the admin API through the file, so give it a fixed port.
    let admin_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let with_admin = |text: String| {
        text.replace(
            "admin = \"127.0.0.1:0\"",
            &format!("admin = \"127.0.0.1:{admin_port}\""),
        )
    };
    let lb = Balancer::start("auto", &with_admin(config(&[a.addr], "", "")));
    let body = || {
        lb.client()
            .request("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .body_text()
    };
    assert_eq!(body(), "a");

    lb.rewrite_config(&with_admin(config(&[b.addr], "", "")));
    let outputs = systemctl_reload(lb.config_path())
        .unwrap_or_else(|(i, out)| panic!("ExecReload line {i} failed: {}", stderr(&out)));
    assert!(
        stdout(&outputs[1]).starts_with("reloaded: "),
        "{}",
        stdout(&outputs[1])
    );
    // Workers take the new target list from the control plane within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while body() != "b" {
        assert!(
            std::time::Instant::now() < deadline,
            "the reload never applied"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    lb.rewrite_config(&with_admin(config(
        &[a.addr],
        "\"idle_timeout.timeout_seconds\" = 0",
        "",
    )));
    let (index, out) = systemctl_reload(lb.config_path()).expect_err("a bad file reloads");
    assert_eq!(
        index, 0,
        "the check line refuses it, before the balancer is asked"
    );
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("idle_timeout.timeout_seconds"), "{err}");
    assert_eq!(body(), "b", "the running config stays");
}

#[test]
fn the_unit_stops_with_sigterm_and_waits_past_the_30_second_drain() {
    assert_eq!(unit_values("KillSignal"), ["SIGTERM"]);
    let timeout: u64 = unit_values("TimeoutStopSec")[0].parse().unwrap();
    assert!((31..=60).contains(&timeout), "TimeoutStopSec={timeout}");
    assert_eq!(unit_values("User"), ["ringway"]);
    assert_eq!(unit_values("LimitNOFILE"), ["1048576"]);
}

// --- install.sh -----------------------------------------------------------------------------

fn install(args: &[&str]) -> Output {
    Command::new("bash")
        .arg(format!("{DEPLOY}/install.sh"))
        .args(args)
        .output()
        .unwrap()
}

/// The action lines (`+ ...`) install.sh printed.
fn actions(out: &Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter_map(|l| l.strip_prefix("+ "))
        .map(str::to_string)
        .collect()
}

#[test]
fn install_dry_run_under_a_prefix_lists_every_action_and_changes_nothing() {
    let dir = TempDir::new("dry");
    let root = dir.0.join("root");
    let root = root.to_str().unwrap();
    let out = install(&["--dry-run", "--prefix", root, "--binary", BIN]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = [
        format!("{BIN} check -c {DEPLOY}/ringway.toml"),
        format!("install -d -m 0755 {root}/usr/local/bin"),
        format!("install -m 0755 {BIN} {root}/usr/local/bin/ringway.new"),
        format!("mv -f {root}/usr/local/bin/ringway.new {root}/usr/local/bin/ringway"),
        format!("install -d -m 0755 {root}/etc/ringway"),
        format!("install -m 0640 {DEPLOY}/ringway.toml {root}/etc/ringway/ringway.toml"),
        format!("install -d -m 0755 {root}/etc/systemd/system"),
        format!("install -m 0644 {DEPLOY}/ringway.service {root}/etc/systemd/system/ringway.service.new"),
        format!("mv -f {root}/etc/systemd/system/ringway.service.new {root}/etc/systemd/system/ringway.service"),
        format!("install -d -m 0755 {root}/etc/sysctl.d"),
        format!("install -m 0644 {DEPLOY}/sysctl.conf {root}/etc/sysctl.d/60-ringway.conf.new"),
        format!("mv -f {root}/etc/sysctl.d/60-ringway.conf.new {root}/etc/sysctl.d/60-ringway.conf"),
    ];
    assert_eq!(actions(&out), expected, "{}", stdout(&out));
    assert!(stdout(&out).contains("dry run: nothing was changed"));
    assert!(!Path::new(root).exists(), "a dry run created {root}");
}

#[test]
fn install_dry_run_on_the_host_creates_the_user_and_applies_sysctl_and_systemd() {
    // Reads the host (does the user exist, is systemd running) and changes nothing.
    let out = install(&["--dry-run", "--binary", BIN]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let acts = actions(&out);
    let user = acts
        .iter()
        .any(|a| a.starts_with("useradd --system --user-group") && a.ends_with(" ringway"));
    assert!(user || text.contains("= user ringway exists"), "{text}");
    let binary = acts
        .iter()
        .any(|a| a.ends_with("/usr/local/bin/ringway.new /usr/local/bin/ringway"));
    assert!(
        binary || text.contains("= /usr/local/bin/ringway is up to date"),
        "{text}"
    );
    assert!(
        acts.contains(&"sysctl --quiet --system".to_string()),
        "{text}"
    );
    assert!(
        acts.contains(&"systemctl daemon-reload".to_string())
            || text.contains("= systemd is not running here"),
        "{text}"
    );
}

#[test]
fn install_under_a_prefix_installs_once_and_keeps_an_edited_config() {
    let dir = TempDir::new("prefix");
    let root = dir.0.to_str().unwrap();
    let first = install(&["--prefix", root, "--binary", BIN]);
    assert!(first.status.success(), "{}", stderr(&first));
    for (source, dest) in [
        (BIN.to_string(), "usr/local/bin/ringway"),
        (format!("{DEPLOY}/ringway.toml"), "etc/ringway/ringway.toml"),
        (
            format!("{DEPLOY}/ringway.service"),
            "etc/systemd/system/ringway.service",
        ),
        (
            format!("{DEPLOY}/sysctl.conf"),
            "etc/sysctl.d/60-ringway.conf",
        ),
    ] {
        let installed = std::fs::read(dir.0.join(dest)).unwrap();
        assert!(
            installed == std::fs::read(&source).unwrap(),
            "{dest} differs from {source}"
        );
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        std::fs::metadata(dir.0.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("usr/local/bin/ringway"), 0o755);
    assert_eq!(mode("etc/ringway/ringway.toml"), 0o640);

    // Run again: nothing to do but check. An operator's edit to the config survives.
    let config = dir.0.join("etc/ringway/ringway.toml");
    let edited = std::fs::read_to_string(&config)
        .unwrap()
        .replace("= 60", "= 61");
    std::fs::write(&config, &edited).unwrap();
    let again = install(&["--prefix", root, "--binary", BIN]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        actions(&again),
        [format!("{BIN} check -c {}", config.display())],
        "{}",
        stdout(&again)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
}

#[test]
fn install_refuses_a_config_the_binary_rejects_before_changing_anything() {
    let dir = TempDir::new("badconfig");
    let config = dir.0.join("etc/ringway/ringway.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "[load_balancer]\nworkers = -1\n").unwrap();
    let out = install(&["--prefix", dir.0.to_str().unwrap(), "--binary", BIN]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("install.sh: ") && err.contains("does not validate"),
        "{err}"
    );
    assert!(
        !dir.0.join("usr").exists(),
        "installed despite a bad config"
    );
}

#[test]
fn install_errors_are_one_line_and_fail() {
    for args in [
        &["--bogus"][..],
        &["--binary"],
        &["--prefix"],
        &["--binary", "/nonexistent/ringway", "--dry-run"],
    ] {
        let out = install(args);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("install.sh: "), "{args:?}: {err}");
    }
    let help = install(&["--help"]);
    assert!(help.status.success() && stdout(&help).contains("--dry-run"));
}

// --- sysctl.conf and doctor -----------------------------------------------------------------

/// The keys deploy/sysctl.conf sets, read the simple way (independent of doctor's parser).
fn sysctl_keys() -> Vec<String> {
    include_str!("../deploy/sysctl.conf")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .map(|l| {
            let key = l.split('=').next().unwrap().trim();
            key.trim_start_matches('-').to_string()
        })
        .collect()
}

#[test]
fn every_setting_in_the_sysctl_file_has_a_comment_above_it() {
    let text = include_str!("../deploy/sysctl.conf");
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        assert!(
            i > 0 && lines[i - 1].starts_with("# "),
            "{line:?} needs a comment saying why"
        );
    }
    assert!(sysctl_keys().contains(&"net.ipv4.tcp_migrate_req".to_string()));
}

#[test]
fn doctor_reports_every_key_the_sysctl_file_sets() {
    let out = Command::new(BIN).arg("doctor").output().unwrap();
    // Exit 1 only means a FAIL row on this host; the table is printed either way.
    let report = stdout(&out);
    let names: Vec<&str> = report
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    let keys = sysctl_keys();
    assert!(keys.len() >= 8, "{keys:?}");
    for key in keys {
        assert!(
            names.contains(&key.as_str()),
            "doctor does not check {key}:\n{report}"
        );
    }
    for unit_limit in [
        "fs.nr_open",
        "fs.file-max",
        "RLIMIT_NOFILE",
        "RLIMIT_MEMLOCK",
    ] {
        assert!(names.contains(&unit_limit), "{unit_limit}:\n{report}");
    }
}

// --- Kubernetes -----------------------------------------------------------------------------

fn daemonset_documents() -> Vec<serde_yaml::Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(include_str!("../deploy/k8s-daemonset.yaml"))
        .map(|doc| serde_yaml::Value::deserialize(doc).expect("the manifest is YAML"))
        .collect()
}

fn of_kind<'a>(docs: &'a [serde_yaml::Value], kind: &str) -> &'a serde_yaml::Value {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in the manifest"))
}

#[test]
fn the_daemonset_probes_reach_the_admin_health_of_the_config_it_carries() {
    let docs = daemonset_documents();
    let config_text = of_kind(&docs, "ConfigMap")["data"]["ringway.toml"]
        .as_str()
        .unwrap();
    let dir = TempDir::new("k8s");
    let path = dir.0.join("ringway.toml");
    std::fs::write(&path, config_text).unwrap();
    let check = Command::new(BIN)
        .arg("check")
        .arg("-c")
        .arg(&path)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    let admin = ringway::config::Config::load(&path)
        .unwrap()
        .load_balancer
        .admin;

    let daemonset = of_kind(&docs, "DaemonSet");
    let pod = &daemonset["spec"]["template"]["spec"];
    assert_eq!(pod["hostNetwork"].as_bool(), Some(true));
    let container = &pod["containers"][0];
    let mounted = container["volumeMounts"][0]["mountPath"].as_str().unwrap();
    let args: Vec<&str> = container["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args, ["serve", "-c", &format!("{mounted}/ringway.toml")]);

    for probe in ["readinessProbe", "livenessProbe"] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some("/health"), "{probe}");
        assert_eq!(get["port"].as_u64(), Some(admin.port().into()), "{probe}");
        // With hostNetwork the kubelet probes from the node: the host must be the admin IP
        // (or absent, meaning the node's IP, when admin listens on every address).
        match get["host"].as_str() {
            Some(host) => assert_eq!(host, admin.ip().to_string(), "{probe}"),
            None => assert!(admin.ip().is_unspecified(), "{probe}"),
        }
    }
}

#[test]
fn the_daemonset_drains_like_the_unit_and_binds_low_ports_without_root() {
    let docs = daemonset_documents();
    let daemonset = of_kind(&docs, "DaemonSet");
    let pod = &daemonset["spec"]["template"]["spec"];
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        (31..=60).contains(&grace),
        "terminationGracePeriodSeconds {grace}"
    );
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(
        security["capabilities"]["add"][0].as_str(),
        Some("NET_BIND_SERVICE")
    );
    assert_eq!(security["capabilities"]["drop"][0].as_str(), Some("ALL"));
    assert_eq!(security["runAsNonRoot"].as_bool(), Some(true));
    assert!(container["resources"]["requests"]["cpu"].is_string());
    assert!(container["resources"]["requests"]["memory"].is_string());
    // The rolling update starts the new pod beside the old one (SO_REUSEPORT handover); a
    // declared port would become a hostPort the scheduler refuses to place twice on a node.
    let update = &daemonset["spec"]["updateStrategy"]["rollingUpdate"];
    assert_eq!(update["maxSurge"].as_u64(), Some(1));
    assert_eq!(update["maxUnavailable"].as_u64(), Some(0));
    assert!(container["ports"].is_null());
}

// --- README ---------------------------------------------------------------------------------

#[test]
fn the_readme_deploy_section_names_every_file_in_deploy() {
    let readme = include_str!("../README.md");
    let start = readme
        .find("\n## Deploy\n")
        .expect("README has a Deploy section");
    let section = &readme[start + 1..];
    let section = &section[..section[1..].find("\n## ").map_or(section.len(), |i| i + 1)];
    for entry in std::fs::read_dir(DEPLOY).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            section.contains(&format!("deploy/{name}")),
            "README's Deploy section does not mention deploy/{name}"
        );
    }
}
