//! What deploy/ asks of the host: every setting of `deploy/sysctl.conf`, and the file limits
//! behind the unit's `LimitNOFILE`. Both files are compiled in and read here, so the host is
//! judged against the very values they set: a line added to the sysctl file is a check, and a
//! changed value moves the threshold. `RULES` only says which way each value may differ.

use super::checks::unavailable;
use super::{parse, Check, Status};
use parse::{SysctlSetting, Want};
use std::io;

pub(super) const SYSCTL_CONF: &str = include_str!("../../deploy/sysctl.conf");
const UNIT: &str = include_str!("../../deploy/ringway.service");
/// Where deploy/install.sh puts the sysctl file.
const INSTALLED_AS: &str = "/etc/sysctl.d/60-ringway.conf";

pub(super) const NR_OPEN: &str = "fs.nr_open";
pub(super) const FILE_MAX: &str = "fs.file-max";

/// Which way the host may differ from each key of deploy/sysctl.conf and still be fine. A test
/// keeps this table and the file's keys the same set; a key missing here is judged `Exactly`.
pub(super) const RULES: [(&str, Want); 9] = [
    ("net.core.somaxconn", Want::AtLeast),
    ("net.ipv4.tcp_max_syn_backlog", Want::AtLeast),
    ("net.ipv4.tcp_syncookies", Want::Exactly),
    ("net.core.netdev_max_backlog", Want::AtLeast),
    ("net.ipv4.ip_local_port_range", Want::AsManyPorts),
    ("net.ipv4.tcp_tw_reuse", Want::Exactly),
    ("net.ipv4.tcp_fin_timeout", Want::AtMost),
    ("net.ipv4.tcp_slow_start_after_idle", Want::Exactly),
    ("net.ipv4.tcp_migrate_req", Want::Exactly),
];

pub(super) fn want(key: &str) -> Want {
    RULES
        .iter()
        .find(|&&(k, _)| k == key)
        .map_or(Want::Exactly, |&(_, want)| want)
}

/// The settings of the compiled-in deploy/sysctl.conf; its keys borrow from the binary.
pub(super) fn sysctl_settings() -> Result<Vec<SysctlSetting<'static>>, String> {
    parse::parse_sysctl_conf(SYSCTL_CONF)
}

/// The unit's `LimitNOFILE`, which fs.nr_open and fs.file-max must allow.
pub(super) fn unit_nofile() -> Option<u64> {
    parse::unit_value(UNIT, "LimitNOFILE").and_then(parse::parse_number)
}

/// Every check of this module in report order: the sysctl file's settings as they appear in it,
/// then fs.nr_open and fs.file-max. `read` gives a sysctl's text by name (the host's, or made
/// up in tests).
pub(super) fn checks(read: impl Fn(&str) -> io::Result<String>) -> Vec<Check> {
    let mut checks = match sysctl_settings() {
        Ok(settings) => settings
            .iter()
            .map(|s| sysctl_check(s, &read(s.key)))
            .collect(),
        Err(e) => vec![Check::judged(
            "deploy/sysctl.conf",
            Status::Warn,
            format!("unreadable ({e})"),
            "this build carries a broken sysctl file; rebuild from a clean tree",
        )],
    };
    let nofile = unit_nofile();
    checks.push(nr_open_check(&read(NR_OPEN), nofile));
    checks.push(file_max_check(&read(FILE_MAX), nofile));
    checks
}

