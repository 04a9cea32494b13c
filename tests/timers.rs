//! Connection lifetimes over real sockets (DESIGN.md §4): the idle timeout on clients and
//! targets, the client keep-alive duration, the header timeout against a thousand slow
//! clients, pooled connections closed on time, and a target whose keep-alive timeout is
//! shorter than ringway's pool never costing a client a 502.
//!
//! Two of these take the attribute minimums in real time (30 s and 60 s); libtest runs them in
//! parallel with the rest.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{closed_within, config, ok_response, Balancer, Client, Origin, Reply};

fn balancer(driver: &str, origin: SocketAddr, attributes: &str, group: &str) -> Balancer {
    Balancer::start(driver, &config(&[origin], attributes, group))
}

/// A close seen `waited` after the start of a wait is within `[from_ms, to_ms)`.
fn closed_between(waited: Duration, from_ms: u64, to_ms: u64) {
    assert!(
        (Duration::from_millis(from_ms)..Duration::from_millis(to_ms)).contains(&waited),
        "closed after {waited:?}"
    );
}

/// The descriptors the balancer process has open.
fn open_fds(lb: &Balancer) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", lb.pid()))
        .unwrap()
        .count()
}

/// A value of the admin API's /metrics.
fn metric(lb: &Balancer, name: &str) -> Option<u64> {
    let (_, body) = lb.admin_get("/metrics");
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn idle_client_connections_close_at_the_idle_timeout(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer(
        driver,
        origin.addr,
        "\"idle_timeout.timeout_seconds\" = 1",
        "",
    );
    // Never a byte.
    let mut silent = TcpStream::connect(lb.addr).unwrap();
    let start = Instant::now();
    assert!(closed_within(&mut silent, Duration::from_secs(5)));
    let waited = start.elapsed();
    closed_between(waited, 950, 3000);
    // After a response, the idle time counts from its last byte.
    let mut client = lb.client();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status,
        200
    );
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status,
        200
    );
    let start = Instant::now();
    assert!(closed_within(&mut client.stream, Duration::from_secs(5)));
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "{:?}",
        start.elapsed()
    );
}

fn a_new_connection_that_sends_nothing_closes_at_the_header_timeout(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer(
        driver,
        origin.addr,
        "\"client_header_timeout.seconds\" = 1",
        "",
    );
    // Never a byte: closed at the header timeout (the idle timeout is 60 s), with no answer.
    let mut silent = TcpStream::connect(lb.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    assert!(silent.read_to_end(&mut got).is_ok(), "closed, not reset");
    let waited = start.elapsed();
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    closed_between(waited, 950, 3000);
    // One that sends its request in time is served, and then idles past the header timeout
    // as any keep-alive connection.
    let mut client = lb.client();
    std::thread::sleep(Duration::from_millis(500));
    let get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(client.request(get).status, 200);
    std::thread::sleep(Duration::from_millis(2000));
    assert_eq!(client.request(get).status, 200);
}

fn a_connection_quiet_past_the_park_delay_is_still_served_and_still_times_out(driver: &str) {
    // After a second without a request a connection gives its read buffer back and waits for
    // readiness alone; it must still be served, and still close at the idle timeout.
    let origin = Origin::echo();
    let lb = balancer(
        driver,
        origin.addr,
        "\"idle_timeout.timeout_seconds\" = 3",
        "",
    );
    let mut client = lb.client();
    for pause in [1500, 2500, 1200] {
        std::thread::sleep(Duration::from_millis(pause));
        let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.status, 200, "after {pause} ms");
    }
    // A request split across the wake-up arrives whole.
    std::thread::sleep(Duration::from_millis(1500));
    client.send(b"GET /split HTTP/1.1\r\n");
    std::thread::sleep(Duration::from_millis(100));
    client.send(b"Host: a\r\n\r\n");
    assert_eq!(
        client.read_response(false).body_text(),
        "GET /split HTTP/1.1"
    );
    let start = Instant::now();
    assert!(closed_within(&mut client.stream, Duration::from_secs(6)));
    let waited = start.elapsed();
    closed_between(waited, 2900, 4500);
}

