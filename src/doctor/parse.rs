//! Pure readers of the text the kernel hands back, and the thresholds that turn a value into a
//! status. Nothing here touches the host, so every rule is tested with literal strings.

use super::Status;

/// A kernel release reduced to the three numbers the io_uring feature table is keyed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl KernelVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        KernelVersion {
            major,
            minor,
            patch,
        }
    }
}

impl std::fmt::Display for KernelVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// io_uring becomes worth running on (Warn below it).
pub const KERNEL_RECOMMENDED: KernelVersion = KernelVersion::new(6, 1, 0);
/// Below this ringway does not run on io_uring at all (Fail).
pub const KERNEL_MINIMUM: KernelVersion = KernelVersion::new(5, 11, 0);
/// Multishot accept and `IORING_REGISTER_PBUF_RING` arrived together.
pub const KERNEL_MULTISHOT_ACCEPT: KernelVersion = KernelVersion::new(5, 19, 0);
/// From 5.12 io_uring rings are charged to the memory cgroup instead of RLIMIT_MEMLOCK.
pub const KERNEL_MEMCG_ACCOUNTING: KernelVersion = KernelVersion::new(5, 12, 0);

/// Parses a `uname -r` release such as `6.18.44-fc-v782`, `5.15.0-91-generic` or `6.1`.
/// Each dotted part contributes its leading digits; a missing patch level counts as 0.
pub fn parse_kernel_release(release: &str) -> Option<KernelVersion> {
    let mut parts = release.trim().splitn(3, '.');
    let major = leading_number(parts.next()?)?;
    let minor = leading_number(parts.next()?)?;
    let patch = parts.next().and_then(leading_number).unwrap_or(0);
    Some(KernelVersion::new(major, minor, patch))
}

fn leading_number(s: &str) -> Option<u32> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

pub fn kernel_status(version: KernelVersion) -> Status {
    if version < KERNEL_MINIMUM {
        Status::Fail
    } else if version < KERNEL_RECOMMENDED {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// Parses a single-number sysctl such as `4096\n`.
pub fn parse_number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Parses `net.ipv4.ip_local_port_range`, e.g. `32768\t60999\n`, into (low, high).
pub fn parse_port_range(text: &str) -> Option<(u16, u16)> {
    let mut fields = text.split_whitespace();
    let low = fields.next()?.parse().ok()?;
    let high = fields.next()?.parse().ok()?;
    if fields.next().is_some() || low > high {
        return None;
    }
    Some((low, high))
}

/// How many ephemeral ports the range holds (both ends are usable).
pub fn port_count((low, high): (u16, u16)) -> u32 {
    u32::from(high) - u32::from(low) + 1
}

/// Warn below `min`, Ok from it on.
pub fn at_least(value: u64, min: u64) -> Status {
    if value < min {
        Status::Warn
    } else {
        Status::Ok
    }
}

/// `kernel.io_uring_disabled`: absent (kernel before 6.6) or 0 is Ok, 1 restricts io_uring to
/// `kernel.io_uring_group`, 2 forbids it; anything else is unknown, so Warn.
pub fn io_uring_disabled_status(value: Option<u64>) -> Status {
    match value {
        None | Some(0) => Status::Ok,
        Some(2) => Status::Fail,
        Some(_) => Status::Warn,
    }
}

/// One setting of a sysctl.d(5) file, with the comment lines directly above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlSetting<'a> {
    pub key: &'a str,
    /// The value with its whitespace runs reduced to one space (`10240 65535`).
    pub value: String,
    /// The comment lines right above the setting, joined: why it is set.
    pub why: String,
    /// Written with a leading `-`: sysctl skips it where the kernel lacks the key.
    pub optional: bool,
}

/// Reads sysctl.d(5) text: `key = value` lines, comments starting with `#` or `;`, blank
/// lines. A comment block belongs to the setting right below it; a blank line ends it. Err
/// names the first line that is none of these.
pub fn parse_sysctl_conf(text: &str) -> Result<Vec<SysctlSetting<'_>>, String> {
    let mut settings = Vec::new();
    let mut comment: Vec<&str> = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            comment.clear();
            continue;
        }
        if let Some(c) = line.strip_prefix('#').or_else(|| line.strip_prefix(';')) {
            comment.extend(Some(c.trim()).filter(|c| !c.is_empty()));
            continue;
        }
        let parsed = line.split_once('=').and_then(|(key, value)| {
            let key = key.trim();
            let (key, optional) = match key.strip_prefix('-') {
                Some(key) => (key.trim_start(), true),
                None => (key, false),
            };
            let valid = !key.is_empty() && !key.contains(char::is_whitespace);
            valid.then(|| SysctlSetting {
                key,
                value: value.split_whitespace().collect::<Vec<_>>().join(" "),
                why: comment.join(" "),
                optional,
            })
        });
        match parsed {
            Some(setting) => settings.push(setting),
            None => return Err(format!("line {}: expected `key = value`", index + 1)),
        }
        comment.clear();
    }
    Ok(settings)
}

