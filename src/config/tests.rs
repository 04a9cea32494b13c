//! Whole-config tests: DESIGN §2's example, defaults, every bound, cross-references, duplicates,
//! the effective-config round trip, and the README's key tables against the model.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::attributes::{Kind, ATTRIBUTES, ATTRIBUTE_KEYS};
use super::file::*;
use super::*;

/// DESIGN §2's example plus the `api` group its rule names (without it the example is refused).
const EXAMPLE: &str = include_str!("example.toml");

const README: &str = include_str!("../../README.md");

/// A valid config with one of each table; `over` adds or replaces `(table, key, value)`.
fn doc(over: &[(&str, &str, &str)]) -> String {
    type Keys<'a> = Vec<(&'a str, &'a str)>;
    let tables: [(&str, &str, Keys); 6] = [
        ("load_balancer", "[load_balancer]", vec![]),
        ("attributes", "[attributes]", vec![]),
        (
            "listeners",
            "[[listeners]]",
            vec![
                ("address", "\"127.0.0.1\""),
                ("port", "8080"),
                ("default_target_group", "\"web\""),
            ],
        ),
        (
            "rules",
            "[[listeners.rules]]",
            vec![
                ("priority", "10"),
                ("path", "[\"/x\"]"),
                ("target_group", "\"web\""),
            ],
        ),
        (
            "target_groups",
            "[[target_groups]]",
            vec![("name", "\"web\"")],
        ),
        ("health_check", "[target_groups.health_check]", vec![]),
    ];
    let mut out = String::new();
    for (name, header, mut keys) in tables {
        for &(table, key, value) in over {
            if table == name {
                keys.retain(|&(k, _)| k != key);
                keys.push((key, value));
            }
        }
        out.push_str(header);
        out.push('\n');
        for (k, v) in keys {
            out.push_str(&format!("{k} = {v}\n"));
        }
    }
    out
}

fn ok(text: &str) -> Config {
    match Config::from_toml_str(text) {
        Ok(c) => c,
        Err(e) => panic!("refused: {e}\n{text}"),
    }
}