fn parked_keep_alive_connections_cost_little_memory(driver: &str) {
    // A connection quiet for a second gives back its read buffer and its serving task and
    // waits in a small task of its own. Each of 5,000 more such connections added 0.63-0.74
    // KiB of RSS when that came in (three runs, either driver), against 1.73-1.76 KiB when the
    // serving task itself waited (io_uring, two runs, the build before, 3e4a341, with
    // MIMALLOC_ALLOW_THP=0; with transparent huge pages on, as that build ran, more, in 2 MiB
    // steps).
    const FIRST: usize = 1000;
    const MORE: usize = 5000;
    ringway::worker::raise_open_files_limit();
    let origin = Origin::echo();
    let lb = balancer(driver, origin.addr, "", "");
    // Transparent huge pages are off for the process (alloc::no_huge_pages): with them, mimalloc's
    // arenas grow RSS in 2 MiB steps.
    let status = std::fs::read_to_string(format!("/proc/{}/status", lb.pid())).unwrap();
    assert!(
        status
            .lines()
            .any(|l| l.split_whitespace().eq(["THP_enabled:", "0"])),
        "THP_enabled is not 0 in /proc/PID/status"
    );
    let request = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let open = |n: usize| -> Vec<Client> {
        (0..n)
            .map(|_| {
                let mut c = lb.client();
                c.send(request);
                assert_eq!(c.read_response(false).status, 200);
                c
            })
            .collect()
    };
    // The first ones grow the allocator's pages, the slabs and the pool once; the cost of
    // an idle connection is what the next ones add. Each measurement waits past the park
    // delay and the once-a-second return of freed pages.
    let mut held = open(FIRST);
    std::thread::sleep(Duration::from_millis(2500));
    let before = lb.status_kib("VmRSS:");
    held.extend(open(MORE));
    std::thread::sleep(Duration::from_millis(2500));
    let after = lb.status_kib("VmRSS:");
    let per_conn = after.saturating_sub(before) as f64 / MORE as f64;
    assert!(
        per_conn <= 1.1,
        "{per_conn:.2} KiB per idle connection (RSS {before} -> {after} KiB)"
    );
    // Parked, they are all still served.
    for c in held.iter_mut().step_by(50) {
        c.send(request);
        assert_eq!(c.read_response(false).status, 200);
    }
}

fn a_body_slower_than_the_idle_timeout_is_cut_off(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer(
        driver,
        origin.addr,
        "\"idle_timeout.timeout_seconds\" = 1",
        "",
    );
    // A byte every 400 ms keeps a body alive: each one resets the idle timer.
    let mut steady = lb.client();
    steady.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
    for byte in b"abcde" {
        std::thread::sleep(Duration::from_millis(400));
        steady.send(&[*byte]);
    }
    assert_eq!(steady.read_response(false).status, 200);
    // A body that stops for longer than the idle timeout is cut off.
    let mut stalled = lb.client();
    stalled.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly ten b");
    let start = Instant::now();
    assert!(closed_within(&mut stalled.stream, Duration::from_secs(5)));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

fn a_client_that_stops_reading_is_closed_at_the_idle_timeout(driver: &str) {
    // 64 MiB does not fit in the socket buffers: ringway's writes to the client stall.
    let big = Arc::new(ok_response(&vec![b'x'; 64 << 20]));
    let origin = Origin::start(move |_| Reply::Send(big.to_vec()));
    let lb = balancer(
        driver,
        origin.addr,
        "\"idle_timeout.timeout_seconds\" = 1",
        "",
    );
    let mut client = lb.client();
    client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    // Never read. Within a few seconds ringway gives the connection up (the gauge is
    // published once a second).
    let deadline = Instant::now() + Duration::from_secs(8);
    let mut active = None;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        active = metric(&lb, "ringway_active_connections");
        if active == Some(0) {
            break;
        }
    }
    assert_eq!(active, Some(0), "the stalled connection is still open");
    drop(client);
}

