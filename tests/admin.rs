//! End-to-end: the admin API on its own address (DESIGN.md §6) and the CLI verbs that drive
//! it. So far `/metrics`, `/health` and `/attributes` with `ringway attrs`; the rest arrives
//! with issue 6.

mod common;

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An address nothing listens on: connecting is refused.
fn refused_addr() -> std::net::SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Sends `GET /` on a new connection until the status is `want` or 2 s pass; the last status.
fn status_soon(lb: &Balancer, want: u16) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let status = lb
            .client()
            .request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .status;
        if status == want || Instant::now() > deadline {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn attrs_set_changes_the_running_balancer_and_attrs_get_shows_it() {
    let lb = Balancer::start("auto", &config(&[refused_addr()], "", ""));
    assert_eq!(status_soon(&lb, 502), 502);
    let out = lb.cli(&["attrs", "get", "routing.http.upstream_error_style"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "standard\n");

    let out = lb.cli(&[
        "attrs",
        "set",
        "routing.http.upstream_error_style=cloudflare",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "routing.http.upstream_error_style = \"cloudflare\"\n"
    );
    // Every worker has it within a second: the next requests get Cloudflare's code.
    assert_eq!(status_soon(&lb, 521), 521);
    let out = lb.cli(&["attrs", "get"]);
    assert!(stdout(&out).contains("routing.http.upstream_error_style = \"cloudflare\"\n"));
    assert!(stdout(&out).contains("idle_timeout.timeout_seconds = 60\n"));
    // The metrics count what clients were answered: the 502s sent before the change stay
    // 502s.
    std::thread::sleep(Duration::from_millis(1100));
    let (_, metrics) = lb.admin_get("/metrics");
    for code in ["502", "521"] {
        assert!(
            metrics.contains(&format!("ringway_elb_responses_total{{code=\"{code}\"}}")),
            "{metrics}"
        );
    }
}

#[test]
fn a_changed_idle_timeout_applies_from_the_next_request() {
    let origin = Origin::echo();
    let lb = Balancer::start("auto", &config(&[origin.addr], "", ""));
    // Opened before the change: it takes the new timeout from its next request on.
    let mut earlier = lb.client();
    let get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(earlier.request(get).status, 200);
    let out = lb.cli(&["attrs", "set", "idle_timeout.timeout_seconds=1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(Duration::from_millis(300));
    let mut client = lb.client();
    for c in [&mut earlier, &mut client] {
        assert_eq!(c.request(get).status, 200);
    }
    let start = Instant::now();
    for c in [&mut client, &mut earlier] {
        assert!(c.is_closed_by_peer());
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(900),
            "closed after {waited:?}"
        );
        assert!(waited < Duration::from_secs(3), "closed after {waited:?}");
    }
}

#[test]
fn a_refused_change_changes_nothing_and_says_why_in_one_line() {
    let origin = Origin::echo();
    let lb = Balancer::start("auto", &config(&[origin.addr], "", ""));
    // One good change and one bad value: neither is applied.
    let out = lb.cli(&[
        "attrs",
        "set",
        "idle_timeout.timeout_seconds=5",
        "routing.http.desync_mitigation_mode=lenient",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    for part in [
        "routing.http.desync_mitigation_mode",
        "lenient",
        "strictest",
    ] {
        assert!(err.contains(part), "{err}");
    }
    let out = lb.cli(&["attrs", "get", "idle_timeout.timeout_seconds"]);
    assert_eq!(stdout(&out), "60\n");
    // Out of range, unknown key, no '=': each refused with the key named.
    for (args, names) in [
        (
            vec!["attrs", "set", "idle_timeout.timeout_seconds=0"],
            "1..=4000",
        ),
        (vec!["attrs", "set", "idle.timeout=5"], "idle.timeout"),
        (
            vec!["attrs", "set", "idle_timeout.timeout_seconds"],
            "KEY=VALUE",
        ),
        (vec!["attrs", "get", "nope"], "nope"),
    ] {
        let out = lb.cli(&args);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains(names), "{}", stderr(&out));
    }
    // The API itself: bad JSON and wrong shapes are 400 with a reason, other methods 405.
    for body in ["nope", "[1]", "{\"idle_timeout.timeout_seconds\": [1]}"] {
        let mut client = Client::connect(lb.admin_addr());
        let r = client.request(&format!(
            "PATCH /attributes HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
        assert_eq!(r.status, 400, "{body}");
        assert!(r.body_text().contains("\"error\""), "{}", r.body_text());
    }
    let mut client = Client::connect(lb.admin_addr());
    let r = client.request("DELETE /attributes HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status, 405);
}

#[test]
fn the_cli_sends_the_token_and_says_when_it_is_missing() {
    let origin = Origin::echo();
    let toml = config(&[origin.addr], "", "").replace(
        "admin = \"127.0.0.1:0\"",
        "admin = \"127.0.0.1:0\"\nadmin_token = \"s3cret\"",
    );
    let lb = Balancer::start("auto", &toml);
    let out = lb.cli(&["attrs", "get", "idle_timeout.timeout_seconds"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bearer token"), "{}", stderr(&out));
    let out = lb.cli(&[
        "attrs",
        "get",
        "idle_timeout.timeout_seconds",
        "--token",
        "s3cret",
    ]);
    assert_eq!(stdout(&out), "60\n", "{}", stderr(&out));
    // Nothing listening: one line, not a panic.
    let out = Command::new(env!("CARGO_BIN_EXE_ringway"))
        .args(["attrs", "get", "--admin", &refused_addr().to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach the admin API"),
        "{}",
        stderr(&out)
    );
}

/// A bad command-line argument is one line naming it, exit status 2; help still prints whole.
#[test]
fn bad_arguments_are_one_line() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ringway"))
            .args(args)
            .output()
            .unwrap()
    };
    for (args, named) in [
        (
            &["targets", "register", "web", "notanaddr"][..],
            "notanaddr",
        ),
        (&["serve", "--workers", "x"], "--workers"),
        (&["serve"], "--config"),
        (&["check", "-c"], "--config"),
        (&["stpo"], "stop"),
        (&["serve", "-c", "f", "--driver", "kqueue"], "kqueue"),
    ] {
        let out = run(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("ringway: ") && err.contains(named),
            "{args:?}: {err}"
        );
    }
    let help = run(&["serve", "--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).lines().count() > 3, "{}", stdout(&help));
}

#[test]
fn the_admin_api_is_not_served_on_a_data_listener() {
    let origin = Origin::echo();
    let lb = Balancer::start("auto", &config(&[origin.addr], "", ""));
    assert_ne!(lb.admin_addr(), lb.addr);
    let r = lb
        .client()
        .request("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
    // The data listener forwards it like any request: the target answers.
    assert_eq!(r.body_text(), "GET /metrics HTTP/1.1");
    assert_eq!(lb.admin_get("/health").0, 200);
}

#[test]
fn a_configured_token_is_required_as_a_bearer_token() {
    let origin = Origin::echo();
    let toml = config(&[origin.addr], "", "").replace(
        "admin = \"127.0.0.1:0\"",
        "admin = \"127.0.0.1:0\"\nadmin_token = \"s3cret\"",
    );
    let lb = Balancer::start("auto", &toml);
    assert_eq!(lb.admin_get("/metrics").0, 401);
    // Only the health probe is open: it says "ok" and nothing else.
    assert_eq!(lb.admin_get("/health"), (200, "ok\n".to_string()));
    assert_eq!(lb.admin_get("/stats").0, 401);
    let mut client = Client::connect(lb.admin_addr());
    let r =
        client.request("GET /metrics HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer s3cres\r\n\r\n");
    assert_eq!(r.status, 401);
    let mut client = Client::connect(lb.admin_addr());
    let r =
        client.request("GET /metrics HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer s3cret\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.body_text().contains("ringway_new_connections_total"));
}

#[test]
fn other_methods_and_paths_get_405_and_404() {
    let origin = Origin::echo();
    let lb = Balancer::start("auto", &config(&[origin.addr], "", ""));
    let mut client = Client::connect(lb.admin_addr());
    let r = client.request("POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(lb.admin_get("/no-such-endpoint").0, 404);
    assert_eq!(lb.admin_get("/target-groups").0, 200);
}

#[test]
fn stats_and_requests_total_count_what_clients_were_answered() {
    let origin = Origin::echo();
    let lb = Balancer::start("auto", &config(&[origin.addr], "", ""));
    for _ in 0..3 {
        let r = lb
            .client()
            .request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assert_eq!(r.status, 200);
    }
    // Answered before routing: no target group.
    let r = lb.client().request("GET / HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 400);
    std::thread::sleep(Duration::from_millis(1200));
    let listener = lb.addr.to_string();
    let (_, metrics) = lb.admin_get("/metrics");
    for line in [
        format!(
            "ringway_requests_total{{listener=\"{listener}\",target_group=\"web\",code=\"200\"}} 3"
        ),
        format!(
            "ringway_requests_total{{listener=\"{listener}\",target_group=\"-\",code=\"400\"}} 1"
        ),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} not in {metrics}"
        );
    }
    let (status, body) = lb.admin_get("/stats");
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stats["responses"]["2xx"], 3);
    assert_eq!(stats["responses"]["4xx"], 1);
    assert_eq!(stats["responses_by_code"]["200"], 3);
    assert_eq!(stats["responses_by_code"]["400"], 1);
    assert_eq!(stats["connections"]["new_total"], 4);
    let out = lb.cli(&["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("2xx 3"), "{table}");
    assert!(table.contains(" 200 3 400 1"), "{table}");
    assert!(table.contains(&origin.addr.to_string()), "{table}");
    // Under load the workers' rate shows, in the JSON and in the one-shot table alike.
    let load = Load::start(lb.addr, 2);
    let deadline = Instant::now() + Duration::from_secs(4);
    let rate = loop {
        let (_, body) = lb.admin_get("/stats");
        let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
        let rate = stats["requests_per_second"].as_u64().unwrap();
        if rate > 0 || Instant::now() > deadline {
            break rate;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let table = stdout(&lb.cli(&["stats"]));
    load.finish();
    assert!(rate > 0, "no rate under load");
    assert!(!table.contains(" 0/s"), "{table}");
    // --watch redraws once a second until stopped, with a rate from the second frame on.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_ringway"))
        .args(["stats", "--watch", "--admin", &lb.admin_addr().to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    watch.kill().unwrap();
    let out = watch.wait_with_output().unwrap();
    let frames = stdout(&out);
    assert!(
        frames.matches("connections  active").count() >= 2,
        "{frames}"
    );
    assert!(frames.contains("/s"), "{frames}");
}

/// An origin that answers `/slow` after 1.5 s and everything else at once.
fn slow_origin() -> Origin {
    Origin::start(|r| {
        if r.request_line().contains("/slow") {
            std::thread::sleep(Duration::from_millis(1500));
        }
        Reply::Send(ok_response(b"done"))
    })
}

#[test]
fn stop_closes_the_listeners_and_idle_connections_finishes_what_is_in_flight_and_exits() {
    let origin = slow_origin();
    let mut lb = Balancer::start("auto", &config(&[origin.addr], "", ""));
    let get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    // Idle for more than a second when the stop comes: parked.
    let mut parked = lb.client();
    assert_eq!(parked.request(get).status, 200);
    std::thread::sleep(Duration::from_millis(1500));
    // Idle for less: still in its serving task.
    let mut idle = lb.client();
    assert_eq!(idle.request(get).status, 200);
    let in_flight = std::thread::spawn({
        let addr = lb.addr;
        move || Client::connect(addr).request("GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
    });
    std::thread::sleep(Duration::from_millis(300));
    let out = lb.cli(&["stop"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Idle keep-alive connections close (nginx's graceful stop does the same) instead of
    // holding the drain until their idle timeout: the parked one at once, the other once it
    // has idled for its second.
    assert!(closed_within(&mut parked.stream, Duration::from_secs(1)));
    assert!(closed_within(&mut idle.stream, Duration::from_secs(2)));
    // No new connection is accepted.
    assert!(std::net::TcpStream::connect(lb.addr).is_err());
    // The request in flight completes, and its connection closes after it.
    let r = in_flight.join().unwrap();
    assert_eq!((r.status, r.body_text().as_str()), (200, "done"));
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    // Nothing left: the process exits on its own, well before the drain timeout.
    let status = lb
        .wait_exit(Duration::from_secs(5))
        .expect("ringway exited");
    assert!(status.success(), "{status:?}");
}

#[test]
fn deletion_protection_refuses_stop_through_the_api_but_not_sigterm() {
    let origin = slow_origin();
    let mut lb = Balancer::start(
        "auto",
        &config(&[origin.addr], "\"deletion_protection.enabled\" = true", ""),
    );
    let out = lb.cli(&["stop"]);
    assert!(!out.status.success());
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(
        stderr(&out).contains("deletion_protection.enabled=false"),
        "{}",
        stderr(&out)
    );
    let mut client = Client::connect(lb.admin_addr());
    let r = client.request("POST /stop HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(r.status, 409);
    // Still serving.
    let r = lb.client().request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status, 200);
    // The service manager's SIGTERM drains and stops it all the same.
    // SAFETY: kill(2) with a child's pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(lb.pid() as i32, libc::SIGTERM) }, 0);
    let status = lb
        .wait_exit(Duration::from_secs(5))
        .expect("ringway exited");
    assert!(status.success(), "{status:?}");
    assert!(lb.log_text().contains("stopping"), "{}", lb.log_text());
}

#[test]
fn the_access_log_has_a_json_line_per_request_with_alb_fields() {
    let origin = Origin::echo();
    let path = std::env::temp_dir().join(format!("ringway-access-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let toml = config(&[origin.addr], "", "").replace(
        "admin = \"127.0.0.1:0\"",
        &format!(
            "admin = \"127.0.0.1:0\"\naccess_log = \"{}\"",
            path.display()
        ),
    );
    let lb = Balancer::start("auto", &toml);
    let r = lb.client().request(
        "GET /hello HTTP/1.1\r\nHost: a\r\nUser-Agent: probe/1 \"q\"\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    // Blocked by the desync policy: never reaches the target.
    let r = lb
        .client()
        .request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
    assert_eq!(r.status, 400);
    // Written out once a second.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut lines = Vec::new();
    while lines.len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        lines = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect();
    }
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let ok = &lines[0];
    assert_eq!(ok["request"], "GET /hello HTTP/1.1");
    assert_eq!(ok["user_agent"], "probe/1 \"q\"");
    assert_eq!(ok["elb_status_code"], 200);
    assert_eq!(ok["target_status_code"], 200);
    assert_eq!(ok["target"], origin.addr.to_string());
    assert_eq!(ok["listener"], lb.addr.to_string());
    assert_eq!(ok["classification"], "Compliant");
    assert_eq!(ok["error_cause"], "-");
    assert!(ok["target_processing_time"].as_f64().unwrap() >= 0.0);
    assert!(ok["sent_bytes"].as_u64().unwrap() > 0);
    let blocked = &lines[1];
    assert_eq!(blocked["elb_status_code"], 400);
    assert_eq!(blocked["target_status_code"], "-");
    assert_eq!(blocked["target"], "-");
    assert_eq!(blocked["classification"], "Severe");
    assert_eq!(blocked["classification_reason"], "MultipleContentLength");
    assert_eq!(blocked["error_cause"], "desync-blocked");
    assert_eq!(blocked["target_processing_time"], -1);
}

#[test]
fn reload_applies_attributes_and_targets_under_load_without_a_failed_request() {
    let a = Origin::start(|_| Reply::Send(ok_response(b"a")));
    let b = Origin::start(|_| Reply::Send(ok_response(b"b")));
    let lb = Balancer::start("auto", &config(&[a.addr], "", ""));
    let load = Load::start(lb.addr, 2);
    std::thread::sleep(Duration::from_millis(500));
    // B replaces A, and the error style changes.
    lb.rewrite_config(&config(
        &[b.addr],
        "\"routing.http.upstream_error_style\" = \"cloudflare\"",
        "",
    ));
    let out = lb.cli(&["reload"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("attributes"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("target group web targets"),
        "{}",
        stdout(&out)
    );
    // A drains (nothing in flight for long) and leaves the group.
    std::thread::sleep(Duration::from_millis(3500));
    let end = load.finish();
    assert_eq!(end.failed, 0, "requests failed across the reload");
    for b in &end.bodies {
        assert_eq!(b.first().map(String::as_str), Some("a"));
        assert_eq!(b.last().map(String::as_str), Some("b"));
    }
    let out = lb.cli(&["targets", "list"]);
    assert!(
        !stdout(&out).contains(&a.addr.to_string()),
        "{}",
        stdout(&out)
    );
    let out = lb.cli(&["attrs", "get", "routing.http.upstream_error_style"]);
    assert_eq!(stdout(&out), "cloudflare\n");

    // A file reload cannot apply is refused whole, with the reason; nothing changes: here a
    // new listener on a port in use.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap();
    let two_listeners = config(&[a.addr], "", "").replace(
        "[[target_groups]]",
        &format!(
            "[[listeners]]\naddress = \"127.0.0.1\"\nport = {}\ndefault_target_group = \"web\"\n\n[[target_groups]]",
            taken_addr.port()
        ),
    );
    lb.rewrite_config(&two_listeners);
    let out = lb.cli(&["reload"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("cannot listen on {taken_addr}")),
        "{}",
        stderr(&out)
    );
    drop(taken);
    let out = lb.cli(&["attrs", "get", "routing.http.upstream_error_style"]);
    assert_eq!(stdout(&out), "cloudflare\n");
    // A file that does not load names the key, as `ringway check` would.
    lb.rewrite_config(&config(
        &[a.addr],
        "\"idle_timeout.timeout_seconds\" = 0",
        "",
    ));
    let out = lb.cli(&["reload"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("idle_timeout.timeout_seconds"),
        "{}",
        stderr(&out)
    );
    // SIGHUP reloads too.
    lb.rewrite_config(&config(&[a.addr, b.addr], "", ""));
    // SAFETY: kill(2) with a child's pid and a valid signal number.
    assert_eq!(unsafe { libc::kill(lb.pid() as i32, libc::SIGHUP) }, 0);
    let deadline = Instant::now() + Duration::from_secs(3);
    while lb.log_text().matches("ringway: reload of").count() < 2 {
        assert!(Instant::now() < deadline, "{}", lb.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = lb.cli(&["attrs", "get", "routing.http.upstream_error_style"]);
    assert_eq!(stdout(&out), "standard\n");
}

#[test]
fn an_upgrade_starts_a_new_process_beside_the_old_one_without_a_failed_request() {
    let origin = Origin::echo();
    let (listen, admin) = (refused_addr(), refused_addr());
    let toml = config(&[origin.addr], "", "")
        .replace("admin = \"127.0.0.1:0\"", &format!("admin = \"{admin}\""))
        .replace("port = 0", &format!("port = {}", listen.port()));
    let mut old = Balancer::start("auto", &toml);
    let load = Load::start(listen, 2);
    std::thread::sleep(Duration::from_millis(500));
    // The new process binds the same listener port beside the old one; the admin address
    // is the old one's until it stops.
    let new = Balancer::start("auto", &toml);
    assert!(new.log_text().contains("is in use"), "{}", new.log_text());
    let out = Command::new(env!("CARGO_BIN_EXE_ringway"))
        .args(["stop", "--admin", &admin.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let status = old
        .wait_exit(Duration::from_secs(10))
        .expect("the old process exits");
    assert!(status.success());
    // The new one takes the admin address and all the traffic.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !new.log_text().contains(&format!("admin on http://{admin}")) {
        assert!(Instant::now() < deadline, "{}", new.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = load.served();
    std::thread::sleep(Duration::from_millis(1000));
    let end = load.finish();
    assert!(end.served > before + 50);
    assert_eq!(end.failed, 0, "requests failed across the upgrade");
    assert_eq!(new.admin_get("/health").0, 200);
}
