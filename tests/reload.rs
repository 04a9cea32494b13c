//! End-to-end: `ringway reload` adding and removing listeners and target groups, and replacing
//! a group whose settings changed, without a failed request; deletion protection refusing the
//! removals.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::*;

/// `ringway reload`: its summary line, or a panic with its error.
fn reload(lb: &Balancer) -> String {
    let out = lb.cli(&["reload"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `POST /reload` on the admin API: the status and the body.
fn post_reload(lb: &Balancer) -> (u16, String) {
    let mut client = Client::connect(lb.admin_addr());
    let r = client.request("POST /reload HTTP/1.1\r\nHost: admin\r\nContent-Length: 0\r\n\r\n");
    (r.status, r.body_text())
}

/// A port nothing listens on (bound and let go).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A config of `listeners` and `groups` (TOML blocks), two workers.
fn toml(attributes: &str, listeners: &[String], groups: &[String]) -> String {
    format!(
        "[load_balancer]\nworkers = 2\nadmin = \"127.0.0.1:0\"\n\n[attributes]\n{attributes}\n\n{}\n{}",
        listeners.join("\n"),
        groups.join("\n")
    )
}

/// A listener on `port` (0: ephemeral) of 127.0.0.1 with its default group and
/// `(priority, path, group)` rules.
fn listener(port: u16, default: &str, rules: &[(u32, &str, &str)]) -> String {
    let mut t = format!(
        "[[listeners]]\naddress = \"127.0.0.1\"\nport = {port}\ndefault_target_group = \"{default}\"\n"
    );
    for (priority, path, group) in rules {
        t.push_str(&format!(
            "[[listeners.rules]]\npriority = {priority}\npath = [\"{path}\"]\ntarget_group = \"{group}\"\n"
        ));
    }
    t
}

/// A target group over `targets`; `extra` are lines of its table; `checks`: the health check
/// table's lines (empty: checks off).
fn group(name: &str, targets: &[SocketAddr], extra: &str, checks: &str) -> String {
    let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    let checks = if checks.is_empty() {
        "enabled = false"
    } else {
        checks
    };
    format!(
        "[[target_groups]]\nname = \"{name}\"\ntargets = [{}]\n{extra}\n[target_groups.health_check]\n{checks}\n",
        targets.join(", ")
    )
}

/// `GET path` on a new connection to `addr`: the status and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let r = Client::connect(addr).request(&format!(
        "GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    ));
    (r.status, r.body_text())
}

/// Waits up to 2 s (the workers apply a change within 100 ms) for `done`.
fn soon(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn answering(body: &'static str) -> Origin {
    Origin::start(move |_| Reply::Send(ok_response(body.as_bytes())))
}

on_both_drivers!(a_reload_adds_a_listener_and_removes_it_without_failing_a_request);

fn a_reload_adds_a_listener_and_removes_it_without_failing_a_request(driver: &str) {
    let (web, api) = (answering("web"), answering("api"));
    let slow = Origin::start(|_| {
        std::thread::sleep(Duration::from_millis(1000));
        Reply::Send(ok_response(b"slow"))
    });
    let groups = [
        group("web", &[web.addr], "", ""),
        group("api", &[api.addr], "", ""),
        group("slow", &[slow.addr], "", ""),
    ];
    let before = toml("", &[listener(0, "web", &[])], &groups);
    let lb = Balancer::start(driver, &before);
    let load = Load::start(lb.addr, 2);
    std::thread::sleep(Duration::from_millis(300));

    // A second listener, routing by its own rules.
    let port = free_port();
    let with_second = toml(
        "",
        &[
            listener(0, "web", &[]),
            listener(port, "api", &[(10, "/slow", "slow")]),
        ],
        &groups,
    );
    lb.rewrite_config(&with_second);
    let summary = reload(&lb);
    assert!(
        summary.contains(&format!("listener 127.0.0.1:{port} added")),
        "{summary}"
    );
    soon("the new listener serves", || {
        TcpStream::connect(addr(port)).is_ok()
    });
    assert_eq!(get(addr(port), "/x"), (200, "api".into()));
    assert_eq!(get(lb.addr, "/x"), (200, "web".into()));

    // A keep-alive connection on it has a request in flight when it goes.
    let mut kept = Client::connect(addr(port));
    assert_eq!(
        kept.request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
            .body_text(),
        "api"
    );
    kept.send(b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
    std::thread::sleep(Duration::from_millis(200));
    lb.rewrite_config(&before);
    let summary = reload(&lb);
    assert!(
        summary.contains(&format!("listener 127.0.0.1:{port} removed")),
        "{summary}"
    );
    let r = kept.read_response(false);
    assert_eq!((r.status, r.body_text().as_str()), (200, "slow"));
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert!(kept.is_closed_by_peer());
    soon("the removed listener refuses connections", || {
        TcpStream::connect(addr(port)).is_err()
    });
    assert_eq!(get(lb.addr, "/x"), (200, "web".into()));

    std::thread::sleep(Duration::from_millis(300));
    let LoadEnd { served, failed, .. } = load.finish();
    assert!(served > 50, "{served}");
    assert_eq!(failed, 0, "requests on the other listener failed");
    let (_, metrics) = lb.admin_get("/metrics");
    assert!(!metrics.contains(&format!("127.0.0.1:{port}")), "{metrics}");
}

/// Health-check requests an origin received.
fn probes(origin: &Origin) -> usize {
    origin
        .received()
        .iter()
        .filter(|r| r.header("user-agent").as_deref() == Some("ringway-health-check"))
        .count()
}

#[test]
fn a_reload_adds_a_target_group_and_removes_it_and_its_probes() {
    let (web, api) = (answering("web"), answering("api"));
    let checks = "enabled = true\npath = \"/health\"\ninterval_seconds = 5\ntimeout_seconds = 2";
    let before = toml(
        "",
        &[listener(0, "web", &[])],
        &[group("web", &[web.addr], "", "")],
    );
    let with_api = toml(
        "",
        &[listener(0, "web", &[(10, "/api/*", "api")])],
        &[
            group("web", &[web.addr], "", ""),
            group("api", &[api.addr], "", checks),
        ],
    );
    let lb = Balancer::start("auto", &before);
    let load = Load::start(lb.addr, 2);
    assert_eq!(get(lb.addr, "/api/x"), (200, "web".into()));

    lb.rewrite_config(&with_api);
    let summary = reload(&lb);
    assert!(summary.contains("target group api added"), "{summary}");
    assert!(summary.contains("listener 127.0.0.1:"), "{summary}");
    soon("the new group takes its requests", || {
        get(lb.addr, "/api/x") == (200, "api".into())
    });
    soon("the new group's target is probed", || probes(&api) > 0);
    let (_, groups) = lb.admin_get("/target-groups");
    assert!(groups.contains("\"api\""), "{groups}");
    // The workers publish their counts once a second.
    soon("the metrics count the new group's requests", || {
        lb.admin_get("/metrics")
            .1
            .contains("target_group=\"api\",code=\"200\"")
    });

    // Removed with its rule: requests fall back to the default group.
    lb.rewrite_config(&before);
    let summary = reload(&lb);
    assert!(summary.contains("target group api removed"), "{summary}");
    soon("the default group takes the requests again", || {
        get(lb.addr, "/api/x") == (200, "web".into())
    });
    let probed = probes(&api);
    let (_, groups) = lb.admin_get("/target-groups");
    assert!(!groups.contains("\"api\""), "{groups}");
    assert!(groups.contains("\"web\""), "{groups}");
    let (_, metrics) = lb.admin_get("/metrics");
    assert!(!metrics.contains("\"api\""), "{metrics}");
    // The next probe was due 5 s after the first.
    std::thread::sleep(Duration::from_millis(5500));
    assert_eq!(probes(&api), probed, "probes of the removed group went on");
    let LoadEnd { served, failed, .. } = load.finish();
    assert!(served > 50, "{served}");
    assert_eq!(failed, 0, "requests failed across the reloads");
}

#[test]
fn a_reload_that_changes_a_groups_algorithm_keeps_its_health_and_fails_no_request() {
    let (a, b) = (answering("a"), answering("b"));
    // Nothing listens there: its checks fail and it turns unhealthy.
    let dead = addr(free_port());
    let checks = "enabled = true\npath = \"/\"\ninterval_seconds = 5\ntimeout_seconds = 2";
    let config = |algorithm: &str| {
        toml(
            "",
            &[listener(0, "web", &[])],
            &[group(
                "web",
                &[a.addr, b.addr, dead],
                &format!("\"load_balancing.algorithm.type\" = \"{algorithm}\""),
                checks,
            )],
        )
    };
    let lb = Balancer::start("auto", &config("round_robin"));
    // Two failed probes: the first at once, the second at the interval.
    let deadline = Instant::now() + Duration::from_secs(8);
    while !lb.admin_get("/target-groups").1.contains("\"unhealthy\"") {
        assert!(
            Instant::now() < deadline,
            "{}",
            lb.admin_get("/target-groups").1
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let dead_connects = || {
        let (_, text) = lb.admin_get("/target-groups");
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let target = json[0]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["address"] == dead.to_string())
            .cloned()
            .unwrap();
        (
            target["connects"].as_u64().unwrap(),
            target["health"].as_str().unwrap().to_string(),
        )
    };
    let load = Load::start(lb.addr, 2);
    std::thread::sleep(Duration::from_millis(300));

    lb.rewrite_config(&config("least_outstanding_requests"));
    let summary = reload(&lb);
    assert!(summary.contains("target group web settings"), "{summary}");
    std::thread::sleep(Duration::from_millis(1500));
    let LoadEnd { served, failed, .. } = load.finish();
    assert!(served > 50, "{served}");
    assert_eq!(failed, 0, "requests failed across the reload");
    let (_, groups) = lb.admin_get("/target-groups");
    assert!(
        groups.contains("\"algorithm\":\"least_outstanding_requests\""),
        "{groups}"
    );
    assert_eq!(groups.matches("\"healthy\"").count(), 2, "{groups}");
    // The replacement group knew the dead target unhealthy from its first request on. (Its
    // connects are this worker's attempts; a fresh group would fail open onto it.)
    let (connects, health) = dead_connects();
    assert_eq!(health, "unhealthy");
    assert_eq!(connects, 0, "requests went to a target known unhealthy");
    let (_, metrics) = lb.admin_get("/metrics");
    assert_eq!(
        metrics
            .matches("ringway_target_health{target_group=\"web\"")
            .count(),
        3,
        "{metrics}"
    );
}

#[test]
fn deletion_protection_refuses_a_reload_that_removes_a_listener_or_a_group() {
    let (web, api) = (answering("web"), answering("api"));
    let port = free_port();
    let protected = "\"deletion_protection.enabled\" = true";
    let both_groups = [
        group("web", &[web.addr], "", ""),
        group("api", &[api.addr], "", ""),
    ];
    let lb = Balancer::start(
        "auto",
        &toml(
            protected,
            &[listener(0, "web", &[]), listener(port, "api", &[])],
            &both_groups,
        ),
    );
    assert_eq!(get(addr(port), "/"), (200, "api".into()));
    let refusals = [
        toml(protected, &[listener(0, "web", &[])], &both_groups),
        toml(
            protected,
            &[listener(0, "web", &[]), listener(port, "web", &[])],
            &both_groups[..1],
        ),
    ];
    for file in refusals {
        lb.rewrite_config(&file);
        let (status, body) = post_reload(&lb);
        assert_eq!(status, 409, "{body}");
        assert!(
            body.contains("deletion protection is on")
                && body.contains("ringway attrs set deletion_protection.enabled=false"),
            "{body}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(addr(port), "/"), (200, "api".into()));
    assert_eq!(get(lb.addr, "/"), (200, "web".into()));
    let (_, groups) = lb.admin_get("/target-groups");
    assert!(groups.contains("\"api\""), "{groups}");
}

/// A reload rotates the admin token at once (the old one is refused from then on), and names
/// the `[load_balancer]` keys that only a restart applies instead of dropping them silently.
#[test]
fn a_reload_rotates_the_admin_token_and_names_what_waits_for_a_restart() {
    let origin = Origin::echo();
    let base = config(&[origin.addr], "", "");
    let with_token = |token: &str| {
        base.replace(
            "admin = \"127.0.0.1:0\"",
            &format!("admin = \"127.0.0.1:0\"\nadmin_token = \"{token}\""),
        )
    };
    let lb = Balancer::start("auto", &with_token("first"));
    let get_with = |token: &str| {
        lb.cli(&[
            "attrs",
            "get",
            "idle_timeout.timeout_seconds",
            "--token",
            token,
        ])
        .status
        .success()
    };
    assert!(get_with("first"));
    assert!(!get_with("second"));
    lb.rewrite_config(&with_token("second").replace("workers = 1", "workers = 2"));
    let out = lb.cli(&["reload", "--token", "first"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("applied: load_balancer.admin_token"),
        "{said}"
    );
    assert!(
        said.contains("load_balancer.workers at the next start"),
        "{said}"
    );
    assert!(!get_with("first"));
    assert!(get_with("second"));
    // The requests themselves never needed the token.
    let r = lb.client().request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status, 200);
}