fn pooled_target_connections_close_at_the_pool_idle_timeout(driver: &str) {
    // An origin that notes when ringway closes each connection it accepted.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let closed_after: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let record = Arc::clone(&closed_after);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(4) {
            let Ok(mut stream) = stream else { continue };
            let record = Arc::clone(&record);
            std::thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let mut buf = [0u8; 4096];
                let Ok(n @ 1..) = stream.read(&mut buf) else {
                    return;
                };
                assert!(buf[..n].ends_with(b"\r\n\r\n"));
                stream.write_all(&ok_response(b"pooled")).unwrap();
                let answered = Instant::now();
                if let Ok(0) = stream.read(&mut buf) {
                    record.lock().unwrap().push(answered.elapsed());
                }
            });
        }
    });
    let lb = balancer(driver, addr, "", "\"pool.idle_timeout_seconds\" = 1");
    let mut client = lb.client();
    assert_eq!(
        client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status,
        200
    );
    // No further request: the pooled connection must be closed by ringway on its own.
    let deadline = Instant::now() + Duration::from_secs(5);
    while closed_after.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let closed = closed_after.lock().unwrap().clone();
    assert_eq!(closed.len(), 1, "the pooled connection was not closed");
    assert!(closed[0] >= Duration::from_millis(950), "{closed:?}");
    assert!(closed[0] < Duration::from_millis(2500), "{closed:?}");
}

/// An origin with a 1 s keep-alive timeout: a connection that carries no request for a second
/// is closed, without a word, as many servers do. Counts the connections it accepted.
fn short_keep_alive_origin() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || {
                stream
                    .set_read_timeout(Some(Duration::from_secs(1)))
                    .unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    match stream.read(&mut chunk) {
                        Ok(n @ 1..) => buf.extend_from_slice(&chunk[..n]),
                        _ => return, // closed, or a second without a byte
                    }
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if stream.write_all(&ok_response(b"short")).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, accepted)
}

fn a_target_closing_idle_connections_after_a_second_never_costs_a_502(driver: &str) {
    let (addr, accepted) = short_keep_alive_origin();
    // ringway's pool keeps connections for 4 s (the default), longer than the target does:
    // every reuse after a pause races the target's close, and must not reach the client.
    let lb = balancer(driver, addr, "", "");
    let mut client = lb.client();
    let start = Instant::now();
    let mut statuses = Vec::new();
    while start.elapsed() < Duration::from_secs(30) {
        let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        statuses.push(r.status);
        // A request a second on average; every other pause outlasts the target's timeout,
        // so about half of the reuses meet a connection the target has just closed.
        let pause = if statuses.len() % 2 == 0 { 900 } else { 1100 };
        std::thread::sleep(Duration::from_millis(pause));
    }
    let failed: Vec<_> = statuses.iter().filter(|&&s| s != 200).collect();
    assert!(
        failed.is_empty(),
        "{failed:?} of {} requests",
        statuses.len()
    );
    assert!(statuses.len() >= 25);
    // The target did close its idle connections under ringway, again and again.
    assert!(
        accepted.load(Ordering::SeqCst) > statuses.len() / 4,
        "{} connections for {} requests",
        accepted.load(Ordering::SeqCst),
        statuses.len()
    );
}

