//! Target health (DESIGN.md §5): the active state machine per target, the passive "suspect"
//! mark, and the probe itself as bytes. Pure: the caller runs the probes, passes in their
//! outcomes and the time as milliseconds, and copies `routable` and `is_suspect` into the
//! group's `Availability`.
//!
//! The states are ALB's. With checks off a target is `Healthy` from the start and stays so.
//! With checks on it starts `Initial` and is not routed to (unless the group fails open, which
//! a group of only new targets does); as ALB documents, "after your target is registered, it
//! must pass one health check to be considered healthy". After that, `unhealthy_threshold`
//! consecutive failures make it `Unhealthy` (an `Initial` target too), and `healthy_threshold`
//! consecutive passes make an `Unhealthy` one `Healthy` again.
//!
//! Suspect is one worker's own evidence: a refused connect marks the target at once, so this
//! worker stops sending it requests before the active checks catch up, and asks for an early
//! probe. A passing probe clears the mark. With checks off nothing would, so the mark lapses
//! after `SUSPECT_HOLD_MS` and the next request probes the target for real.

use std::io::Write;
use std::net::SocketAddr;

use crate::config::{HealthCheck, Matcher};
use crate::http::{encode, parse_response, Limits, ParseError, Version};

/// The probe's User-Agent.
pub const PROBE_USER_AGENT: &[u8] = b"ringway-health-check";

/// How long a suspect mark lasts when health checks are off.
pub const SUSPECT_HOLD_MS: u64 = 10_000;

/// ALB's target health states that decide routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Registered, not yet passed a probe.
    Initial,
    Healthy,
    Unhealthy,
}

impl Health {
    /// The state as the admin API, the CLI and the log write it.
    pub fn name(self) -> &'static str {
        match self {
            Health::Initial => "initial",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

/// How one probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// A response head with this status arrived in time.
    Status(u16),
    /// No complete response head within `timeout_seconds`.
    Timeout,
    /// The connection was refused, reset or unreachable.
    ConnectFailed,
    /// The target answered with something that is not an HTTP/1.x response head, or closed
    /// before finishing one.
    BadResponse,
}

impl ProbeOutcome {
    pub fn passed(self, matcher: &Matcher) -> bool {
        matches!(self, ProbeOutcome::Status(code) if matcher.matches(code))
    }

    /// What the response bytes read so far say; `None` when more are needed. `eof`: the
    /// target closed the connection after `buf`, so an unfinished head is a bad response.
    pub fn from_response(buf: &[u8], eof: bool) -> Option<ProbeOutcome> {
        match probe_status(buf) {
            Ok(Some(status)) => Some(ProbeOutcome::Status(status)),
            Ok(None) if !eof => None,
            Ok(None) | Err(_) => Some(ProbeOutcome::BadResponse),
        }
    }
}

/// The health of one target as one checker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    health: Health,
    checks: bool,
    /// Consecutive passing and failing probes; at most one is non-zero.
    passes: u32,
    failures: u32,
    /// When this worker last saw the target refuse, while the mark stands.
    suspect_since: Option<u64>,
}

impl TargetHealth {
    /// A newly registered target: `Initial` when `checks_enabled`, else `Healthy`.
    pub fn new(checks_enabled: bool) -> TargetHealth {
        TargetHealth {
            health: if checks_enabled {
                Health::Initial
            } else {
                Health::Healthy
            },
            checks: checks_enabled,
            passes: 0,
            failures: 0,
            suspect_since: None,
        }
    }

    /// A target under checks that is already `health`: one a reload moved into a replacement
    /// group keeps its state, and one whose group had checks off (so was healthy) starts
    /// `Healthy` rather than stop taking requests until its first probe.
    pub fn with_health(health: Health) -> TargetHealth {
        TargetHealth {
            health,
            ..TargetHealth::new(true)
        }
    }

    pub fn health(&self) -> Health {
        self.health
    }

    /// Whether the active checks allow routing to it (`TargetState::healthy`).
    pub fn routable(&self) -> bool {
        self.health == Health::Healthy
    }

    /// Counts one probe against `check`'s thresholds and matcher; returns the new state when
    /// it changed. With checks off, probes are not run and this changes nothing.
    pub fn record(&mut self, outcome: ProbeOutcome, check: &HealthCheck) -> Option<Health> {
        if !self.checks {
            return None;
        }
        if outcome.passed(&check.matcher) {
            self.passes = self.passes.saturating_add(1);
            self.failures = 0;
            self.suspect_since = None;
        } else {
            self.failures = self.failures.saturating_add(1);
            self.passes = 0;
        }
        let next = match self.health {
            Health::Initial if self.passes >= 1 => Health::Healthy,
            Health::Unhealthy if self.passes >= check.healthy_threshold => Health::Healthy,
            Health::Initial | Health::Healthy if self.failures >= check.unhealthy_threshold => {
                Health::Unhealthy
            }
            same => same,
        };
        (next != self.health).then(|| {
            self.health = next;
            next
        })
    }