/// The value of `Key=` in a systemd unit's text; the last assignment wins, as in systemd.
pub fn unit_value<'a>(unit: &'a str, key: &str) -> Option<&'a str> {
    unit.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

/// How a host's value is held against the one deploy/sysctl.conf sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A limit or a queue: more is fine.
    AtLeast,
    /// A timeout: shorter is fine.
    AtMost,
    /// A switch.
    Exactly,
    /// `ip_local_port_range`: any range holding at least as many ports.
    AsManyPorts,
}

/// Whether the host's value meets the file's; `None` when either cannot be read as `want`
/// needs.
pub fn meets(want: Want, expected: &str, actual: &str) -> Option<bool> {
    if want == Want::AsManyPorts {
        let count = |text: &str| parse_port_range(text).map(port_count);
        return Some(count(actual)? >= count(expected)?);
    }
    let (expected, actual) = (parse_number(expected)?, parse_number(actual)?);
    Some(match want {
        Want::AtLeast => actual >= expected,
        Want::AtMost => actual <= expected,
        Want::Exactly | Want::AsManyPorts => actual == expected,
    })
}

pub const NOFILE_MINIMUM: u64 = 65536;
pub const MEMLOCK_MINIMUM: u64 = 8 << 20;

/// A soft RLIMIT_NOFILE below 64 Ki caps concurrent connections well below what a core serves.
/// `None` means unlimited.
pub fn nofile_status(soft: Option<u64>) -> Status {
    match soft {
        Some(soft) => at_least(soft, NOFILE_MINIMUM),
        None => Status::Ok,
    }
}

/// Before 5.12 every ring's memory counts against RLIMIT_MEMLOCK, so a small limit stops
/// workers from starting; from 5.12 rings are charged to the memory cgroup. An unknown kernel
/// is treated as old. `soft == None` means unlimited.
pub fn memlock_status(soft: Option<u64>, kernel: Option<KernelVersion>) -> Status {
    let counts_rings = kernel.is_none_or(|k| k < KERNEL_MEMCG_ACCOUNTING);
    match soft {
        Some(soft) if counts_rings && soft < MEMLOCK_MINIMUM => Status::Warn,
        _ => Status::Ok,
    }
}

/// A byte limit for people: `64 KiB`, `8 MiB`, `unlimited`.
pub fn format_bytes(bytes: Option<u64>) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let Some(mut n) = bytes else {
        return "unlimited".to_string();
    };
    let mut unit = 0;
    while unit + 1 < UNITS.len() && n >= 1024 && n % 1024 == 0 {
        n /= 1024;
        unit += 1;
    }
    format!("{n} {}", UNITS[unit])
}