/// A value for people: a port range as `low-high (N ports)`, anything else with its whitespace
/// runs reduced to one space.
fn shown(want: Want, text: &str) -> String {
    match parse::parse_port_range(text) {
        Some(range @ (low, high)) if want == Want::AsManyPorts => {
            format!("{low}-{high} ({} ports)", parse::port_count(range))
        }
        _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// One line naming the command, where the setting persists, and the file's reason for it.
fn advice(setting: &SysctlSetting) -> String {
    let value = if setting.value.contains(' ') {
        format!("\"{}\"", setting.value)
    } else {
        setting.value.clone()
    };
    format!(
        "sysctl -w {}={value}, and install deploy/sysctl.conf as {INSTALLED_AS}: {}",
        setting.key, setting.why
    )
}

/// The host's reading of one key of the sysctl file, held against the file's value.
pub(super) fn sysctl_check(
    setting: &SysctlSetting<'static>,
    reading: &io::Result<String>,
) -> Check {
    let name = setting.key;
    let text = match reading {
        Ok(text) => text,
        Err(e) if setting.optional && e.kind() == io::ErrorKind::NotFound => {
            return Check::judged(
                name,
                Status::Warn,
                "absent (this kernel lacks it)",
                setting.why.clone(),
            )
        }
        Err(e) => return unavailable(name, Status::Warn, e),
    };
    let want = want(name);
    let value = shown(want, text);
    match parse::meets(want, &setting.value, text) {
        Some(true) => Check::ok(name, value),
        Some(false) => Check::judged(
            name,
            Status::Warn,
            format!("{value} (deploy/sysctl.conf sets {})", setting.value),
            advice(setting),
        ),
        None => Check::judged(
            name,
            Status::Warn,
            format!("{value} (unrecognised)"),
            advice(setting),
        ),
    }
}

/// A file-count sysctl that must be at least the unit's LimitNOFILE; below it, `status`.
fn file_limit_check(
    name: &'static str,
    reading: &io::Result<String>,
    limit: Option<u64>,
    status: Status,
    advice: String,
) -> Check {
    let text = match reading {
        Ok(text) => text,
        Err(e) => return unavailable(name, Status::Warn, e),
    };
    match (parse::parse_number(text), limit) {
        (Some(n), Some(limit)) if n < limit => Check::judged(
            name,
            status,
            format!("{n} (below the unit's LimitNOFILE={limit})"),
            advice,
        ),
        (Some(n), _) => Check::ok(name, n.to_string()),
        (None, _) => Check::judged(
            name,
            Status::Warn,
            format!("{} (unrecognised)", shown(Want::AtLeast, text)),
            advice,
        ),
    }
}

/// fs.nr_open caps every hard RLIMIT_NOFILE: systemd cannot set the unit's LimitNOFILE above
/// it, and the unit then fails to start, so below it is a failure.
pub(super) fn nr_open_check(reading: &io::Result<String>, limit: Option<u64>) -> Check {
    let limit_text = parse::format_count(limit);
    file_limit_check(
        NR_OPEN,
        reading,
        limit,
        Status::Fail,
        format!(
            "systemd cannot raise LimitNOFILE above fs.nr_open and the unit fails to start: sysctl -w fs.nr_open={limit_text} (persist in /etc/sysctl.d/) or lower LimitNOFILE"
        ),
    )
}

/// fs.file-max counts open files across the whole host; below one ringway's allowance a busy
/// balancer hits ENFILE before its own limit.
pub(super) fn file_max_check(reading: &io::Result<String>, limit: Option<u64>) -> Check {
    let limit_text = parse::format_count(limit);
    file_limit_check(
        FILE_MAX,
        reading,
        limit,
        Status::Warn,
        format!(
            "the host may run out of file handles (ENFILE) before ringway reaches its own limit: sysctl -w fs.file-max={limit_text} or more (persist in /etc/sysctl.d/)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::doctor::test_io::{missing, text};

    fn setting(key: &'static str) -> SysctlSetting<'static> {
        sysctl_settings()
            .unwrap()
            .into_iter()
            .find(|s| s.key == key)
            .unwrap_or_else(|| panic!("deploy/sysctl.conf has no {key}"))
    }

    #[test]
    fn every_key_of_the_sysctl_file_has_a_rule_and_every_rule_a_key() {
        let settings = sysctl_settings().expect("deploy/sysctl.conf parses");
        let mut in_file: Vec<&str> = settings.iter().map(|s| s.key).collect();
        let mut in_rules: Vec<&str> = RULES.iter().map(|&(k, _)| k).collect();
        in_file.sort_unstable();
        in_rules.sort_unstable();
        assert_eq!(in_file, in_rules);
    }

    #[test]
    fn every_setting_in_the_sysctl_file_says_why_and_is_met_by_its_own_value() {
        for s in sysctl_settings().unwrap() {
            assert!(s.why.len() > 20, "{} needs a comment saying why", s.key);
            let check = sysctl_check(&s, &Ok(s.value.clone()));
            assert_eq!(check.status, Status::Ok, "{check:?}");
            assert!(!advice(&s).contains('\n'));
        }
    }

    #[test]
    fn the_unit_limit_is_what_the_file_limits_are_held_to() {
        assert_eq!(unit_nofile(), Some(1 << 20));
    }

    #[test]
    fn a_host_that_applied_the_file_passes_every_check() {
        let settings = sysctl_settings().unwrap();
        let read = |key: &str| match key {
            NR_OPEN | FILE_MAX => text("1048576\n"),
            _ => text(&format!(
                "{}\n",
                settings.iter().find(|s| s.key == key).unwrap().value
            )),
        };
        let checks = checks(read);
        assert_eq!(checks.len(), settings.len() + 2);
        for c in &checks {
            assert_eq!((c.status, &c.advice), (Status::Ok, &None), "{c:?}");
        }
    }

    #[test]
    fn a_stock_host_gets_warnings_that_name_the_file_value_and_the_reason() {
        let check = sysctl_check(&setting("net.ipv4.tcp_max_syn_backlog"), &text("2048\n"));
        assert_eq!(check.status, Status::Warn);
        assert_eq!(check.value, "2048 (deploy/sysctl.conf sets 8192)");
        let advice = check.advice.unwrap();
        assert!(advice.starts_with("sysctl -w net.ipv4.tcp_max_syn_backlog=8192, and install"));
        assert!(advice.contains("/etc/sysctl.d/60-ringway.conf: Per-listener limit"));
    }

    #[test]
    fn a_larger_queue_or_a_shorter_timeout_than_the_file_is_fine() {
        let more = sysctl_check(&setting("net.core.somaxconn"), &text("65535\n"));
        assert_eq!((more.status, more.value.as_str()), (Status::Ok, "65535"));
        let shorter = sysctl_check(&setting("net.ipv4.tcp_fin_timeout"), &text("15\n"));
        assert_eq!(shorter.status, Status::Ok);
        let longer = sysctl_check(&setting("net.ipv4.tcp_fin_timeout"), &text("60\n"));
        assert_eq!(longer.status, Status::Warn);
    }

    #[test]
    fn tw_reuse_for_loopback_only_warns_because_targets_are_elsewhere() {
        let check = sysctl_check(&setting("net.ipv4.tcp_tw_reuse"), &text("2\n"));
        assert_eq!(check.status, Status::Warn);
        assert!(check.advice.unwrap().contains("loopback only"));
    }

    #[test]
    fn port_ranges_show_their_size_and_the_quoted_command() {
        let range = setting("net.ipv4.ip_local_port_range");
        let stock = sysctl_check(&range, &text("32768\t60999\n"));
        assert_eq!(stock.status, Status::Warn);
        assert_eq!(
            stock.value,
            "32768-60999 (28232 ports) (deploy/sysctl.conf sets 10240 65535)"
        );
        assert!(stock
            .advice
            .unwrap()
            .starts_with("sysctl -w net.ipv4.ip_local_port_range=\"10240 65535\""));
        let wide = sysctl_check(&range, &text("1024\t65535\n"));
        assert_eq!(
            (wide.status, wide.value.as_str()),
            (Status::Ok, "1024-65535 (64512 ports)")
        );
        assert_eq!(sysctl_check(&range, &text("junk")).status, Status::Warn);
    }

    #[test]
    fn migrate_req_absent_on_an_old_kernel_warns_with_the_reason() {
        let migrate = setting("net.ipv4.tcp_migrate_req");
        assert!(migrate.optional);
        let check = sysctl_check(&migrate, &missing());
        assert_eq!(check.status, Status::Warn);
        assert!(check.value.starts_with("absent"));
        assert!(check.advice.unwrap().contains("5.14"));
        assert_eq!(sysctl_check(&migrate, &text("0\n")).status, Status::Warn);
        assert_eq!(sysctl_check(&migrate, &text("1\n")).status, Status::Ok);
    }

    #[test]
    fn a_required_key_that_cannot_be_read_is_unavailable() {
        let check = sysctl_check(&setting("net.core.somaxconn"), &missing());
        assert_eq!(check.status, Status::Warn);
        assert!(check.value.starts_with("unavailable"));
    }

    #[test]
    fn nr_open_below_the_unit_limit_fails_because_the_unit_cannot_start() {
        let low = nr_open_check(&text("65536\n"), Some(1 << 20));
        assert_eq!(low.status, Status::Fail);
        assert_eq!(low.value, "65536 (below the unit's LimitNOFILE=1048576)");
        assert!(low.advice.unwrap().contains("fs.nr_open=1048576"));
        let fine = nr_open_check(&text("1073741816\n"), Some(1 << 20));
        assert_eq!(
            (fine.status, fine.value.as_str()),
            (Status::Ok, "1073741816")
        );
    }

    #[test]
    fn file_max_below_the_unit_limit_only_warns() {
        let low = file_max_check(&text("400000\n"), Some(1 << 20));
        assert_eq!(low.status, Status::Warn);
        assert!(low.advice.unwrap().contains("ENFILE"));
        let huge = file_max_check(&text("9223372036854775807\n"), Some(1 << 20));
        assert_eq!(huge.status, Status::Ok);
        assert_eq!(file_max_check(&missing(), Some(1)).status, Status::Warn);
        assert_eq!(file_max_check(&text("x"), Some(1)).status, Status::Warn);
    }
}