fn the_keep_alive_duration_ends_with_connection_close(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer(
        driver,
        origin.addr,
        "\"client_keep_alive.seconds\" = 120\n\"idle_timeout.timeout_seconds\" = 30",
        "",
    );
    let get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    // Opened with a 120 s duration, which it keeps when the attribute changes to 60 s...
    let mut older = lb.client();
    assert_eq!(older.request(get).status, 200);
    let mut admin = Client::connect(lb.admin_addr());
    let body = "{\"client_keep_alive.seconds\": 60}";
    let r = admin.request(&format!(
        "PATCH /attributes HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    assert_eq!(r.status, 200, "{}", r.body_text());
    std::thread::sleep(Duration::from_millis(300));
    // ...and this one, opened after the change, gets 60 s.
    let mut client = lb.client();
    let start = Instant::now();
    // Every 10 s within the duration: kept alive, no Connection header.
    while start.elapsed() < Duration::from_secs(55) {
        for c in [&mut client, &mut older] {
            let r = c.request(get);
            assert_eq!(r.status, 200);
            assert_eq!(r.header("connection"), None, "at {:?}", start.elapsed());
        }
        std::thread::sleep(Duration::from_secs(10).min(
            Duration::from_secs(55).saturating_sub(start.elapsed()) + Duration::from_millis(100),
        ));
    }
    std::thread::sleep(Duration::from_secs(61).saturating_sub(start.elapsed()));
    // The first request after it is still served, and its response closes the connection.
    let r = client.request(get);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert!(client.is_closed_by_peer());
    // The older connection still has its 120 s.
    let r = older.request(get);
    assert_eq!(r.header("connection"), None);
    // A connection opened now has a duration of its own.
    let mut fresh = lb.client();
    let r = fresh.request(get);
    assert_eq!(r.header("connection"), None);
}

fn a_thousand_slow_clients_get_408_and_do_not_stop_others(driver: &str) {
    const SLOW: usize = 1000;
    let origin = Origin::echo();
    let lb = balancer(
        driver,
        origin.addr,
        "\"client_header_timeout.seconds\" = 3",
        "",
    );
    // Warm up: the worker's pool, buffers and the admin thread exist before the baseline.
    assert_eq!(
        lb.client()
            .request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            .status,
        200
    );
    std::thread::sleep(Duration::from_millis(300));
    let baseline = open_fds(&lb);

    let request = b"GET /slow HTTP/1.1\r\nHost: a\r\nX-Pad: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut slow: Vec<TcpStream> = (0..SLOW)
        .map(|_| TcpStream::connect(lb.addr).unwrap())
        .collect();
    let opened = Instant::now();
    for s in &slow {
        s.set_nonblocking(true).unwrap();
    }
    let mut answered: Vec<Option<(Duration, Vec<u8>)>> = vec![None; SLOW];
    let mut fast_latencies = Vec::new();
    let mut sent = 0;
    // One byte a second on every slow connection; a normal client every 200 ms meanwhile.
    while opened.elapsed() < Duration::from_secs(7) && answered.iter().any(Option::is_none) {
        if opened.elapsed() >= Duration::from_secs(sent as u64) && sent < request.len() {
            for s in &mut slow {
                let _ = s.write(&request[sent..sent + 1]);
            }
            sent += 1;
        }
        let t = Instant::now();
        let r = Client::connect(lb.addr).request("GET /fast HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.status, 200);
        fast_latencies.push(t.elapsed());
        for (i, s) in slow.iter_mut().enumerate() {
            let mut buf = [0u8; 512];
            if answered[i].is_none() {
                if let Ok(n @ 1..) = s.read(&mut buf) {
                    answered[i] = Some((opened.elapsed(), buf[..n].to_vec()));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let missing = answered.iter().filter(|a| a.is_none()).count();
    assert_eq!(missing, 0, "{missing} slow clients got no answer in 7 s");
    for (at, bytes) in answered.iter().flatten() {
        assert!(
            bytes.starts_with(b"HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(bytes)
        );
        // The header timeout counts from the first byte, sent at once: 3 s, plus one tick of
        // this loop and scheduling.
        assert!(*at >= Duration::from_millis(2900), "408 after {at:?}");
        assert!(*at < Duration::from_millis(4500), "408 after {at:?}");
    }
    let worst = fast_latencies.iter().max().unwrap();
    assert!(
        *worst < Duration::from_millis(500),
        "a normal request took {worst:?}"
    );
    assert!(origin
        .received()
        .iter()
        .all(|r| !r.request_line().contains("/slow")));
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(5);
    while open_fds(&lb) > baseline && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        open_fds(&lb),
        baseline,
        "descriptors did not return to the baseline"
    );
}

on_both_drivers!(
    idle_client_connections_close_at_the_idle_timeout,
    a_new_connection_that_sends_nothing_closes_at_the_header_timeout,
    a_connection_quiet_past_the_park_delay_is_still_served_and_still_times_out,
    a_body_slower_than_the_idle_timeout_is_cut_off,
    a_client_that_stops_reading_is_closed_at_the_idle_timeout,
    pooled_target_connections_close_at_the_pool_idle_timeout,
    a_thousand_slow_clients_get_408_and_do_not_stop_others,
);

// One driver after the other: 6,000 client sockets each, within the open-files limit.
#[test]
fn parked_keep_alive_connections_cost_little_memory_on_both_drivers() {
    parked_keep_alive_connections_cost_little_memory("uring");
    parked_keep_alive_connections_cost_little_memory("epoll");
}

// The two that take the attribute minimums in real time run on io_uring only: the timers
// they exercise are the same code on either driver, and the epoll side is covered above.
#[test]
fn uring_a_target_closing_idle_connections_after_a_second_never_costs_a_502() {
    a_target_closing_idle_connections_after_a_second_never_costs_a_502("uring");
}

#[test]
fn uring_the_keep_alive_duration_ends_with_connection_close() {
    the_keep_alive_duration_ends_with_connection_close("uring");
}
