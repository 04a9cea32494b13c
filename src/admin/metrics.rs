//! Counters as the control plane sees them, and their Prometheus text (exposition format
//! 0.0.4). Pure: no I/O, no clock.

use std::fmt::Write;

use super::server::HealthRow;
use crate::config::ErrorStyle;
use crate::desync::Reason;
use crate::error::{Cause, Side};

/// One worker's counters at the moment it published them. Indexed like `Cause::ALL` and
/// `Reason::ALL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub new_connections: u64,
    pub active_connections: u64,
    /// Deadlines armed in the worker's timing wheel (connections' timers, pooled connections).
    pub timers: u64,
    pub requests: u64,
    /// Requests a second between the worker's last two publishes.
    pub requests_per_second: u64,
    pub errors_by_cause: [u64; Cause::ALL.len()],
    /// Of `errors_by_cause`, those answered while `upstream_error_style` was `cloudflare`:
    /// the status each response went out with, whatever the style is now.
    pub cloudflare_errors_by_cause: [u64; Cause::ALL.len()],
    pub desync_by_reason: [u64; Reason::ALL.len()],
    /// Per target of each group, as the worker has them now.
    pub targets: Vec<TargetCounts>,
    /// Responses to clients by status class: index 1 = 1xx ... 5 = 5xx.
    pub responses_by_class: [u64; 6],
    /// Responses to clients by listener, target group and status.
    pub requests_by: Vec<(RequestKey, u64)>,
}

/// The labels of `ringway_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestKey {
    /// The listener's slot (its index in the config at start; see `Labels`).
    pub listener: usize,
    /// The group's slot. `None`: answered before a target group was chosen (a malformed or
    /// blocked request).
    pub group: Option<usize>,
    pub status: u16,
}

/// One worker's figures for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCounts {
    /// The group's slot (its index in the config at start; see `Labels`).
    pub group: usize,
    pub target: std::net::SocketAddr,
    /// Connections opened (attempts, refused ones included).
    pub connects: u64,
    /// Requests in flight.
    pub outstanding: u64,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            new_connections: 0,
            active_connections: 0,
            timers: 0,
            requests: 0,
            requests_per_second: 0,
            errors_by_cause: [0; Cause::ALL.len()],
            cloudflare_errors_by_cause: [0; Cause::ALL.len()],
            desync_by_reason: [0; Reason::ALL.len()],
            targets: Vec::new(),
            responses_by_class: [0; 6],
            requests_by: Vec::new(),
        }
    }
}

/// Adds `n` to `key`'s count in `counts`, a short list of (key, count) pairs (a few dozen keys
/// at most: a search beats hashing).
#[inline]
pub fn tally<K: PartialEq>(counts: &mut Vec<(K, u64)>, key: K, n: u64) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, total)) => *total += n,
        None => counts.push((key, n)),
    }
}

impl Snapshot {
    pub(super) fn add(&mut self, other: &Snapshot) {
        self.new_connections += other.new_connections;
        self.active_connections += other.active_connections;
        self.timers += other.timers;
        for (a, b) in self
            .responses_by_class
            .iter_mut()
            .zip(&other.responses_by_class)
        {
            *a += b;
        }
        for &(key, n) in &other.requests_by {
            tally(&mut self.requests_by, key, n);
        }
        for t in &other.targets {
            match self
                .targets
                .iter_mut()
                .find(|s| s.group == t.group && s.target == t.target)
            {
                Some(s) => {
                    s.connects += t.connects;
                    s.outstanding += t.outstanding;
                }
                None => self.targets.push(t.clone()),
            }
        }
        self.requests += other.requests;
        self.requests_per_second += other.requests_per_second;
        for (a, b) in self.errors_by_cause.iter_mut().zip(&other.errors_by_cause) {
            *a += b;
        }
        for (a, b) in self
            .cloudflare_errors_by_cause
            .iter_mut()
            .zip(&other.cloudflare_errors_by_cause)
        {
            *a += b;
        }
        for (a, b) in self
            .desync_by_reason
            .iter_mut()
            .zip(&other.desync_by_reason)
        {
            *a += b;
        }
    }
}

/// The Prometheus text of the workers' counters summed. Series with a zero count are left
/// out, except the unlabelled ones.
/// What the labels of per-listener and per-group series say, by slot: listener addresses and
/// group names. A slot is a listener's or group's index in the config at start, and a reload
/// gives each listener or group it adds (or replaces) a new one. `None`: a reload removed it,
/// and its series are left out. A group a reload replaced keeps its name on its old slot too,
/// so its counts go on under the same labels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub listeners: Vec<Option<String>>,
    pub groups: Vec<Option<String>>,
}

