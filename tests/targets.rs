//! Target groups over real sockets (DESIGN.md §5): a target killed under load costs clients
//! nothing, active health checks take it out of rotation and put it back, and a group whose
//! targets are all down or unreachable answers at once with the right status.
//!
//! The targets here are `ringway origin` processes, so a test can kill one and start it again
//! on the same port. The unreachable target needs a network without routes: that test runs
//! this binary again in a network namespace of its own.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Balancer, Client};

/// A `ringway origin` child process; killed when dropped.
struct OriginProcess {
    child: Child,
}

impl OriginProcess {
    fn start(addr: SocketAddr, name: &str) -> OriginProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_ringway"))
            .args(["origin", "--bind", &addr.to_string(), "--name", name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "origin {name} did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        OriginProcess { child }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OriginProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// `common::config` with two workers and the health check table given.
fn config(targets: &[SocketAddr], attributes: &str, health_check: &str) -> String {
    let text = common::config(targets, attributes, "")
        .replace("workers = 1", "workers = 2")
        .replace(
            "[target_groups.health_check]\nenabled = false",
            &format!("[target_groups.health_check]\n{health_check}"),
        );
    assert!(text.contains(health_check) && text.contains("workers = 2"));
    text
}

/// A value of `/metrics` for one target.
fn target_metric(lb: &Balancer, name: &str, target: SocketAddr) -> u64 {
    let (_, body) = lb.admin_get("/metrics");
    let prefix = format!("{name}{{target_group=\"web\",target=\"{target}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&prefix)?.parse().ok())
        .unwrap_or_else(|| panic!("no {prefix} in {body}"))
}

/// Waits until the log has a line containing every part, or `limit` passes.
fn wait_for_log(lb: &Balancer, parts: &[&str], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if lb
            .log_text()
            .lines()
            .any(|l| parts.iter().all(|p| l.contains(p)))
        {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn a_target_killed_under_load_costs_no_request_and_comes_back_when_healthy() {
    let (a_addr, b_addr) = (free_addr(), free_addr());
    let _a = OriginProcess::start(a_addr, "a");
    let mut b = OriginProcess::start(b_addr, "b");
    let lb = Balancer::start(
        "auto",
        &config(
            &[a_addr, b_addr],
            "",
            "enabled = true\ninterval_seconds = 5\ntimeout_seconds = 2\n\
             healthy_threshold_count = 2\nunhealthy_threshold_count = 2",
        ),
    );
    // Both pass their first probe at once (ALB: a new target needs one).
    for t in [a_addr, b_addr] {
        let healthy = format!("target {t} is healthy");
        assert!(
            wait_for_log(&lb, &[&healthy], Duration::from_secs(5)),
            "{}",
            lb.log_text()
        );
    }

    // Keep-alive GET load from three clients for 20 seconds; B dies after 4.
    let stop = Arc::new(AtomicBool::new(false));
    let (served, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load: Vec<_> = (0..3)
        .map(|_| {
            let (stop, served, failed, addr) =
                (stop.clone(), served.clone(), failed.clone(), lb.addr);
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                while !stop.load(Ordering::Relaxed) {
                    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                    match client.try_read_response(false) {
                        Some(r) if r.status == 200 => served.fetch_add(1, Ordering::Relaxed),
                        Some(_) | None => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            client = Client::connect(addr);
                            0
                        }
                    };
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    b.kill();
    let unhealthy = format!("target {b_addr} is unhealthy");
    assert!(
        wait_for_log(&lb, &[&unhealthy], Duration::from_secs(12)),
        "{}",
        lb.log_text()
    );
    // From here on B gets no connection attempt (the gauge is published once a second).
    std::thread::sleep(Duration::from_millis(1100));
    let attempts_at_unhealthy = target_metric(&lb, "ringway_target_connects_total", b_addr);
    std::thread::sleep(Duration::from_secs(20).saturating_sub(start.elapsed()));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        target_metric(&lb, "ringway_target_connects_total", b_addr),
        attempts_at_unhealthy,
        "connections were attempted to an unhealthy target"
    );
    assert_eq!(target_metric(&lb, "ringway_target_health", b_addr), 0);
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "client requests failed");
    assert!(
        served.load(Ordering::Relaxed) > 1000,
        "{}",
        served.load(Ordering::Relaxed)
    );

    // Restarted, B returns to rotation after two passing probes, and takes requests again.
    let _b = OriginProcess::start(b_addr, "b");
    let healthy_again = format!("target {b_addr} is healthy (was unhealthy");
    assert!(
        wait_for_log(&lb, &[&healthy_again], Duration::from_secs(15)),
        "{}",
        lb.log_text()
    );
    let before = target_metric(&lb, "ringway_target_connects_total", b_addr);
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..20 {
        let r = Client::connect(lb.addr)
            .request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assert_eq!(r.status, 200);
    }
    std::thread::sleep(Duration::from_millis(1100));
    assert!(target_metric(&lb, "ringway_target_connects_total", b_addr) > before);
    assert_eq!(target_metric(&lb, "ringway_target_health", b_addr), 1);
}

#[test]
fn every_target_down_gives_502_or_521_at_once_every_time() {
    let targets = [free_addr(), free_addr()];
    for (style, status) in [("standard", 502), ("cloudflare", 521)] {
        for checks in [
            "enabled = false",
            "enabled = true\ninterval_seconds = 5\ntimeout_seconds = 2",
        ] {
            let attrs = format!("\"routing.http.upstream_error_style\" = \"{style}\"");
            let lb = Balancer::start("auto", &config(&targets, &attrs, checks));
            for _ in 0..20 {
                let start = Instant::now();
                let r = Client::connect(lb.addr)
                    .request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
                assert_eq!(r.status, status, "{checks}");
                assert_eq!(
                    r.header("x-ringway-error").as_deref(),
                    Some("connect-refused")
                );
                assert!(
                    start.elapsed() < Duration::from_millis(500),
                    "{:?}",
                    start.elapsed()
                );
            }
        }
    }
}

/// Set for the copy of this test binary that runs in a network namespace of its own.
const IN_EMPTY_NETNS: &str = "RINGWAY_TEST_IN_EMPTY_NETNS";
/// What that copy prints when its checks passed, so that a run which matched no test (or
/// skipped the checks) cannot pass for one that made them.
const CHECKED_IN_NETNS: &str = "ringway-test: unreachable target checked in an empty netns";

/// Puts the calling process in a new network namespace whose loopback is up and which has no
/// other interface: every address outside 127.0.0.0/8 and ::1 is unreachable there. Tries a
/// user namespace with it first (unprivileged), then a network namespace alone (root without
/// user namespaces). Runs between fork and exec, so it only makes system calls.
fn enter_empty_netns() -> std::io::Result<()> {
    let last_error = std::io::Error::last_os_error;
    // SAFETY: unshare takes flags only; the child is single-threaded between fork and exec,
    // which a new user namespace requires.
    let entered = unsafe {
        libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) == 0
            || libc::unshare(libc::CLONE_NEWNET) == 0
    };
    if !entered {
        return Err(last_error());
    }
    // SAFETY: a socket made here and closed below; ifreq is plain data, all zeroes valid, and
    // the ioctls read and write only that struct.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(last_error());
        }
        let mut ifr: libc::ifreq = std::mem::zeroed();
        ifr.ifr_name[0] = b'l' as libc::c_char;
        ifr.ifr_name[1] = b'o' as libc::c_char;
        let up = libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut ifr) == 0 && {
            ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &ifr) == 0
        };
        let error = last_error();
        libc::close(fd);
        if !up {
            return Err(error);
        }
    }
    Ok(())
}

/// DESIGN.md §5: a connect that fails with ENETUNREACH or EHOSTUNREACH answers 502 or 523 with
/// `X-Ringway-Error: unreachable`. No address is reliably unreachable on a machine with a
/// default route, so the test binary runs again in an empty network namespace (its own, made
/// for it, leaving the host's network alone) where only loopback exists: the client and the
/// balancer meet on 127.0.0.1 and the target, 192.0.2.1 (TEST-NET-1), has no route.
#[test]
fn an_unreachable_target_gives_502_or_523_at_once() {
    if std::env::var_os(IN_EMPTY_NETNS).is_some() {
        unreachable_target_in_empty_netns();
        println!("{CHECKED_IN_NETNS}");
        return;
    }
    let mut inner = Command::new(std::env::current_exe().unwrap());
    inner
        .args(["--exact", "an_unreachable_target_gives_502_or_523_at_once"])
        .args(["--nocapture", "--test-threads=1"])
        .env(IN_EMPTY_NETNS, "1");
    // SAFETY: enter_empty_netns only makes system calls, as pre_exec requires.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut inner, enter_empty_netns);
    }
    let output = match inner.output() {
        Ok(output) => output,
        Err(e) => {
            // The feature is not what failed: this machine cannot make the namespace. Written
            // to stderr itself, past the test harness's capture, so that the skip shows.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED an_unreachable_target_gives_502_or_523_at_once: cannot make a \
                 network namespace with loopback up (neither user+net nor net alone): {e}"
            );
            return;
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains(CHECKED_IN_NETNS),
        "in the namespace: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

fn unreachable_target_in_empty_netns() {
    let target: SocketAddr = "192.0.2.1:80".parse().unwrap();
    let probe = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2));
    assert_eq!(
        probe.map_err(|e| e.raw_os_error()).err(),
        Some(Some(libc::ENETUNREACH)),
        "an empty network namespace has no route to {target}"
    );
    for driver in ["uring", "epoll"] {
        for (style, status) in [("standard", 502), ("cloudflare", 523)] {
            for checks in [
                "enabled = false",
                "enabled = true\ninterval_seconds = 5\ntimeout_seconds = 2",
            ] {
                let attrs = format!("\"routing.http.upstream_error_style\" = \"{style}\"");
                let lb = Balancer::start(driver, &config(&[target], &attrs, checks));
                let mut client = lb.client();
                for _ in 0..3 {
                    let start = Instant::now();
                    let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                    let case = format!("{driver}, {style}, {checks:?}");
                    assert_eq!(r.status, status, "{case}");
                    assert_eq!(
                        r.header("x-ringway-error").as_deref(),
                        Some("unreachable"),
                        "{case}"
                    );
                    assert!(start.elapsed() < Duration::from_millis(500), "{case}");
                }
            }
        }
    }
}

#[test]
fn a_deregistered_target_finishes_its_requests_and_new_ones_go_elsewhere() {
    use common::{ok_response, Origin, Reply};
    // B answers /slow after 2 s; A answers at once.
    let b = Origin::start(|r| {
        if r.request_line().contains("/slow") {
            std::thread::sleep(Duration::from_secs(2));
        }
        Reply::Send(ok_response(b"b"))
    });
    let a = Origin::start(|_| Reply::Send(ok_response(b"a")));
    let lb = Balancer::start("auto", &config(&[b.addr], "", "enabled = false"));
    assert_eq!(
        Client::connect(lb.addr)
            .request("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .body_text(),
        "b"
    );
    // A request in flight on B...
    let slow = std::thread::spawn({
        let addr = lb.addr;
        move || Client::connect(addr).request("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    });
    std::thread::sleep(Duration::from_millis(300));
    // ...while A is registered and B deregistered.
    let a_text = a.addr.to_string();
    let b_text = b.addr.to_string();
    let out = lb.cli(&["targets", "register", "web", &a_text]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = lb.cli(&["targets", "deregister", "web", &b_text]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&lb.cli(&["targets", "list"]).stdout).into_owned();
    let b_line = listing.lines().find(|l| l.contains(&b_text)).unwrap_or("");
    assert!(b_line.contains("yes"), "B is draining: {listing}");
    std::thread::sleep(Duration::from_millis(200));
    // New requests go to A only.
    for _ in 0..10 {
        let r = Client::connect(lb.addr).request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(r.body_text(), "a");
    }
    // The one in flight on B completes.
    let r = slow.join().unwrap();
    assert_eq!((r.status, r.body_text().as_str()), (200, "b"));
    // Nothing left in flight: B leaves the group well before the 300 s delay.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let listing = String::from_utf8_lossy(&lb.cli(&["targets", "list"]).stdout).into_owned();
        if !listing.contains(&b_text) {
            break;
        }
        assert!(Instant::now() < deadline, "B is still listed: {listing}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(lb
        .log_text()
        .contains(&format!("target {b_text} deregistered")));
}

#[test]
fn target_changes_that_cannot_be_made_are_refused_with_a_reason() {
    let a = free_addr();
    let lb = Balancer::start("auto", &config(&[a], "", "enabled = false"));
    let a_text = a.to_string();
    for (args, status_word) in [
        (
            vec!["targets", "register", "web", a_text.as_str()],
            "already registered",
        ),
        (
            vec!["targets", "register", "nope", "127.0.0.1:1"],
            "no target group",
        ),
        (
            vec!["targets", "deregister", "web", "127.0.0.1:1"],
            "not registered",
        ),
        (vec!["targets", "list", "nope"], "no target group"),
        (
            vec![
                "targets",
                "register",
                "web",
                "127.0.0.1:2",
                "--weight",
                "1000",
            ],
            "0..=999",
        ),
    ] {
        let out = lb.cli(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(status_word), "{args:?}: {err}");
    }
    // The API's own answers: 409, 404, 400.
    for (request, status) in [
        (
            format!(
                "POST /target-groups/web/targets HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{{\"address\":\"{a_text}\"}}",
                a_text.len() + 14
            ),
            409,
        ),
        (
            "POST /target-groups/web/targets HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nnope"
                .to_string(),
            400,
        ),
        (
            "DELETE /target-groups/web/targets/not-an-address HTTP/1.1\r\nHost: a\r\n\r\n"
                .to_string(),
            400,
        ),
        (
            "DELETE /target-groups/none/targets/127.0.0.1:1 HTTP/1.1\r\nHost: a\r\n\r\n"
                .to_string(),
            404,
        ),
    ] {
        let r = Client::connect(lb.admin_addr()).request(&request);
        assert_eq!(r.status, status, "{request}: {}", r.body_text());
    }
}

#[test]
fn a_target_that_resets_the_connection_gives_502_or_520() {
    use std::io::Read;
    // Reads the request, then closes with SO_LINGER 0: the kernel sends a reset.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        }
    });
    for (style, status) in [("standard", 502), ("cloudflare", 520)] {
        let attrs = format!("\"routing.http.upstream_error_style\" = \"{style}\"");
        let lb = Balancer::start("auto", &config(&[addr], &attrs, "enabled = false"));
        // POST is not retried: the reset reaches the client as the invalid-response row.
        let r = Client::connect(lb.addr)
            .request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
        assert_eq!(r.status, status);
        assert_eq!(
            r.header("x-ringway-error").as_deref(),
            Some("invalid-response")
        );
    }
}

#[test]
fn a_target_registered_with_slow_start_starts_with_a_small_share() {
    use common::{ok_response, Origin, Reply};
    let a = Origin::start(|_| Reply::Send(ok_response(b"a")));
    let b = Origin::start(|_| Reply::Send(ok_response(b"b")));
    let share_of_b = |lb: &Balancer, n: usize| {
        let mut client = Client::connect(lb.addr);
        let got = (0..n)
            .filter(|_| {
                client
                    .request("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    .body_text()
                    == "b"
            })
            .count();
        got as f64 / n as f64
    };
    for (slow_start, low, high) in [(0, 0.4, 0.6), (30, 0.0, 0.15)] {
        let toml = config(&[a.addr], "", "enabled = false").replace(
            "targets = [",
            &format!("\"slow_start.duration_seconds\" = {slow_start}\ntargets = ["),
        );
        let lb = Balancer::start("auto", &toml);
        let out = lb.cli(&["targets", "register", "web", &b.addr.to_string()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(300));
        // In its first seconds of a 30 s ramp B takes a few percent; without slow start half.
        let share = share_of_b(&lb, 400);
        assert!(
            (low..=high).contains(&share),
            "slow start {slow_start}: B took {share}"
        );
    }
}

#[test]
fn a_get_that_a_target_drops_goes_to_the_next_target_and_a_post_does_not() {
    use common::{ok_response, Origin, Reply};
    // One target closes every connection without answering; the other answers.
    let dropper = Origin::start(|_| Reply::Hangup);
    let good = Origin::start(|_| Reply::Send(ok_response(b"good")));
    let lb = Balancer::start(
        "auto",
        &config(&[dropper.addr, good.addr], "", "enabled = false"),
    );
    for _ in 0..10 {
        let r = Client::connect(lb.addr)
            .request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        assert_eq!((r.status, r.body_text().as_str()), (200, "good"));
    }
    // The dropping target did get GETs (and passed them on), then was avoided.
    assert!(dropper.connection_count() > 0);
    // A POST is never sent twice: alone behind the balancer, the dropping target receives each
    // POST once and the client hears 502.
    let dropper_only = Origin::start(|_| Reply::Hangup);
    let lb = Balancer::start("auto", &config(&[dropper_only.addr], "", "enabled = false"));
    for _ in 0..3 {
        let r = Client::connect(lb.addr).request(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        );
        assert_eq!(r.status, 502);
    }
    assert_eq!(dropper_only.received().len(), 3);
}
