//! `FileConfig` -> `Config`: every check and every default lives here (the attributes' in the
//! registry, which this calls). An error names the key path, the value and what is allowed.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::error::{join_key, quote, ConfigError};
use super::file::{
    FileConfig, FileHealthCheck, FileListener, FileLoadBalancer, FileRule, FileTarget,
    FileTargetGroup,
};
use super::names::one_of;
use super::types::*;

/// The admin API address when the file gives none.
pub const DEFAULT_ADMIN: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9900);
/// Host and path patterns: at most this many per rule, each at most `MAX_PATTERN_LEN` bytes.
pub const MAX_PATTERNS: usize = 5;
pub const MAX_PATTERN_LEN: usize = 128;
pub const MAX_HEALTH_PATH_LEN: usize = 1024;

impl Default for LoadBalancer {
    fn default() -> Self {
        LoadBalancer {
            workers: 0,
            admin: DEFAULT_ADMIN,
            admin_token: None,
            access_log: AccessLog::Off,
        }
    }
}

impl Default for Matcher {
    /// `"200"`.
    fn default() -> Self {
        Matcher {
            ranges: vec![(200, 200)],
        }
    }
}

impl Default for HealthCheck {
    /// ALB's defaults.
    fn default() -> Self {
        HealthCheck {
            enabled: true,
            path: "/".to_string(),
            interval: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            healthy_threshold: 5,
            unhealthy_threshold: 2,
            matcher: Matcher::default(),
        }
    }
}

impl TargetGroup {
    /// A group with no targets and every other key at its default.
    pub fn new(name: impl Into<String>) -> Self {
        TargetGroup {
            name: name.into(),
            targets: Vec::new(),
            algorithm: Algorithm::RoundRobin,
            hash_key: HashKey::ClientIp,
            deregistration_delay: Duration::from_secs(300),
            slow_start: Duration::ZERO,
            pool_idle_timeout: Duration::from_secs(4),
            pool_max_idle_per_target: 64,
            health_check: HealthCheck::default(),
        }
    }
}

/// `value` if within `lo..=hi`, else an error for `key`.
fn int(key: &str, value: Option<i64>, default: i64, lo: i64, hi: i64) -> Result<i64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if (lo..=hi).contains(&v) => Ok(v),
        Some(v) => Err(ConfigError::invalid(
            key,
            v.to_string(),
            format!("{lo}..={hi}"),
        )),
    }
}

/// Seconds as a `Duration`, defaulting to `default`.
fn secs(
    key: &str,
    value: Option<i64>,
    default: Duration,
    lo: i64,
    hi: i64,
) -> Result<Duration, ConfigError> {
    let d = i64::try_from(default.as_secs()).unwrap_or(i64::MAX);
    int(key, value, d, lo, hi).map(|s| Duration::from_secs(s.unsigned_abs()))
}

impl TryFrom<FileConfig> for Config {
    type Error = ConfigError;

    fn try_from(file: FileConfig) -> Result<Config, ConfigError> {
        let load_balancer = load_balancer(file.load_balancer)?;
        let attributes =
            Attributes::from_entries(file.attributes.0.iter().map(|(k, v)| (k.as_str(), v)))?;
        if file.listeners.is_empty() {
            return Err(ConfigError::invalid(
                "listeners",
                "[]",
                "at least one [[listeners]] table",
            ));
        }
        if file.target_groups.is_empty() {
            return Err(ConfigError::invalid(
                "target_groups",
                "[]",
                "at least one [[target_groups]] table",
            ));
        }
        let target_groups = file
            .target_groups
            .into_iter()
            .enumerate()
            .map(|(i, g)| target_group(i, g))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, g) in target_groups.iter().enumerate() {
            if let Some(j) = target_groups[..i].iter().position(|h| h.name == g.name) {
                return Err(ConfigError::invalid(
                    format!("target_groups[{i}].name"),
                    quote(&g.name),
                    format!("a name not already used by target_groups[{j}]"),
                ));
            }
        }
        let names: Vec<&str> = target_groups.iter().map(|g| g.name.as_str()).collect();
        let listeners = file
            .listeners
            .into_iter()
            .enumerate()
            .map(|(i, l)| listener(i, l, &names))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, l) in listeners.iter().enumerate() {
            // Port 0 asks for an ephemeral port: two such listeners never collide.
            let clash = listeners[..i]
                .iter()
                .position(|m| l.port != 0 && m.address == l.address && m.port == l.port);
            if let Some(j) = clash {
                return Err(ConfigError::invalid(
                    format!("listeners[{i}].port"),
                    l.port.to_string(),
                    format!("an address and port not already used by listeners[{j}]"),
                ));
            }
        }
        // The admin API is never on a data listener (DESIGN.md §6): a clash would leave it
        // retrying its bind for ever. An address bound for all counts as every address; port 0
        // (an ephemeral port, as tests ask for) never clashes.
        let admin = load_balancer.admin;
        let on_admin = |l: &Listener| {
            l.port != 0
                && l.port == admin.port()
                && (l.address == admin.ip()
                    || l.address.is_unspecified()
                    || admin.ip().is_unspecified())
        };
        if let Some(i) = listeners.iter().position(on_admin) {
            return Err(ConfigError::invalid(
                "load_balancer.admin",
                quote(&admin.to_string()),
                format!(
                    "an address and port no listener uses (listeners[{i}] is on {})",
                    SocketAddr::new(listeners[i].address, listeners[i].port)
                ),
            ));
        }
        Ok(Config {
            load_balancer,
            attributes,
            listeners,
            target_groups,
        })
    }
}