/// A count limit: the number, or `unlimited`.
pub fn format_count(count: Option<u64>) -> String {
    count.map_or_else(|| "unlimited".to_string(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_with_local_suffix_parses_three_numbers() {
        assert_eq!(
            parse_kernel_release("6.18.44-fc-v782"),
            Some(KernelVersion::new(6, 18, 44))
        );
    }

    #[test]
    fn distribution_release_parses() {
        assert_eq!(
            parse_kernel_release("5.15.0-91-generic\n"),
            Some(KernelVersion::new(5, 15, 0))
        );
        assert_eq!(
            parse_kernel_release("4.19.0rc1"),
            Some(KernelVersion::new(4, 19, 0))
        );
    }

    #[test]
    fn release_without_patch_level_counts_it_as_zero() {
        assert_eq!(
            parse_kernel_release("6.1"),
            Some(KernelVersion::new(6, 1, 0))
        );
        assert_eq!(
            parse_kernel_release("6.8-rc3"),
            Some(KernelVersion::new(6, 8, 0))
        );
    }

    #[test]
    fn garbage_release_is_none() {
        for text in ["", "linux", "6", "6.", ".1.2", "x.1.2", "6.x"] {
            assert_eq!(parse_kernel_release(text), None, "{text:?}");
        }
    }

    #[test]
    fn kernel_versions_compare_numerically_not_textually() {
        assert!(KernelVersion::new(6, 10, 0) > KernelVersion::new(6, 9, 99));
        assert!(KernelVersion::new(5, 19, 0) < KernelVersion::new(6, 0, 0));
    }

    #[test]
    fn kernel_thresholds_are_5_11_and_6_1() {
        assert_eq!(kernel_status(KernelVersion::new(5, 10, 200)), Status::Fail);
        assert_eq!(kernel_status(KernelVersion::new(5, 11, 0)), Status::Warn);
        assert_eq!(kernel_status(KernelVersion::new(6, 0, 19)), Status::Warn);
        assert_eq!(kernel_status(KernelVersion::new(6, 1, 0)), Status::Ok);
        assert_eq!(kernel_status(KernelVersion::new(6, 18, 44)), Status::Ok);
    }

    #[test]
    fn port_range_with_tab_and_newline_parses() {
        assert_eq!(parse_port_range("32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_port_range("1024 65535"), Some((1024, 65535)));
    }

    #[test]
    fn malformed_port_ranges_are_none() {
        for text in ["", "32768", "60999 32768", "1 2 3", "a b", "0 70000"] {
            assert_eq!(parse_port_range(text), None, "{text:?}");
        }
    }

    #[test]
    fn port_count_includes_both_ends() {
        assert_eq!(port_count((32768, 60999)), 28232);
        assert_eq!(port_count((1024, 65535)), 64512);
        assert_eq!(port_count((80, 80)), 1);
        assert_eq!(port_count((0, 65535)), 65536);
    }

    #[test]
    fn single_number_sysctl_tolerates_whitespace() {
        assert_eq!(parse_number("4096\n"), Some(4096));
        assert_eq!(parse_number(" 9223372036854775807 "), Some(i64::MAX as u64));
        assert_eq!(parse_number("-1"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn at_least_warns_only_below_the_minimum() {
        assert_eq!(at_least(4095, 4096), Status::Warn);
        assert_eq!(at_least(4096, 4096), Status::Ok);
        assert_eq!(at_least(u64::MAX, 4096), Status::Ok);
    }

    #[test]
    fn io_uring_disabled_maps_0_1_2_and_absent() {
        assert_eq!(io_uring_disabled_status(None), Status::Ok);
        assert_eq!(io_uring_disabled_status(Some(0)), Status::Ok);
        assert_eq!(io_uring_disabled_status(Some(1)), Status::Warn);
        assert_eq!(io_uring_disabled_status(Some(2)), Status::Fail);
        assert_eq!(io_uring_disabled_status(Some(7)), Status::Warn);
    }

    #[test]
    fn sysctl_conf_settings_carry_the_comment_right_above_them() {
        let text = "\
# Header, ended by the blank line.

# Why this one:
# two lines.
net.core.somaxconn = 4096
; semicolons comment too
net.ipv4.ip_local_port_range =\t10240   65535
-net.ipv4.tcp_migrate_req=1
";
        let settings = parse_sysctl_conf(text).unwrap();
        let keys: Vec<&str> = settings.iter().map(|s| s.key).collect();
        assert_eq!(
            keys,
            [
                "net.core.somaxconn",
                "net.ipv4.ip_local_port_range",
                "net.ipv4.tcp_migrate_req"
            ]
        );
        assert_eq!(settings[0].why, "Why this one: two lines.");
        assert_eq!(settings[1].why, "semicolons comment too");
        assert_eq!(settings[1].value, "10240 65535");
        assert!(!settings[1].optional);
        assert_eq!(
            (settings[2].value.as_str(), settings[2].why.as_str()),
            ("1", "")
        );
        assert!(settings[2].optional);
    }

    #[test]
    fn a_sysctl_conf_line_without_a_key_is_an_error_naming_the_line() {
        assert_eq!(
            parse_sysctl_conf("# fine\nnet.core.somaxconn 4096\n"),
            Err("line 2: expected `key = value`".to_string())
        );
        assert!(parse_sysctl_conf("= 4096").is_err());
        assert!(parse_sysctl_conf("net core = 1").is_err());
        assert_eq!(parse_sysctl_conf(""), Ok(vec![]));
    }

    #[test]
    fn unit_value_takes_the_last_assignment_of_exactly_that_key() {
        let unit = "[Service]\nLimitNOFILE=1024\nLimitNOFILESOFT=7\nLimitNOFILE=1048576\n";
        assert_eq!(unit_value(unit, "LimitNOFILE"), Some("1048576"));
        assert_eq!(unit_value(unit, "LimitMEMLOCK"), None);
    }

    #[test]
    fn meets_compares_in_the_direction_the_setting_wants() {
        assert_eq!(meets(Want::AtLeast, "4096", "8192\n"), Some(true));
        assert_eq!(meets(Want::AtLeast, "4096", "4095"), Some(false));
        assert_eq!(meets(Want::AtMost, "30", "60"), Some(false));
        assert_eq!(meets(Want::AtMost, "30", "15"), Some(true));
        assert_eq!(meets(Want::Exactly, "1", "2"), Some(false));
        assert_eq!(meets(Want::Exactly, "0", "0\n"), Some(true));
        assert_eq!(meets(Want::Exactly, "1", "on"), None);
    }

    #[test]
    fn port_ranges_are_met_by_any_range_as_large() {
        let want = Want::AsManyPorts;
        assert_eq!(meets(want, "10240 65535", "10240\t65535\n"), Some(true));
        assert_eq!(meets(want, "10240 65535", "1024 65535"), Some(true));
        assert_eq!(meets(want, "10240 65535", "32768\t60999"), Some(false));
        assert_eq!(meets(want, "10240 65535", "garbage"), None);
    }

    #[test]
    fn nofile_warns_below_64_ki_soft() {
        assert_eq!(nofile_status(Some(1024)), Status::Warn);
        assert_eq!(nofile_status(Some(65535)), Status::Warn);
        assert_eq!(nofile_status(Some(65536)), Status::Ok);
        assert_eq!(nofile_status(None), Status::Ok);
    }

    #[test]
    fn memlock_matters_only_before_5_12() {
        let old = Some(KernelVersion::new(5, 11, 0));
        let new = Some(KernelVersion::new(5, 12, 0));
        assert_eq!(memlock_status(Some(64 << 10), old), Status::Warn);
        assert_eq!(memlock_status(Some(8 << 20), old), Status::Ok);
        assert_eq!(memlock_status(None, old), Status::Ok);
        assert_eq!(memlock_status(Some(64 << 10), new), Status::Ok);
    }

    #[test]
    fn memlock_on_an_unknown_kernel_is_judged_as_old() {
        assert_eq!(memlock_status(Some(64 << 10), None), Status::Warn);
    }

    #[test]
    fn byte_limits_use_the_largest_exact_unit() {
        assert_eq!(format_bytes(Some(65536)), "64 KiB");
        assert_eq!(format_bytes(Some(8 << 20)), "8 MiB");
        assert_eq!(format_bytes(Some(1000)), "1000 B");
        assert_eq!(format_bytes(Some(1536 << 10)), "1536 KiB");
        assert_eq!(format_bytes(Some(0)), "0 B");
        assert_eq!(format_bytes(None), "unlimited");
    }
}