    /// This worker saw the target refuse a connection at `now_ms`. Returns true when the
    /// caller should probe it now rather than at the next interval: the mark is new and checks
    /// are on. A repeated mark with checks off restarts the hold.
    pub fn mark_suspect(&mut self, now_ms: u64) -> bool {
        let new = self.suspect_since.is_none() || !self.checks;
        let early = self.suspect_since.is_none() && self.checks;
        if new {
            self.suspect_since = Some(now_ms);
        }
        early
    }

    /// Whether the suspect mark stands at `now_ms` (`TargetState::suspect`).
    pub fn is_suspect(&self, now_ms: u64) -> bool {
        match self.suspect_since {
            None => false,
            Some(_) if self.checks => true,
            Some(since) => now_ms.saturating_sub(since) < SUSPECT_HOLD_MS,
        }
    }
}

/// Appends the probe for `target`: `GET path HTTP/1.1` with `Host: target` (its IP and port,
/// IPv6 in brackets), ringway's User-Agent and `Connection: close`. `path` comes from a
/// validated config: printable ASCII, no spaces.
pub fn probe_request(out: &mut Vec<u8>, path: &str, target: SocketAddr) {
    debug_assert!(path.bytes().all(|b| b.is_ascii_graphic()), "{path:?}");
    encode::request_line(out, b"GET", path.as_bytes(), b"", Version::Http11);
    out.extend_from_slice(b"Host: ");
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{target}");
    out.extend_from_slice(b"\r\n");
    encode::header(out, b"User-Agent", PROBE_USER_AGENT);
    encode::header(out, b"Connection", b"close");
    encode::end_head(out);
}