pub fn render_metrics(workers: &[Snapshot], health: &[HealthRow], labels: &Labels) -> String {
    let mut sum = Snapshot::default();
    for w in workers {
        sum.add(w);
    }
    let mut out = String::with_capacity(2048);
    family(
        &mut out,
        "ringway_requests_total",
        "counter",
        "Responses to clients by listener, target group (\"-\": answered before routing) and status.",
    );
    let label = |all: &[Option<String>], slot: usize| -> Option<String> {
        match all.get(slot) {
            Some(name) => name.clone(),
            None => Some("?".to_string()),
        }
    };
    let mut requests: Vec<((String, String, u16), u64)> = Vec::new();
    for (key, n) in &sum.requests_by {
        let Some(listener) = label(&labels.listeners, key.listener) else {
            continue;
        };
        let group = match key.group {
            None => "-".to_string(),
            Some(g) => match label(&labels.groups, g) {
                Some(name) => name,
                None => continue,
            },
        };
        tally(&mut requests, (listener, group, key.status), *n);
    }
    requests.sort_unstable();
    for ((listener, group, status), n) in requests {
        let _ = writeln!(
            out,
            "ringway_requests_total{{listener=\"{listener}\",target_group=\"{group}\",code=\"{status}\"}} {n}",
        );
    }
    family(
        &mut out,
        "ringway_target_health",
        "gauge",
        "1 when the target may be routed to by its health checks (or checks are off).",
    );
    for row in health {
        let up = u8::from(row.health == crate::balance::Health::Healthy);
        let _ = writeln!(
            out,
            "ringway_target_health{{target_group=\"{}\",target=\"{}\"}} {up}",
            row.group, row.target
        );
    }
    type Field = fn(&TargetCounts) -> u64;
    let per_target: [(&str, &str, &str, Field); 2] = [
        (
            "ringway_target_connects_total",
            "Connections opened to the target (refused attempts included).",
            "counter",
            |t| t.connects,
        ),
        (
            "ringway_target_outstanding_requests",
            "Requests in flight on the target.",
            "gauge",
            |t| t.outstanding,
        ),
    ];
    for (name, help, kind, field) in per_target {
        family(&mut out, name, kind, help);
        for row in health {
            let n = sum
                .targets
                .iter()
                .find(|t| t.group == row.group_index && t.target == row.target)
                .map_or(0, field);
            let _ = writeln!(
                out,
                "{name}{{target_group=\"{}\",target=\"{}\"}} {n}",
                row.group, row.target
            );
        }
    }
    family(
        &mut out,
        "ringway_active_connections",
        "gauge",
        "Client connections open now.",
    );
    let _ = writeln!(out, "ringway_active_connections {}", sum.active_connections);
    family(
        &mut out,
        "ringway_timers",
        "gauge",
        "Deadlines armed in the workers' timing wheels.",
    );
    let _ = writeln!(out, "ringway_timers {}", sum.timers);
    family(
        &mut out,
        "ringway_new_connections_total",
        "counter",
        "Client connections accepted.",
    );
    let _ = writeln!(out, "ringway_new_connections_total {}", sum.new_connections);
    family(
        &mut out,
        "ringway_desync_non_compliant_requests_total",
        "counter",
        "Requests classified other than Compliant (ALB's DesyncMitigationMode_NonCompliant_Request_Count).",
    );
    for (reason, &n) in Reason::ALL.iter().zip(&sum.desync_by_reason) {
        if n > 0 {
            let _ = writeln!(
                out,
                "ringway_desync_non_compliant_requests_total{{tier=\"{}\",reason=\"{}\"}} {n}",
                reason.tier().name(),
                reason.name()
            );
        }
    }
    family(
        &mut out,
        "ringway_upstream_errors_total",
        "counter",
        "Requests answered by ringway because a target failed, by cause.",
    );
    for (cause, &n) in Cause::ALL.iter().zip(&sum.errors_by_cause) {
        if n > 0 && cause.side() == Side::Target {
            let _ = writeln!(
                out,
                "ringway_upstream_errors_total{{cause=\"{}\"}} {n}",
                cause.name()
            );
        }
    }
    family(
        &mut out,
        "ringway_elb_responses_total",
        "counter",
        "Responses ringway generated itself, by status code.",
    );
    // Each response under the status it went out with: a live change of
    // upstream_error_style moves no past count to another code.
    let mut by_code: Vec<(u16, u64)> = Vec::new();
    let answered = Cause::ALL.iter().zip(
        sum.errors_by_cause
            .iter()
            .zip(&sum.cloudflare_errors_by_cause),
    );
    for (cause, (&all, &cloudflare)) in answered {
        for (style, n) in [
            (ErrorStyle::Standard, all.saturating_sub(cloudflare)),
            (ErrorStyle::Cloudflare, cloudflare),
        ] {
            tally(&mut by_code, cause.status(style), n);
        }
    }
    by_code.sort_unstable();
    for (code, n) in by_code.into_iter().filter(|&(_, n)| n > 0) {
        let _ = writeln!(out, "ringway_elb_responses_total{{code=\"{code}\"}} {n}");
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index<T: PartialEq>(all: &[T], x: T) -> usize {
        all.iter().position(|y| *y == x).unwrap()
    }

    #[test]
    fn workers_are_summed_and_each_reason_carries_its_tier() {
        let mut a = Snapshot {
            new_connections: 3,
            active_connections: 1,
            timers: 4,
            ..Snapshot::default()
        };
        a.desync_by_reason[index(&Reason::ALL, Reason::DuplicateContentLength)] = 2;
        let mut b = a.clone();
        b.desync_by_reason[index(&Reason::ALL, Reason::MissingHost)] = 5;
        let text = render_metrics(&[a, b], &[], &Labels::default());
        assert!(
            text.contains("\nringway_new_connections_total 6\n"),
            "{text}"
        );
        assert!(text.contains("\nringway_active_connections 2\n"));
        assert!(text.contains("\nringway_timers 8\n"));
        assert!(text.contains(
            "\nringway_desync_non_compliant_requests_total{tier=\"Ambiguous\",reason=\"DuplicateContentLength\"} 4\n"
        ));
        assert!(text.contains(
            "\nringway_desync_non_compliant_requests_total{tier=\"Severe\",reason=\"MissingHost\"} 5\n"
        ));
        assert!(
            !text.contains("reason=\"BadUri\""),
            "zero series are left out"
        );
    }

    #[test]
    fn generated_responses_are_counted_by_the_status_they_went_out_with() {
        let mut s = Snapshot::default();
        s.errors_by_cause[index(&Cause::ALL, Cause::ConnectRefused)] = 2;
        s.errors_by_cause[index(&Cause::ALL, Cause::InvalidResponse)] = 1;
        s.errors_by_cause[index(&Cause::ALL, Cause::DesyncBlocked)] = 7;
        let standard = render_metrics(std::slice::from_ref(&s), &[], &Labels::default());
        assert!(standard.contains("\nringway_elb_responses_total{code=\"502\"} 3\n"));
        assert!(standard.contains("\nringway_elb_responses_total{code=\"400\"} 7\n"));
        assert!(standard.contains("\nringway_upstream_errors_total{cause=\"connect-refused\"} 2\n"));
        assert!(
            !standard.contains("cause=\"desync-blocked\""),
            "client causes are not upstream"
        );
        // One of the refusals and the invalid response went out in Cloudflare's style (the
        // style changed live in between): each code keeps what it was sent with.
        s.cloudflare_errors_by_cause[index(&Cause::ALL, Cause::ConnectRefused)] = 1;
        s.cloudflare_errors_by_cause[index(&Cause::ALL, Cause::InvalidResponse)] = 1;
        let mixed = render_metrics(&[s], &[], &Labels::default());
        assert!(mixed.contains("\nringway_elb_responses_total{code=\"502\"} 1\n"));
        assert!(mixed.contains("\nringway_elb_responses_total{code=\"521\"} 1\n"));
        assert!(mixed.contains("\nringway_elb_responses_total{code=\"520\"} 1\n"));
        assert!(mixed.contains("\nringway_elb_responses_total{code=\"400\"} 7\n"));
        assert!(mixed.contains("\nringway_upstream_errors_total{cause=\"connect-refused\"} 2\n"));
    }

    #[test]
    fn every_line_is_a_comment_or_a_sample() {
        let mut s = Snapshot::default();
        s.desync_by_reason.iter_mut().for_each(|n| *n = 1);
        s.errors_by_cause.iter_mut().for_each(|n| *n = 1);
        for line in render_metrics(&[s], &[], &Labels::default()).lines() {
            let ok = line.starts_with("# HELP ringway_")
                || line.starts_with("# TYPE ringway_")
                || (line.starts_with("ringway_")
                    && line.rsplit(' ').next().unwrap().parse::<u64>().is_ok());
            assert!(ok, "{line}");
        }
    }
}