fn err(text: &str) -> String {
    let e = Config::from_toml_str(text).unwrap_err().to_string();
    assert!(!e.contains('\n'), "not one line: {e}");
    e
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn the_design_example_parses_to_the_expected_config() {
    let c = ok(EXAMPLE);
    assert_eq!(c.load_balancer, LoadBalancer::default());
    assert_eq!(c.attributes, Attributes::default());
    let api = TargetGroup {
        targets: vec![
            Target {
                address: addr("10.0.1.1:8080"),
                weight: 3,
            },
            Target {
                address: addr("10.0.1.2:8080"),
                weight: 1,
            },
        ],
        ..TargetGroup::new("api")
    };
    let web = TargetGroup {
        targets: vec![
            Target {
                address: addr("10.0.0.1:8080"),
                weight: 1,
            },
            Target {
                address: addr("10.0.0.2:8080"),
                weight: 1,
            },
        ],
        ..TargetGroup::new("web")
    };
    let expected = Config {
        load_balancer: LoadBalancer::default(),
        attributes: Attributes::default(),
        listeners: vec![Listener {
            address: "0.0.0.0".parse().unwrap(),
            port: 80,
            default_target_group: 0,
            rules: vec![Rule {
                priority: 10,
                hosts: vec!["api.example.com".into()],
                paths: vec!["/api/*".into()],
                target_group: 1,
            }],
        }],
        target_groups: vec![web, api],
    };
    assert_eq!(c, expected);
}

#[test]
fn the_readme_shows_the_design_example() {
    assert!(
        README.contains(EXAMPLE),
        "README's example differs from example.toml"
    );
}

#[test]
fn an_empty_file_is_refused_for_having_no_listeners() {
    assert_eq!(
        err(""),
        "config: listeners = []: allowed at least one [[listeners]] table"
    );
    let e = err("[[listeners]]\naddress = \"::\"\nport = 80\ndefault_target_group = \"web\"\n");
    assert!(e.starts_with("config: target_groups = []"), "{e}");
}

#[test]
fn a_minimal_config_takes_every_default() {
    let c = ok(
        "[[listeners]]\naddress = \"::\"\nport = 0\ndefault_target_group = \"web\"\n\
         [[target_groups]]\nname = \"web\"\n",
    );
    assert_eq!(c.load_balancer, LoadBalancer::default());
    assert_eq!(c.attributes, Attributes::default());
    assert_eq!(c.target_groups, [TargetGroup::new("web")]);
    assert_eq!(c.listeners[0].port, 0);
    assert!(c.listeners[0].rules.is_empty());
    let g = &c.target_groups[0];
    assert_eq!(g.algorithm, Algorithm::RoundRobin);
    assert_eq!(g.deregistration_delay, Duration::from_secs(300));
    assert_eq!(g.pool_idle_timeout, Duration::from_secs(4));
    assert_eq!(g.pool_max_idle_per_target, 64);
    let h = &g.health_check;
    assert!(h.enabled);
    assert_eq!(
        (h.path.as_str(), h.interval.as_secs(), h.timeout.as_secs()),
        ("/", 30, 5)
    );
    assert_eq!((h.healthy_threshold, h.unhealthy_threshold), (5, 2));
    assert!(h.matcher.matches(200) && !h.matcher.matches(204));
}

/// (table, key, lo, hi, key path in errors, extra keys that make both bounds otherwise valid)
type Bound = (
    &'static str,
    String,
    i64,
    i64,
    String,
    Vec<(&'static str, &'static str, &'static str)>,
);

fn bounds() -> Vec<Bound> {
    let tg = "target_groups[0]";
    let hc = "target_groups[0].health_check";
    let mut b: Vec<Bound> = vec![
        (
            "load_balancer",
            "workers".into(),
            0,
            1024,
            "load_balancer.workers".into(),
            vec![],
        ),
        (
            "listeners",
            "port".into(),
            0,
            65535,
            "listeners[0].port".into(),
            vec![],
        ),
        (
            "rules",
            "priority".into(),
            1,
            50000,
            "listeners[0].rules[0].priority".into(),
            vec![],
        ),
        (
            "health_check",
            "interval_seconds".into(),
            5,
            300,
            format!("{hc}.interval_seconds"),
            vec![("health_check", "timeout_seconds", "2")],
        ),
        (
            "health_check",
            "timeout_seconds".into(),
            2,
            120,
            format!("{hc}.timeout_seconds"),
            vec![("health_check", "interval_seconds", "300")],
        ),
        (
            "health_check",
            "healthy_threshold_count".into(),
            2,
            10,
            format!("{hc}.healthy_threshold_count"),
            vec![],
        ),
        (
            "health_check",
            "unhealthy_threshold_count".into(),
            2,
            10,
            format!("{hc}.unhealthy_threshold_count"),
            vec![],
        ),
    ];
    for (key, lo, hi) in [
        ("deregistration_delay.timeout_seconds", 0, 3600),
        ("slow_start.duration_seconds", 30, 900),
        ("pool.idle_timeout_seconds", 1, 3600),
        ("pool.max_idle_per_target", 0, 100_000),
    ] {
        b.push((
            "target_groups",
            format!("\"{key}\""),
            lo,
            hi,
            format!("{tg}.\"{key}\""),
            vec![],
        ));
    }
    for a in ATTRIBUTES {
        if let Kind::Seconds { min, max } = a.kind {
            let key = format!("\"{}\"", a.key);
            b.push((
                "attributes",
                key.clone(),
                min as i64,
                max as i64,
                format!("attributes.{key}"),
                vec![],
            ));
        }
    }
    b
}

#[test]
fn every_numeric_key_is_accepted_at_both_bounds() {
    for (table, key, lo, hi, _, extra) in bounds() {
        for v in [lo, hi] {
            let value = v.to_string();
            let mut over = extra.clone();
            over.push((table, &key, &value));
            ok(&doc(&over));
        }
    }
}

#[test]
fn every_numeric_key_is_refused_one_past_each_bound_naming_key_value_and_range() {
    for (table, key, lo, hi, path, extra) in bounds() {
        for v in [lo - 1, hi + 1] {
            // slow start's gap: 0 is allowed, so 29 is the value below the range.
            let v = if key.contains("slow_start") && v == lo - 1 {
                29
            } else {
                v
            };
            let value = v.to_string();
            let mut over = extra.clone();
            over.push((table, &key, &value));
            let e = err(&doc(&over));
            let range = if key.contains("slow_start") {
                "0 or 30..=900".to_string()
            } else {
                format!("{lo}..={hi}")
            };
            assert_eq!(e, format!("config: {path} = {v}: allowed {range}"));
        }
    }
}

#[test]
fn target_weights_are_accepted_from_0_to_999() {
    let t = |w: &str| format!("[{{ address = \"10.0.0.1:80\", weight = {w} }}]");
    for w in ["0", "999"] {
        let c = ok(&doc(&[("target_groups", "targets", &t(w))]));
        assert_eq!(c.target_groups[0].targets[0].weight.to_string(), w);
    }
    for w in ["-1", "1000"] {
        assert_eq!(
            err(&doc(&[("target_groups", "targets", &t(w))])),
            format!("config: target_groups[0].targets[0].weight = {w}: allowed 0..=999")
        );
    }
}

#[test]
fn slow_start_zero_turns_it_off() {
    let c = ok(&doc(&[(
        "target_groups",
        "\"slow_start.duration_seconds\"",
        "0",
    )]));
    assert_eq!(c.target_groups[0].slow_start, Duration::ZERO);
}

#[test]
fn the_health_check_timeout_must_be_less_than_the_interval() {
    let e = err(&doc(&[
        ("health_check", "interval_seconds", "10"),
        ("health_check", "timeout_seconds", "10"),
    ]));
    assert_eq!(
        e,
        "config: target_groups[0].health_check.timeout_seconds = 10: allowed 2..=120 and less than interval_seconds (10)"
    );
}

#[test]
fn unknown_keys_are_named_at_every_table_level() {
    for (table, path) in [
        ("load_balancer", "[load_balancer]"),
        ("attributes", "[attributes]"),
        ("listeners", "listeners[0]"),
        ("rules", "listeners[0].rules[0]"),
        ("target_groups", "target_groups[0]"),
        ("health_check", "target_groups[0].health_check"),
    ] {
        let e = err(&doc(&[(table, "surplus", "1")]));
        assert!(
            e.contains(&format!("unknown key \"surplus\" in {path}; allowed: ")),
            "{e}"
        );
    }
}

#[test]
fn load_balancer_values_are_checked() {
    fn lb(key: &str, value: &str) -> String {
        err(&doc(&[("load_balancer", key, value)]))
    }
    assert_eq!(
        lb("admin", "\"localhost:9900\""),
        "config: load_balancer.admin = \"localhost:9900\": allowed an IP:port socket address"
    );
    assert_eq!(
        lb("admin", "\"10.0.0.1:9900\""),
        "config: load_balancer.admin_token = \"\": allowed a non-empty token when admin (10.0.0.1:9900) is not on loopback"
    );
    assert!(lb("access_log", "\"\"").contains("load_balancer.access_log = \"\""));
    let c = ok(&doc(&[
        ("load_balancer", "admin", "\"[::]:9900\""),
        ("load_balancer", "admin_token", "\"s3cret\""),
        ("load_balancer", "access_log", "\"/var/log/ringway.jsonl\""),
    ]));
    assert_eq!(c.load_balancer.admin_token.as_deref(), Some("s3cret"));
    assert_eq!(
        c.load_balancer.access_log,
        AccessLog::File(PathBuf::from("/var/log/ringway.jsonl"))
    );
    let c = ok(&doc(&[
        ("load_balancer", "admin", "\"[::1]:1\""),
        ("load_balancer", "admin_token", "\"\""),
        ("load_balancer", "access_log", "\"stdout\""),
    ]));
    assert_eq!(c.load_balancer.admin_token, None);
    assert_eq!(c.load_balancer.access_log, AccessLog::Stdout);
}

#[test]
fn attribute_modes_accept_exactly_their_lower_case_names() {
    let c = ok(&doc(&[
        (
            "attributes",
            "\"routing.http.desync_mitigation_mode\"",
            "\"strictest\"",
        ),
        (
            "attributes",
            "\"routing.http.xff_header_processing.mode\"",
            "\"remove\"",
        ),
        (
            "attributes",
            "\"routing.http.upstream_error_style\"",
            "\"cloudflare\"",
        ),
        ("attributes", "\"deletion_protection.enabled\"", "true"),
    ]));
    assert_eq!(c.attributes.desync_mitigation_mode, DesyncMode::Strictest);
    assert_eq!(c.attributes.xff_header_processing, XffMode::Remove);
    assert_eq!(c.attributes.upstream_error_style, ErrorStyle::Cloudflare);
    assert!(c.attributes.deletion_protection);
    assert_eq!(
        err(&doc(&[("attributes", "\"routing.http.desync_mitigation_mode\"", "\"Strictest\"")])),
        "config: attributes.\"routing.http.desync_mitigation_mode\" = \"Strictest\": allowed \"monitor\" | \"defensive\" | \"strictest\""
    );
}

#[test]
fn listener_and_rule_values_are_checked() {
    let e = err(&doc(&[("listeners", "address", "\"localhost\"")]));
    assert_eq!(
        e,
        "config: listeners[0].address = \"localhost\": allowed an IPv4 or IPv6 address literal"
    );
    let e = err(&doc(&[("rules", "path", "[]")]));
    assert!(
        e.starts_with("config: listeners[0].rules[0].host = []: allowed at least one host or path"),
        "{e}"
    );
    let e = err(&doc(&[("rules", "host", "[\"a.*.com\"]")]));
    assert!(
        e.starts_with("config: listeners[0].rules[0].host[0] = \"a.*.com\": allowed "),
        "{e}"
    );
    let e = err(&doc(&[("rules", "path", "[\"api\"]")]));
    assert!(
        e.starts_with("config: listeners[0].rules[0].path[0] = \"api\": allowed "),
        "{e}"
    );
    let six = "[\"/1\", \"/2\", \"/3\", \"/4\", \"/5\", \"/6\"]";
    assert_eq!(
        err(&doc(&[("rules", "path", six)])),
        "config: listeners[0].rules[0].path = [6 patterns]: allowed at most 5 patterns"
    );
    let c = ok(&doc(&[(
        "rules",
        "host",
        "[\"API.Example.COM\", \"*.Example.com\"]",
    )]));
    assert_eq!(
        c.listeners[0].rules[0].hosts,
        ["api.example.com", "*.example.com"]
    );
}

#[test]
fn target_group_values_are_checked() {
    fn tg(key: &str, value: &str) -> String {
        err(&doc(&[("target_groups", key, value)]))
    }
    assert!(tg("name", "\"-web\"")
        .starts_with("config: target_groups[0].name = \"-web\": allowed 1..=32"));
    for bad in [
        "\"web.example:80\"",
        "\"10.0.0.1\"",
        "\"10.0.0.1:0\"",
        "\"::1:80\"",
    ] {
        let list = format!("[{bad}]");
        let e = tg("targets", &list);
        assert!(
            e.starts_with(&format!(
                "config: target_groups[0].targets[0] = {bad}: allowed an IP:port"
            )),
            "{e}"
        );
    }
    let e = tg("\"load_balancing.algorithm.type\"", "\"random\"");
    assert!(e.contains("target_groups[0].\"load_balancing.algorithm.type\" = \"random\": allowed \"round_robin\" | "), "{e}");
    let c = ok(&doc(&[
        (
            "target_groups",
            "\"load_balancing.algorithm.type\"",
            "\"consistent_hash\"",
        ),
        (
            "target_groups",
            "targets",
            "[\"[::1]:8080\", \"127.0.0.1:1\"]",
        ),
    ]));
    assert_eq!(c.target_groups[0].algorithm, Algorithm::ConsistentHash);
    assert_eq!(c.target_groups[0].targets[0].address, addr("[::1]:8080"));
    let c = ok(&doc(&[("target_groups", "targets", "[]")]));
    assert!(c.target_groups[0].targets.is_empty());
    let e = err(&doc(&[("health_check", "path", "\"health\"")]));
    assert!(
        e.starts_with("config: target_groups[0].health_check.path = \"health\""),
        "{e}"
    );
    let e = err(&doc(&[("health_check", "matcher", "\"500\"")]));
    assert!(
        e.starts_with(
            "config: target_groups[0].health_check.matcher = \"500\": allowed codes 200..=499"
        ),
        "{e}"
    );
}

#[test]
fn the_consistent_hash_key_is_the_client_ip_or_a_named_header() {
    let key = "\"load_balancing.consistent_hash.key\"";
    let with = |value: &str| doc(&[("target_groups", key, value)]);
    assert_eq!(ok(&doc(&[])).target_groups[0].hash_key, HashKey::ClientIp);
    assert_eq!(
        ok(&with("\"client_ip\"")).target_groups[0].hash_key,
        HashKey::ClientIp
    );
    assert_eq!(
        ok(&with("\"header:X-Session-Id\"")).target_groups[0].hash_key,
        HashKey::Header("x-session-id".into())
    );
    let long = format!("\"header:{}\"", "a".repeat(64));
    assert!(matches!(
        ok(&with(&long)).target_groups[0].hash_key,
        HashKey::Header(_)
    ));
    let too_long = format!("\"header:{}\"", "a".repeat(65));
    for bad in [
        "\"\"",
        "\"client-ip\"",
        "\"CLIENT_IP\"",
        "\"header:\"",
        "\"header\"",
        "\"header:x y\"",
        "\"header:x:y\"",
        "\"Header:x\"",
        "\"cookie:x\"",
        too_long.as_str(),
    ] {
        assert_eq!(
            err(&with(bad)),
            format!(
                "config: target_groups[0].{key} = {bad}: allowed \"client_ip\" | \"header:NAME\" with NAME a header field name (RFC 9110 token, 1..=64 characters)"
            )
        );
    }
}

#[test]
fn the_health_check_path_is_printable_ascii_without_spaces() {
    let path = |p: &str| doc(&[("health_check", "path", p)]);
    assert_eq!(
        ok(&path("\"/healthz?deep=1\"")).target_groups[0]
            .health_check
            .path,
        "/healthz?deep=1"
    );
    for bad in ["\"/a b\"", "\"/a\\r\\nX-Evil: 1\"", "\"/\\t\"", "\"/é\""] {
        // The value is shown as `quote` escapes it, which need not be how the file wrote it.
        let e = err(&path(bad));
        assert!(
            e.starts_with("config: target_groups[0].health_check.path = \"/")
                && e.contains(": allowed a path starting with \"/\", printable ASCII"),
            "{e}"
        );
    }
}

#[test]
fn names_must_refer_to_existing_target_groups() {
    assert_eq!(
        err(&doc(&[("listeners", "default_target_group", "\"api\"")])),
        "config: listeners[0].default_target_group = \"api\": allowed a target group: \"web\""
    );
    assert_eq!(
        err(&doc(&[("rules", "target_group", "\"Web\"")])),
        "config: listeners[0].rules[0].target_group = \"Web\": allowed a target group: \"web\""
    );
}

#[test]
fn duplicates_are_refused() {
    let base = doc(&[]);
    let e = err(&format!("{base}[[target_groups]]\nname = \"web\"\n"));
    assert_eq!(e, "config: target_groups[1].name = \"web\": allowed a name not already used by target_groups[0]");
    let e = err(&doc(&[(
        "target_groups",
        "targets",
        "[\"10.0.0.1:80\", { address = \"10.0.0.1:80\", weight = 2 }]",
    )]));
    assert_eq!(e, "config: target_groups[0].targets[1] = \"10.0.0.1:80\": allowed an address not already in the group (targets[0])");
    let listener =
        "[[listeners]]\naddress = \"127.0.0.1\"\nport = 8080\ndefault_target_group = \"web\"\n";
    let e = err(&format!("{base}{listener}"));
    assert_eq!(e, "config: listeners[1].port = 8080: allowed an address and port not already used by listeners[0]");
    ok(&format!("{base}{}", listener.replace("8080", "8081")));
    let ephemeral = doc(&[("listeners", "port", "0")]);
    ok(&format!("{ephemeral}{}", listener.replace("8080", "0")));
    let rule = "[[listeners.rules]]\npriority = 10\nhost = [\"a.com\"]\ntarget_group = \"web\"\n";
    let e = err(&format!("{base}{listener}{rule}{rule}").replacen("port = 8080", "port = 1", 1));
    assert!(
        e.starts_with("config: listeners[1].rules[1].priority = 10: allowed 1..=50000, unique"),
        "{e}"
    );
}

#[test]
fn the_admin_api_cannot_share_a_listener_address() {
    let e = err(&doc(&[("load_balancer", "admin", "\"127.0.0.1:8080\"")]));
    assert_eq!(e, "config: load_balancer.admin = \"127.0.0.1:8080\": allowed an address and port no listener uses (listeners[0] is on 127.0.0.1:8080)");
    // A listener on every address takes the port on loopback too.
    let all = doc(&[
        ("load_balancer", "admin", "\"127.0.0.1:8080\""),
        ("listeners", "address", "\"0.0.0.0\""),
    ]);
    assert!(err(&all).starts_with("config: load_balancer.admin = \"127.0.0.1:8080\""));
    ok(&doc(&[("load_balancer", "admin", "\"127.0.0.1:8081\"")]));
    ok(&doc(&[("load_balancer", "admin", "\"127.0.0.2:8080\"")]));
    // Ephemeral ports never clash.
    ok(&doc(&[
        ("load_balancer", "admin", "\"127.0.0.1:0\""),
        ("listeners", "port", "0"),
    ]));
}

#[test]
fn rules_are_sorted_by_priority() {
    let rule = |p: u32| {
        format!("[[listeners.rules]]\npriority = {p}\npath = [\"/{p}\"]\ntarget_group = \"web\"\n")
    };
    let text = format!(
        "[[listeners]]\naddress = \"::\"\nport = 80\ndefault_target_group = \"web\"\n{}{}{}[[target_groups]]\nname = \"web\"\n",
        rule(30),
        rule(5),
        rule(200)
    );
    let c = ok(&text);
    let order: Vec<u32> = c.listeners[0].rules.iter().map(|r| r.priority).collect();
    assert_eq!(order, [5, 30, 200]);
}

#[test]
fn the_effective_config_loads_back_into_the_same_config() {
    let varied = doc(&[
        ("load_balancer", "workers", "8"),
        ("load_balancer", "admin", "\"[::]:9901\""),
        ("load_balancer", "admin_token", "\"tok\\\"en\""),
        ("load_balancer", "access_log", "\"/tmp/a b.log\""),
        (
            "attributes",
            "\"routing.http.xff_client_port.enabled\"",
            "true",
        ),
        ("attributes", "\"idle_timeout.timeout_seconds\"", "4000"),
        ("rules", "host", "[\"*.Example.com\"]"),
        (
            "target_groups",
            "targets",
            "[{ address = \"[::1]:80\", weight = 0 }, \"10.0.0.1:80\"]",
        ),
        ("health_check", "matcher", "\"200-299, 404\""),
        (
            "target_groups",
            "\"load_balancing.consistent_hash.key\"",
            "\"header:X-User\"",
        ),
        ("health_check", "enabled", "false"),
    ]);
    for text in [EXAMPLE, varied.as_str(), &doc(&[])] {
        let c = ok(text);
        let effective = c.effective();
        assert_eq!(ok(&effective), c, "{effective}");
        assert_eq!(ok(&effective).effective(), effective);
    }
}

#[test]
fn the_printed_config_does_not_show_the_admin_token() {
    let c = ok(&doc(&[("load_balancer", "admin_token", "\"s3cret\"")]));
    assert!(c.effective().contains("admin_token = \"s3cret\""));
    let shown = c.effective_redacted();
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("admin_token = \"<redacted>\""), "{shown}");
    // Without a token there is nothing to hide.
    assert_eq!(
        ok(&doc(&[])).effective_redacted(),
        ok(&doc(&[])).effective()
    );
}

#[test]
fn the_effective_config_writes_every_key() {
    let e = ok(EXAMPLE).effective();
    for key in ATTRIBUTE_KEYS {
        assert!(e.contains(&format!("\"{key}\" = ")), "{key}");
    }
    for key in [
        "workers",
        "admin_token",
        "access_log",
        "matcher",
        "unhealthy_threshold_count",
    ] {
        assert!(e.contains(&format!("\n{key} = ")), "{key}");
    }
    assert!(e.contains("\"pool.max_idle_per_target\" = 64\n"));
    assert!(
        e.contains("targets = [{ address = \"10.0.1.1:8080\", weight = 3 }, \"10.0.1.2:8080\"]\n")
    );
}

/// The README's config section: heading (the text in its first backticks) -> keys of its tables.
fn readme_tables() -> Vec<(String, BTreeSet<String>)> {
    let start = README.find("<!-- config:start -->").expect("start marker");
    let end = README.find("<!-- config:end -->").expect("end marker");
    let mut tables: Vec<(String, BTreeSet<String>)> = Vec::new();
    for line in README[start..end].lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let name = heading.split('`').nth(1).unwrap_or(heading).to_string();
            tables.push((name, BTreeSet::new()));
        } else if let Some(row) = line.strip_prefix("| `") {
            let key = row.split('`').next().unwrap_or_default();
            let key = key.trim_matches('"').to_string();
            tables
                .last_mut()
                .expect("a table under a heading")
                .1
                .insert(key);
        }
    }
    tables
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