fn load_balancer(f: FileLoadBalancer) -> Result<LoadBalancer, ConfigError> {
    let workers = int("load_balancer.workers", f.workers, 0, 0, 1024)?;
    let admin = match f.admin {
        None => DEFAULT_ADMIN,
        Some(a) => a.parse().map_err(|_| {
            ConfigError::invalid(
                "load_balancer.admin",
                quote(&a),
                "an IP:port socket address",
            )
        })?,
    };
    let admin_token = f.admin_token.filter(|t| !t.is_empty());
    if admin_token.is_none() && !admin.ip().is_loopback() {
        return Err(ConfigError::invalid(
            "load_balancer.admin_token",
            "\"\"",
            format!("a non-empty token when admin ({admin}) is not on loopback"),
        ));
    }
    let access_log = match f.access_log.as_deref() {
        None | Some("off") => AccessLog::Off,
        Some("stdout") => AccessLog::Stdout,
        Some("") => {
            return Err(ConfigError::invalid(
                "load_balancer.access_log",
                "\"\"",
                "\"off\" | \"stdout\" | a file path",
            ))
        }
        Some(path) => AccessLog::File(PathBuf::from(path)),
    };
    Ok(LoadBalancer {
        workers: workers.unsigned_abs() as usize,
        admin,
        admin_token,
        access_log,
    })
}

/// The index of the group called `name`, or an error for `key` listing the names.
fn group_index(key: String, name: &str, names: &[&str]) -> Result<usize, ConfigError> {
    names.iter().position(|&n| n == name).ok_or_else(|| {
        ConfigError::invalid(
            key,
            quote(name),
            format!("a target group: {}", one_of(names)),
        )
    })
}

fn listener(i: usize, f: FileListener, names: &[&str]) -> Result<Listener, ConfigError> {
    let at = format!("listeners[{i}]");
    let address: IpAddr = f.address.parse().map_err(|_| {
        ConfigError::invalid(
            format!("{at}.address"),
            quote(&f.address),
            "an IPv4 or IPv6 address literal",
        )
    })?;
    let port = int(&format!("{at}.port"), Some(f.port), 0, 0, 65535)?;
    let default_target_group = group_index(
        format!("{at}.default_target_group"),
        &f.default_target_group,
        names,
    )?;
    let mut rules = f
        .rules
        .into_iter()
        .enumerate()
        .map(|(r, rule_file)| rule(&format!("{at}.rules[{r}]"), rule_file, names))
        .collect::<Result<Vec<_>, _>>()?;
    for (r, rule) in rules.iter().enumerate() {
        if let Some(s) = rules[..r].iter().position(|o| o.priority == rule.priority) {
            return Err(ConfigError::invalid(
                format!("{at}.rules[{r}].priority"),
                rule.priority.to_string(),
                format!("1..=50000, unique in the listener (rules[{s}] has it)"),
            ));
        }
    }
    rules.sort_by_key(|r| r.priority);
    Ok(Listener {
        address,
        port: u16::try_from(port).unwrap_or(0),
        default_target_group,
        rules,
    })
}