/// The status of the probe's response from the bytes read so far: `Ok(None)` means read more.
pub fn probe_status(buf: &[u8]) -> Result<Option<u16>, ParseError> {
    Ok(parse_response(buf, &Limits::default())?.map(|head| head.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(healthy: u32, unhealthy: u32) -> HealthCheck {
        HealthCheck {
            healthy_threshold: healthy,
            unhealthy_threshold: unhealthy,
            ..HealthCheck::default()
        }
    }

    const PASS: ProbeOutcome = ProbeOutcome::Status(200);
    const FAIL: ProbeOutcome = ProbeOutcome::Status(503);

    /// The state after each outcome in turn.
    fn run(h: &mut TargetHealth, c: &HealthCheck, outcomes: &[ProbeOutcome]) -> Vec<Health> {
        outcomes
            .iter()
            .map(|&o| {
                h.record(o, c);
                h.health()
            })
            .collect()
    }

    #[test]
    fn a_new_target_is_initial_and_one_pass_makes_it_healthy() {
        let c = check(5, 2);
        let mut h = TargetHealth::new(true);
        assert_eq!(h.health(), Health::Initial);
        assert!(!h.routable());
        assert_eq!(h.record(PASS, &c), Some(Health::Healthy));
        assert!(h.routable());
    }

    #[test]
    fn a_new_target_failing_the_unhealthy_threshold_becomes_unhealthy() {
        let c = check(5, 3);
        let mut h = TargetHealth::new(true);
        use Health::*;
        assert_eq!(
            run(&mut h, &c, &[FAIL, FAIL, FAIL]),
            [Initial, Initial, Unhealthy]
        );
    }

    #[test]
    fn failures_must_be_consecutive_to_take_a_healthy_target_out() {
        let c = check(5, 2);
        let mut h = TargetHealth::new(true);
        h.record(PASS, &c);
        use Health::*;
        let states = run(&mut h, &c, &[FAIL, PASS, FAIL, PASS, FAIL, FAIL]);
        assert_eq!(
            states,
            [Healthy, Healthy, Healthy, Healthy, Healthy, Unhealthy]
        );
    }

    #[test]
    fn passes_must_be_consecutive_to_bring_an_unhealthy_target_back() {
        let c = check(3, 2);
        let mut h = TargetHealth::new(true);
        run(&mut h, &c, &[FAIL, FAIL]);
        use Health::*;
        let states = run(&mut h, &c, &[PASS, PASS, FAIL, PASS, PASS, PASS]);
        assert_eq!(
            states,
            [Unhealthy, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Healthy]
        );
    }

    #[test]
    fn record_reports_only_changes() {
        let c = check(2, 2);
        let mut h = TargetHealth::new(true);
        assert_eq!(h.record(PASS, &c), Some(Health::Healthy));
        assert_eq!(h.record(PASS, &c), None);
        assert_eq!(h.record(FAIL, &c), None);
        assert_eq!(h.record(FAIL, &c), Some(Health::Unhealthy));
        assert_eq!(h.record(FAIL, &c), None);
    }

    #[test]
    fn timeouts_connect_errors_bad_responses_and_unmatched_codes_fail() {
        let c = HealthCheck {
            matcher: crate::config::Matcher {
                ranges: vec![(200, 299), (404, 404)],
            },
            ..check(2, 2)
        };
        for (o, passed) in [
            (ProbeOutcome::Status(204), true),
            (ProbeOutcome::Status(404), true),
            (ProbeOutcome::Status(302), false),
            (ProbeOutcome::Status(500), false),
            (ProbeOutcome::Timeout, false),
            (ProbeOutcome::ConnectFailed, false),
            (ProbeOutcome::BadResponse, false),
        ] {
            assert_eq!(o.passed(&c.matcher), passed, "{o:?}");
        }
    }

    #[test]
    fn with_checks_off_a_target_is_healthy_and_probes_change_nothing() {
        let c = check(2, 2);
        let mut h = TargetHealth::new(false);
        assert!(h.routable());
        assert_eq!(h.record(FAIL, &c), None);
        assert_eq!(h.record(FAIL, &c), None);
        assert!(h.routable());
    }

    #[test]
    fn a_refusal_marks_the_target_suspect_and_asks_once_for_an_early_probe() {
        let c = check(5, 2);
        let mut h = TargetHealth::new(true);
        h.record(PASS, &c);
        assert!(!h.is_suspect(0));
        assert!(h.mark_suspect(1000));
        assert!(!h.mark_suspect(1001));
        assert!(h.is_suspect(1_000_000));
        // A failing probe leaves the mark; a passing one clears it.
        h.record(FAIL, &c);
        assert!(h.is_suspect(1_000_000));
        h.record(PASS, &c);
        assert!(!h.is_suspect(1_000_000));
        assert!(h.mark_suspect(2000));
    }

    #[test]
    fn with_checks_off_the_suspect_mark_lapses_after_the_hold() {
        let mut h = TargetHealth::new(false);
        assert!(!h.mark_suspect(1000));
        assert!(h.is_suspect(1000 + SUSPECT_HOLD_MS - 1));
        assert!(!h.is_suspect(1000 + SUSPECT_HOLD_MS));
        h.mark_suspect(5000);
        assert!(h.is_suspect(1000 + SUSPECT_HOLD_MS));
        assert!(!h.is_suspect(5000 + SUSPECT_HOLD_MS));
    }

    #[test]
    fn the_probe_is_a_get_with_host_user_agent_and_connection_close() {
        let mut out = Vec::new();
        probe_request(&mut out, "/healthz?x=1", "10.0.0.1:8080".parse().unwrap());
        assert_eq!(
            out,
            b"GET /healthz?x=1 HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: ringway-health-check\r\nConnection: close\r\n\r\n"
        );
        out.clear();
        probe_request(&mut out, "/", "[::1]:80".parse().unwrap());
        assert!(out.starts_with(b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n"));
    }

    #[test]
    fn the_probe_parses_as_a_request_with_those_fields() {
        let mut out = Vec::new();
        probe_request(&mut out, "/h", "10.0.0.1:80".parse().unwrap());
        let head = crate::http::parse_request(&out, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(head.len, out.len());
        assert_eq!(head.target.of(&out), b"/h");
        let value = |name: &[u8]| {
            head.headers
                .iter()
                .find(|h| h.name.of(&out).eq_ignore_ascii_case(name))
                .map(|h| h.value.of(&out))
        };
        assert_eq!(value(b"host"), Some(&b"10.0.0.1:80"[..]));
        assert_eq!(value(b"connection"), Some(&b"close"[..]));
    }

    #[test]
    fn the_response_status_is_read_once_the_head_is_complete() {
        let resp = b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n";
        for cut in 0..resp.len() {
            assert_eq!(probe_status(&resp[..cut]), Ok(None), "cut {cut}");
            assert_eq!(ProbeOutcome::from_response(&resp[..cut], false), None);
            assert_eq!(
                ProbeOutcome::from_response(&resp[..cut], true),
                Some(ProbeOutcome::BadResponse)
            );
        }
        assert_eq!(probe_status(resp), Ok(Some(204)));
        assert_eq!(
            ProbeOutcome::from_response(resp, true),
            Some(ProbeOutcome::Status(204))
        );
        assert_eq!(
            ProbeOutcome::from_response(b"SSH-2.0-OpenSSH\r\n\r\n", false),
            Some(ProbeOutcome::BadResponse)
        );
    }
}