#[test]
fn the_readme_tables_list_exactly_the_models_keys() {
    let model = vec![
        (
            "[load_balancer]".to_string(),
            set(struct_keys::<FileLoadBalancer>()),
        ),
        ("[attributes]".to_string(), set(ATTRIBUTE_KEYS)),
        (
            "[[listeners]]".to_string(),
            set(struct_keys::<FileListener>()),
        ),
        (
            "[[listeners.rules]]".to_string(),
            set(struct_keys::<FileRule>()),
        ),
        (
            "[[target_groups]]".to_string(),
            set(struct_keys::<FileTargetGroup>()),
        ),
        (
            "targets".to_string(),
            set(struct_keys::<FileWeightedTarget>()),
        ),
        (
            "[target_groups.health_check]".to_string(),
            set(struct_keys::<FileHealthCheck>()),
        ),
    ];
    assert_eq!(readme_tables(), model);
    // Every top-level table of the file has its README section.
    let top: BTreeSet<String> = struct_keys::<FileConfig>()
        .iter()
        .map(|k| k.to_string())
        .collect();
    let documented: BTreeSet<String> = readme_tables()
        .into_iter()
        .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
        .filter(|h| !h.contains('.') && h != "targets")
        .collect();
    assert_eq!(documented, top);
}

proptest::proptest! {
    #[test]
    fn any_text_gives_a_config_or_a_one_line_error(text in "\\PC{0,300}") {
        if let Err(e) = Config::from_toml_str(&text) {
            proptest::prop_assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn any_edit_of_the_example_gives_a_config_or_a_one_line_error(
        at in 0usize..2000,
        cut in 0usize..8,
        insert in "[\\[\\]\"=.,{}a-z0-9 \n-]{0,6}",
    ) {
        let mut text = EXAMPLE.to_string();
        let start = (at % text.len()..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let end = (start + cut..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(start);
        text.replace_range(start..end, &insert);
        match Config::from_toml_str(&text) {
            Ok(c) => proptest::prop_assert_eq!(Config::from_toml_str(&c.effective()), Ok(c)),
            Err(e) => proptest::prop_assert!(!e.to_string().contains('\n'), "{}", e),
        }
    }
}