fn rule(at: &str, f: FileRule, names: &[&str]) -> Result<Rule, ConfigError> {
    let priority = int(&format!("{at}.priority"), Some(f.priority), 0, 1, 50000)?;
    if f.host.is_empty() && f.path.is_empty() {
        return Err(ConfigError::invalid(
            format!("{at}.host"),
            "[]",
            "at least one host or path pattern in the rule",
        ));
    }
    let hosts = patterns(&format!("{at}.host"), &f.host, host_pattern)?;
    let paths = patterns(&format!("{at}.path"), &f.path, path_pattern)?;
    let target_group = group_index(format!("{at}.target_group"), &f.target_group, names)?;
    Ok(Rule {
        priority: u32::try_from(priority).unwrap_or(0),
        hosts,
        paths,
        target_group,
    })
}

fn patterns(
    key: &str,
    given: &[String],
    check: fn(&str) -> Result<String, &'static str>,
) -> Result<Vec<String>, ConfigError> {
    if given.len() > MAX_PATTERNS {
        return Err(ConfigError::invalid(
            key,
            format!("[{} patterns]", given.len()),
            format!("at most {MAX_PATTERNS} patterns"),
        ));
    }
    given
        .iter()
        .enumerate()
        .map(|(n, p)| {
            check(p)
                .map_err(|allowed| ConfigError::invalid(format!("{key}[{n}]"), quote(p), allowed))
        })
        .collect()
}

const HOST_ALLOWED: &str = "a host name of [a-z0-9.-], or \"*.\" then one, at most 128 characters";

/// Lower-cases a host pattern: an exact name, or `*.` followed by one.
fn host_pattern(p: &str) -> Result<String, &'static str> {
    let lower = p.to_ascii_lowercase();
    let name = lower.strip_prefix("*.").unwrap_or(&lower);
    let name_ok = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if name_ok && lower.len() <= MAX_PATTERN_LEN {
        Ok(lower)
    } else {
        Err(HOST_ALLOWED)
    }
}

/// A path pattern: starts with `/`, printable ASCII without spaces (what a request target can
/// hold), at most 128 characters.
fn path_pattern(p: &str) -> Result<String, &'static str> {
    let ok =
        p.starts_with('/') && p.len() <= MAX_PATTERN_LEN && p.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(p.to_string())
    } else {
        Err("a path starting with \"/\", printable ASCII without spaces, at most 128 characters")
    }
}

fn group_name(at: &str, name: &str) -> Result<String, ConfigError> {
    let ok = (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(name.to_string())
    } else {
        Err(ConfigError::invalid(
            format!("{at}.name"),
            quote(name),
            "1..=32 characters of [A-Za-z0-9-], not starting or ending with \"-\"",
        ))
    }
}

fn target_group(i: usize, f: FileTargetGroup) -> Result<TargetGroup, ConfigError> {
    let at = format!("target_groups[{i}]");
    let d = TargetGroup::new(group_name(&at, &f.name)?);
    let key = |name: &str| join_key(&at, name);
    let mut targets: Vec<Target> = Vec::with_capacity(f.targets.len());
    for (t, spec) in f.targets.iter().enumerate() {
        let target = target(&format!("{at}.targets[{t}]"), spec)?;
        if let Some(u) = targets.iter().position(|o| o.address == target.address) {
            return Err(ConfigError::invalid(
                format!("{at}.targets[{t}]"),
                quote(&target.address.to_string()),
                format!("an address not already in the group (targets[{u}])"),
            ));
        }
        targets.push(target);
    }
    let algorithm = match f.algorithm.as_deref() {
        None => d.algorithm,
        Some(name) => Algorithm::from_name(name).ok_or_else(|| {
            ConfigError::invalid(
                key("load_balancing.algorithm.type"),
                quote(name),
                one_of(Algorithm::NAMES),
            )
        })?,
    };
    let hash_key = match f.hash_key.as_deref() {
        None => d.hash_key.clone(),
        Some(text) => HashKey::from_text(text).ok_or_else(|| {
            ConfigError::invalid(
                key("load_balancing.consistent_hash.key"),
                quote(text),
                HASH_KEY_ALLOWED,
            )
        })?,
    };
    let slow_key = key("slow_start.duration_seconds");
    let slow_start = match f.slow_start {
        None => d.slow_start,
        Some(s @ (0 | 30..=900)) => Duration::from_secs(s.unsigned_abs()),
        Some(s) => {
            return Err(ConfigError::invalid(
                slow_key,
                s.to_string(),
                "0 or 30..=900",
            ))
        }
    };
    let max_idle = int(
        &key("pool.max_idle_per_target"),
        f.pool_max_idle_per_target,
        64,
        0,
        100_000,
    )?;
    Ok(TargetGroup {
        targets,
        algorithm,
        hash_key,
        deregistration_delay: secs(
            &key("deregistration_delay.timeout_seconds"),
            f.deregistration_delay,
            d.deregistration_delay,
            0,
            3600,
        )?,
        slow_start,
        pool_idle_timeout: secs(
            &key("pool.idle_timeout_seconds"),
            f.pool_idle_timeout,
            d.pool_idle_timeout,
            1,
            3600,
        )?,
        pool_max_idle_per_target: max_idle.unsigned_abs() as usize,
        health_check: health_check(&format!("{at}.health_check"), &f.health_check)?,
        ..d
    })
}

