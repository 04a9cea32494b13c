//! `Config::effective`: the complete configuration as TOML in the file's own key names, every
//! default written out, so `ringway check` shows what will run and the output loads back into
//! the same `Config`.

use std::fmt::Write;

use super::error::{key_segment, quote};
use super::types::{AccessLog, Config, HealthCheck, Listener, Rule, Target, TargetGroup};

impl Config {
    /// The effective configuration as TOML. Note: it includes `admin_token` as given; see
    /// `effective_redacted` for printing.
    pub fn effective(&self) -> String {
        self.render(false)
    }

    /// `effective` with a set `admin_token` replaced by `"<redacted>"`: what `ringway check`
    /// prints, so the token does not end up in a terminal or the journal.
    pub fn effective_redacted(&self) -> String {
        self.render(true)
    }

    fn render(&self, redact: bool) -> String {
        let mut out = String::new();
        self.write_load_balancer(&mut out, redact);
        out.push_str("\n[attributes]\n");
        for (key, value) in self.attributes.entries() {
            line(&mut out, &key_segment(key), &value.to_toml());
        }
        for l in &self.listeners {
            self.write_listener(&mut out, l);
        }
        for g in &self.target_groups {
            write_group(&mut out, g);
        }
        out
    }

    fn write_load_balancer(&self, out: &mut String, redact: bool) {
        let lb = &self.load_balancer;
        out.push_str("[load_balancer]\n");
        line(out, "workers", &lb.workers.to_string());
        line(out, "admin", &quote(&lb.admin.to_string()));
        line(
            out,
            "admin_token",
            &quote(match lb.admin_token.as_deref() {
                Some(_) if redact => "<redacted>",
                token => token.unwrap_or(""),
            }),
        );
        let log = match &lb.access_log {
            AccessLog::Off => "off".to_string(),
            AccessLog::Stdout => "stdout".to_string(),
            AccessLog::File(p) => p.to_string_lossy().into_owned(),
        };
        line(out, "access_log", &quote(&log));
    }

    fn group_name(&self, index: usize) -> String {
        quote(
            self.target_groups
                .get(index)
                .map_or("", |g| g.name.as_str()),
        )
    }

    fn write_listener(&self, out: &mut String, l: &Listener) {
        out.push_str("\n[[listeners]]\n");
        line(out, "address", &quote(&l.address.to_string()));
        line(out, "port", &l.port.to_string());
        line(
            out,
            "default_target_group",
            &self.group_name(l.default_target_group),
        );
        for r in &l.rules {
            self.write_rule(out, r);
        }
    }

    fn write_rule(&self, out: &mut String, r: &Rule) {
        out.push_str("\n[[listeners.rules]]\n");
        line(out, "priority", &r.priority.to_string());
        line(out, "host", &list(r.hosts.iter().map(|h| quote(h))));
        line(out, "path", &list(r.paths.iter().map(|p| quote(p))));
        line(out, "target_group", &self.group_name(r.target_group));
    }
}

fn write_group(out: &mut String, g: &TargetGroup) {
    out.push_str("\n[[target_groups]]\n");
    line(out, "name", &quote(&g.name));
    line(out, "targets", &list(g.targets.iter().map(target)));
    let keyed = [
        ("load_balancing.algorithm.type", quote(g.algorithm.name())),
        (
            "load_balancing.consistent_hash.key",
            quote(&g.hash_key.to_text()),
        ),
        (
            "deregistration_delay.timeout_seconds",
            g.deregistration_delay.as_secs().to_string(),
        ),
        (
            "slow_start.duration_seconds",
            g.slow_start.as_secs().to_string(),
        ),
        (
            "pool.idle_timeout_seconds",
            g.pool_idle_timeout.as_secs().to_string(),
        ),
        (
            "pool.max_idle_per_target",
            g.pool_max_idle_per_target.to_string(),
        ),
    ];
    for (key, value) in keyed {
        line(out, &key_segment(key), &value);
    }
    write_health_check(out, &g.health_check);
}

fn write_health_check(out: &mut String, h: &HealthCheck) {
    out.push_str("[target_groups.health_check]\n");
    line(out, "enabled", &h.enabled.to_string());
    line(out, "path", &quote(&h.path));
    line(out, "interval_seconds", &h.interval.as_secs().to_string());
    line(out, "timeout_seconds", &h.timeout.as_secs().to_string());
    line(
        out,
        "healthy_threshold_count",
        &h.healthy_threshold.to_string(),
    );
    line(
        out,
        "unhealthy_threshold_count",
        &h.unhealthy_threshold.to_string(),
    );
    line(out, "matcher", &quote(&h.matcher.to_text()));
}

/// A target as the file writes it: a bare address when the weight is the default.
fn target(t: &Target) -> String {
    let address = quote(&t.address.to_string());
    if t.weight == 1 {
        address
    } else {
        format!("{{ address = {address}, weight = {} }}", t.weight)
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

fn line(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}
