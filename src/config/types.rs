//! The validated, typed configuration. Every value here has passed validation; code that
//! holds a `Config` never re-checks a range.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub load_balancer: LoadBalancer,
    pub attributes: Attributes,
    pub listeners: Vec<Listener>,
    pub target_groups: Vec<TargetGroup>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancer {
    /// 0 means one worker per online CPU.
    pub workers: usize,
    pub admin: SocketAddr,
    /// `None` when the file gives an empty token.
    pub admin_token: Option<String>,
    pub access_log: AccessLog,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLog {
    Off,
    Stdout,
    File(std::path::PathBuf),
}

/// ALB's load balancer attributes plus ringway's own, already validated. `Copy`: a worker
/// keeps its own and reads it per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    /// `idle_timeout.timeout_seconds`, 1..=4000, default 60.
    pub idle_timeout: Duration,
    /// `client_keep_alive.seconds`, 60..=604800, default 3600.
    pub client_keep_alive: Duration,
    /// `deletion_protection.enabled`, default false.
    pub deletion_protection: bool,
    /// `routing.http.desync_mitigation_mode`, default defensive.
    pub desync_mitigation_mode: DesyncMode,
    /// `routing.http.drop_invalid_header_fields.enabled`, default false.
    pub drop_invalid_header_fields: bool,
    /// `routing.http.preserve_host_header.enabled`, default false.
    pub preserve_host_header: bool,
    /// `routing.http.xff_header_processing.mode`, default append.
    pub xff_header_processing: XffMode,
    /// `routing.http.xff_client_port.enabled`, default false.
    pub xff_client_port: bool,
    /// `routing.http.upstream_error_style`, default standard.
    pub upstream_error_style: ErrorStyle,
    /// `client_header_timeout.seconds`, 1..=3600, default 10.
    pub client_header_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DesyncMode {
    Monitor,
    Defensive,
    Strictest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XffMode {
    Append,
    Preserve,
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    Standard,
    Cloudflare,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub address: IpAddr,
    /// 0 asks the kernel for an ephemeral port (used by tests).
    pub port: u16,
    /// Index into `Config::target_groups`.
    pub default_target_group: usize,
    /// Sorted by ascending priority; priorities are unique within a listener.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub priority: u32,
    /// Lower-cased; exact names or `*.suffix` wildcards. Empty matches any host.
    pub hosts: Vec<String>,
    /// Path patterns with `*` (any run of bytes) and `?` (one byte). Empty matches any path.
    pub paths: Vec<String>,
    /// Index into `Config::target_groups`.
    pub target_group: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroup {
    pub name: String,
    pub targets: Vec<Target>,
    pub algorithm: Algorithm,
    /// `load_balancing.consistent_hash.key`, default client_ip; read by consistent_hash only.
    pub hash_key: HashKey,
    /// `deregistration_delay.timeout_seconds`, 0..=3600, default 300.
    pub deregistration_delay: Duration,
    /// `slow_start.duration_seconds`, 0 or 30..=900, default 0.
    pub slow_start: Duration,
    /// `pool.idle_timeout_seconds`, 1..=3600, default 4.
    pub pool_idle_timeout: Duration,
    /// `pool.max_idle_per_target`, 0..=100000, default 64 (per worker).
    pub pool_max_idle_per_target: usize,
    pub health_check: HealthCheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub address: SocketAddr,
    /// 0..=999, default 1 (0 takes no new requests).
    pub weight: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RoundRobin,
    LeastOutstandingRequests,
    WeightedRandom,
    P2cLeastOutstanding,
    ConsistentHash,
}

/// What consistent_hash hashes to pick a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashKey {
    /// The client's IP address (IPv4-mapped IPv6 counts as the IPv4 address); the port is not
    /// part of the key.
    ClientIp,
    /// The value of this request header (name lower-cased); the client IP when it is absent.
    Header(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub enabled: bool,
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub matcher: Matcher,
}

/// Which response codes count as healthy: a union of inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub ranges: Vec<(u16, u16)>,
}

impl Matcher {
    pub fn matches(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}