fn target(at: &str, spec: &FileTarget) -> Result<Target, ConfigError> {
    let (address, weight) = match spec {
        FileTarget::Address(a) => (a, None),
        FileTarget::Weighted(w) => (&w.address, w.weight),
    };
    let key = match spec {
        FileTarget::Address(_) => at.to_string(),
        FileTarget::Weighted(_) => format!("{at}.address"),
    };
    let address: SocketAddr = match address.parse() {
        Ok(a @ SocketAddr::V4(_) | a @ SocketAddr::V6(_)) if a.port() != 0 => a,
        _ => {
            return Err(ConfigError::invalid(
                key,
                quote(address),
                "an IP:port socket address (IPv6 as [addr]:port), port 1..=65535",
            ))
        }
    };
    let weight = int(&format!("{at}.weight"), weight, 1, 0, 999)?;
    Ok(Target {
        address,
        weight: u32::try_from(weight).unwrap_or(1),
    })
}

fn health_check(at: &str, f: &FileHealthCheck) -> Result<HealthCheck, ConfigError> {
    let d = HealthCheck::default();
    let key = |name: &str| format!("{at}.{name}");
    let path = f.path.clone().unwrap_or(d.path);
    // The path goes into the probe's request line as is: a space or a control byte would
    // break the line or smuggle a header.
    let path_ok = path.starts_with('/')
        && path.len() <= MAX_HEALTH_PATH_LEN
        && path.bytes().all(|b| b.is_ascii_graphic());
    if !path_ok {
        return Err(ConfigError::invalid(
            key("path"),
            quote(&path),
            "a path starting with \"/\", printable ASCII without spaces, at most 1024 characters",
        ));
    }
    let interval = secs(
        &key("interval_seconds"),
        f.interval_seconds,
        d.interval,
        5,
        300,
    )?;
    let timeout = secs(
        &key("timeout_seconds"),
        f.timeout_seconds,
        d.timeout,
        2,
        120,
    )?;
    if timeout >= interval {
        return Err(ConfigError::invalid(
            key("timeout_seconds"),
            timeout.as_secs().to_string(),
            format!(
                "2..=120 and less than interval_seconds ({})",
                interval.as_secs()
            ),
        ));
    }
    let count = |name: &str, v: Option<i64>, default: u32| {
        int(&key(name), v, i64::from(default), 2, 10).map(|n| u32::try_from(n).unwrap_or(default))
    };
    let matcher = match &f.matcher {
        None => d.matcher,
        Some(m) => matcher(m).ok_or_else(|| {
            ConfigError::invalid(
                key("matcher"),
                quote(m),
                "codes 200..=499 as \"200\", \"200-399\" or a comma list of those",
            )
        })?,
    };
    Ok(HealthCheck {
        enabled: f.enabled.unwrap_or(d.enabled),
        path,
        interval,
        timeout,
        healthy_threshold: count(
            "healthy_threshold_count",
            f.healthy_threshold_count,
            d.healthy_threshold,
        )?,
        unhealthy_threshold: count(
            "unhealthy_threshold_count",
            f.unhealthy_threshold_count,
            d.unhealthy_threshold,
        )?,
        matcher,
    })
}

/// `"200"`, `"200-399"`, `"200,204"`, `"200-299, 302"`: each code 200..=499, ranges lo <= hi.
pub(crate) fn matcher(text: &str) -> Option<Matcher> {
    let code = |s: &str| {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u16>().ok().filter(|c| (200..=499).contains(c))
    };
    let ranges = text
        .split(',')
        .map(|part| match part.split_once('-') {
            None => code(part).map(|c| (c, c)),
            Some((lo, hi)) => match (code(lo), code(hi)) {
                (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
                _ => None,
            },
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Matcher { ranges })
}

const HASH_KEY_ALLOWED: &str =
    "\"client_ip\" | \"header:NAME\" with NAME a header field name (RFC 9110 token, 1..=64 characters)";

impl HashKey {
    /// `"client_ip"` or `"header:NAME"`; NAME is an RFC 9110 token (case-insensitive, stored
    /// lower-cased) of at most 64 characters.
    pub fn from_text(text: &str) -> Option<HashKey> {
        if text == "client_ip" {
            return Some(HashKey::ClientIp);
        }
        let name = text.strip_prefix("header:")?;
        let ok = (1..=64).contains(&name.len()) && name.bytes().all(is_tchar);
        ok.then(|| HashKey::Header(name.to_ascii_lowercase()))
    }

    /// The file's spelling: `"client_ip"` or `"header:name"`.
    pub fn to_text(&self) -> String {
        match self {
            HashKey::ClientIp => "client_ip".to_string(),
            HashKey::Header(name) => format!("header:{name}"),
        }
    }
}

/// RFC 9110 §5.6.2 tchar.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl Matcher {
    /// The file's spelling: `"200"`, `"200-399"`, `"200,204"`.
    pub fn to_text(&self) -> String {
        self.ranges
            .iter()
            .map(|&(lo, hi)| {
                if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}-{hi}")
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matcher_takes_codes_ranges_and_lists() {
        assert_eq!(matcher("200").unwrap().ranges, [(200, 200)]);
        assert_eq!(matcher("200-399").unwrap().ranges, [(200, 399)]);
        assert_eq!(
            matcher("200, 204,300-302").unwrap().ranges,
            [(200, 200), (204, 204), (300, 302)]
        );
        assert_eq!(matcher("499").unwrap().ranges, [(499, 499)]);
    }

    #[test]
    fn matcher_refuses_codes_outside_200_to_499_and_backwards_ranges() {
        for bad in [
            "",
            "199",
            "500",
            "399-200",
            "2OO",
            "200-",
            "-200",
            "200,,204",
            "+200",
            "200-300-400",
        ] {
            assert_eq!(matcher(bad), None, "{bad}");
        }
    }

    #[test]
    fn matcher_text_round_trips() {
        for text in ["200", "200-399", "200,204", "200-299,404"] {
            assert_eq!(matcher(text).unwrap().to_text(), text);
        }
    }

    #[test]
    fn host_patterns_are_lower_cased_exact_names_or_leading_wildcards() {
        assert_eq!(
            host_pattern("API.Example.com").as_deref(),
            Ok("api.example.com")
        );
        assert_eq!(
            host_pattern("*.example.com").as_deref(),
            Ok("*.example.com")
        );
        assert_eq!(host_pattern("localhost").as_deref(), Ok("localhost"));
        for bad in [
            "",
            "*",
            "*.",
            "a.*.com",
            "*example.com",
            "a..b",
            ".a",
            "a.",
            "a_b.com",
            "a b",
        ] {
            assert!(host_pattern(bad).is_err(), "{bad}");
        }
        let long = format!("{}.com", "a".repeat(124));
        assert!(host_pattern(&long).is_ok());
        assert!(host_pattern(&format!("a{long}")).is_err());
    }

    #[test]
    fn path_patterns_start_with_a_slash_and_fit_128_characters() {
        assert!(path_pattern("/api/*").is_ok());
        assert!(path_pattern(&format!("/{}", "a".repeat(127))).is_ok());
        assert!(path_pattern(&format!("/{}", "a".repeat(128))).is_err());
        assert!(path_pattern("api").is_err());
        assert!(path_pattern("/a b").is_err());
    }

    #[test]
    fn group_names_allow_letters_digits_and_inner_dashes() {
        assert!(group_name("g", "Web-2").is_ok());
        assert!(group_name("g", &"a".repeat(32)).is_ok());
        for bad in ["", "-web", "web-", "web_2", "wéb", &"a".repeat(33)] {
            assert!(group_name("g", bad).is_err(), "{bad}");
        }
    }
}
