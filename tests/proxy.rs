//! End-to-end: the real balancer on 127.0.0.1 between a raw-bytes client and real origins.
//! Every test runs once on io_uring and once on epoll.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use common::*;

fn balancer_over(driver: &str, origins: &[&Origin]) -> Balancer {
    let targets: Vec<SocketAddr> = origins.iter().map(|o| o.addr).collect();
    Balancer::start(driver, &config(&targets, "", ""))
}

/// An address on loopback where nothing listens: connecting to it is refused.
fn refused_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn keep_alive_reuses_client_and_target_connections(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    for i in 0..20 {
        let r = client.request(&format!("GET /n/{i} HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert_eq!(r.status, 200);
        assert_eq!(r.body_text(), format!("GET /n/{i} HTTP/1.1"));
        assert_eq!(
            r.header("connection"),
            None,
            "HTTP/1.1 keep-alive needs no header"
        );
    }
    // Twenty requests on one client connection went over one target connection.
    assert_eq!(origin.connection_count(), 1);
    assert_eq!(origin.received().len(), 20);
    // A second client reuses the pooled target connection too.
    let mut other = lb.client();
    assert_eq!(
        other.request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n").status,
        200
    );
    assert_eq!(origin.connection_count(), 1);
}

fn pipelined_requests_are_answered_in_order(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    let mut batch = String::new();
    for i in 0..5 {
        batch.push_str(&format!("GET /p/{i} HTTP/1.1\r\nHost: a\r\n\r\n"));
    }
    batch.push_str("POST /p/5 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    batch.push_str("GET /p/6 HTTP/1.1\r\nHost: a\r\n\r\n");
    client.send(batch.as_bytes());
    for i in 0..5 {
        assert_eq!(
            client.read_response(false).body_text(),
            format!("GET /p/{i} HTTP/1.1")
        );
    }
    assert_eq!(
        client.read_response(false).body_text(),
        "POST /p/5 HTTP/1.1"
    );
    assert_eq!(client.read_response(false).body_text(), "GET /p/6 HTTP/1.1");
    assert_eq!(origin.received()[5].body, b"abc");
}

fn post_with_content_length_reaches_the_target_intact(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    // Head and body in separate writes, so the body arrives after the head was forwarded.
    client.send(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n");
    std::thread::sleep(Duration::from_millis(50));
    client.send(b"hello world");
    assert_eq!(client.read_response(false).status, 200);
    let got = &origin.received()[0];
    assert_eq!(got.body, b"hello world");
    assert_eq!(got.header("content-length").as_deref(), Some("11"));
}

fn an_early_answer_to_a_body_reaches_the_client(driver: &str) {
    // The target refuses a large upload after its head (413) and closes without reading the
    // body, as servers with a body limit do; the client must see the 413, not a 502.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(1) {
            let mut stream = stream.unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let _ = stream.write_all(
                b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big\n",
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let lb = Balancer::start(driver, &config(&[target], "", ""));
    let mut client = lb.client();
    client.send(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 20000000\r\n\r\n");
    let mut writer = client.stream.try_clone().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..300 {
            if writer.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let r = client.read_response(false);
    assert_eq!(r.status, 413, "{}", r.body_text());
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    drop(client);
    let _ = feeder.join();
}

fn transfer_codings_before_chunked_reach_the_target_with_the_body(driver: &str) {
    // The body is gzip-coded, then chunked: the target must be told both to read it.
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    let r = client.request(
        "POST /z HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding:  chunked \r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let got = &origin.received()[0];
    assert_eq!(got.header_count("transfer-encoding"), 1);
    assert_eq!(
        got.header("transfer-encoding").as_deref(),
        Some("gzip, chunked")
    );
    assert_eq!(got.body, b"abc");
}

fn post_with_chunked_body_is_forwarded_chunked(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    client.send(b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    std::thread::sleep(Duration::from_millis(50));
    client.send(b"6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    assert_eq!(client.read_response(false).status, 200);
    let got = &origin.received()[0];
    assert_eq!(got.body, b"hello world");
    assert_eq!(got.header("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(got.header_count("content-length"), 0);
    // The connection still serves the next request.
    assert_eq!(
        client
            .request("GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
            .status,
        200
    );
}

fn content_length_beside_chunked_is_dropped_before_the_target(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    let r = client.request(
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let got = &origin.received()[0];
    assert_eq!(got.header_count("content-length"), 0);
    assert_eq!(got.body, b"abc");
}

fn chunked_response_is_relayed_and_the_connection_kept(driver: &str) {
    let origin = Origin::start(|_| {
        Reply::Send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nring\r\n3\r\nway\r\n0\r\n\r\n".to_vec())
    });
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    for _ in 0..3 {
        let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.body_text(), "ringway");
        assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
    }
    assert_eq!(origin.connection_count(), 1);
}

fn close_delimited_response_closes_the_client_connection(driver: &str) {
    let origin =
        Origin::start(|_| Reply::SendClose(b"HTTP/1.1 200 OK\r\n\r\nuntil the end".to_vec()));
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.body_text(), "until the end");
    assert_eq!(r.header("connection").as_deref(), Some("close"));
}

fn ten_mib_bodies_flow_both_ways_in_bounded_memory(driver: &str) {
    const SIZE: usize = 10 * 1024 * 1024;
    let origin = Origin::start(|r| {
        // Answer with as many bytes as were uploaded.
        let body: Vec<u8> = (0..r.body.len()).map(|i| (i % 251) as u8).collect();
        Reply::Send(ok_response(&body))
    });
    let lb = balancer_over(driver, &[&origin]);
    let baseline = lb.status_kib("VmRSS:");
    let mut client = lb.client();
    let upload: Vec<u8> = (0..SIZE).map(|i| (i % 253) as u8).collect();
    client.send(
        format!("POST /big HTTP/1.1\r\nHost: a\r\nContent-Length: {SIZE}\r\n\r\n").as_bytes(),
    );
    client.send(&upload);
    let r = client.read_response(false);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), SIZE);
    assert!(
        r.body
            .iter()
            .enumerate()
            .all(|(i, &b)| b == (i % 251) as u8),
        "download intact"
    );
    assert_eq!(origin.received()[0].body, upload, "upload intact");
    // Neither body was buffered whole: the peak grew by far less than one body.
    let peak = lb.status_kib("VmHWM:");
    assert!(
        peak < baseline + 4 * 1024,
        "peak RSS {peak} KiB vs baseline {baseline} KiB"
    );
}

fn head_204_and_304_responses_have_no_body(driver: &str) {
    let origin = Origin::start(|r| {
        let path = r
            .request_line()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string();
        Reply::Send(match path.as_str() {
            "/204" => b"HTTP/1.1 204 No Content\r\n\r\n".to_vec(),
            "/304" => b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n".to_vec(),
            _ => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n".to_vec(),
        })
    });
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    let head = client.request("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length").as_deref(),
        Some("5"),
        "HEAD keeps the GET length"
    );
    assert_eq!(
        client
            .request("GET /204 HTTP/1.1\r\nHost: a\r\n\r\n")
            .status,
        204
    );
    let not_modified = client.request("GET /304 HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("etag").as_deref(), Some("\"x\""));
    // Had a body byte leaked from any of them, this request would read garbage.
    assert_eq!(
        client.request("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").status,
        200
    );
    assert_eq!(origin.connection_count(), 1);
}

fn expect_100_continue_gets_an_interim_response_before_the_body(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    client.send(b"PUT /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    let interim = client.read_response(false);
    assert_eq!(interim.status, 100);
    client.send(b"data");
    let r = client.read_response(false);
    assert_eq!(r.status, 200);
    let got = &origin.received()[0];
    assert_eq!(got.body, b"data");
    assert_eq!(
        got.header("expect"),
        None,
        "ringway answered the expectation itself"
    );
}

fn upgrade_is_tunnelled_only_after_101(driver: &str) {
    let origin = Origin::start(|r| {
        if r.request_line().contains("/ws") {
            Reply::Upgrade(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec(),
            )
        } else {
            Reply::Send(ok_response(b"no upgrade"))
        }
    });
    let lb = balancer_over(driver, &[&origin]);

    // The target declines: a normal response, no tunnel, the connection stays HTTP.
    let mut client = lb.client();
    let upgrade = "Host: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
    let declined = client.request(&format!("GET /plain HTTP/1.1\r\n{upgrade}"));
    assert_eq!(declined.status, 200);
    assert_eq!(declined.body_text(), "no upgrade");
    assert_eq!(
        client
            .request("GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
            .status,
        200
    );

    // The target switches: bytes now flow both ways unchanged.
    let mut ws = lb.client();
    let switched = ws.request(&format!("GET /ws HTTP/1.1\r\n{upgrade}"));
    assert_eq!(switched.status, 101);
    assert_eq!(switched.header("upgrade").as_deref(), Some("websocket"));
    assert_eq!(switched.header("connection").as_deref(), Some("upgrade"));
    let received = origin.received();
    let got = received
        .iter()
        .find(|r| r.request_line().starts_with("GET /ws"))
        .unwrap();
    assert_eq!(got.header("upgrade").as_deref(), Some("websocket"));
    assert_eq!(got.header("connection").as_deref(), Some("upgrade"));
    ws.send(b"\x81\x05hello");
    assert_eq!(ws.read_exact_bytes(7), b"\x81\x05hello");
    ws.send(b"second frame");
    assert_eq!(ws.read_exact_bytes(12), b"second frame");
}

fn over_limit_heads_get_414_and_431_and_close(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let long_target = format!("/{}", "a".repeat(16 * 1024));
    let cases = [
        (
            format!("GET {long_target} HTTP/1.1\r\nHost: a\r\n\r\n"),
            414,
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: a\r\nX-Long: {}\r\n\r\n",
                "b".repeat(16 * 1024)
            ),
            431,
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
                "X-Many: 1\r\n".repeat(100)
            ),
            431,
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
                format!("X-Big: {}\r\n", "c".repeat(8000)).repeat(9)
            ),
            431,
        ),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n".to_string(), 505),
        (
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n".to_string(),
            400,
        ),
        ("GARBAGE\r\n\r\n".to_string(), 400),
    ];
    for (request, status) in cases {
        let mut client = lb.client();
        let r = client.request(&request);
        assert_eq!(r.status, status, "{}", &request[..40.min(request.len())]);
        assert_eq!(r.header("connection").as_deref(), Some("close"));
        assert!(r.header("x-ringway-error").is_some());
        assert!(client.is_closed_by_peer());
    }
    assert!(
        origin.received().is_empty(),
        "the target never saw a rejected request"
    );
    // Other connections never notice.
    assert_eq!(
        lb.client()
            .request("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .status,
        200
    );
}

fn listener_rules_route_by_host_and_path(driver: &str) {
    let web = Origin::start(|_| Reply::Send(ok_response(b"web")));
    let api = Origin::start(|_| Reply::Send(ok_response(b"api")));
    let img = Origin::start(|_| Reply::Send(ok_response(b"img")));
    let config = format!(
        r#"[load_balancer]
workers = 1
[[listeners]]
address = "127.0.0.1"
port = 0
default_target_group = "web"
[[listeners.rules]]
priority = 20
path = ["/img/*"]
target_group = "img"
[[listeners.rules]]
priority = 10
host = ["api.example.com", "*.api.example.com"]
target_group = "api"
[[target_groups]]
name = "web"
targets = ["{}"]
[[target_groups]]
name = "api"
targets = ["{}"]
[[target_groups]]
name = "img"
targets = ["{}"]
"#,
        web.addr, api.addr, img.addr
    );
    let lb = Balancer::start(driver, &config);
    let mut client = lb.client();
    let cases = [
        ("www.example.com", "/", "web"),
        ("api.example.com", "/v1", "api"),
        ("API.Example.com:8080", "/v1", "api"),
        ("eu.api.example.com", "/img/a.png", "api"),
        ("www.example.com", "/img/a.png?x=1", "img"),
        ("www.example.com", "/IMG/a.png", "web"),
    ];
    for (host, path, want) in cases {
        let r = client.request(&format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n"));
        assert_eq!(r.body_text(), want, "{host}{path}");
    }
}

fn all_targets_refusing_gives_502_or_521(driver: &str) {
    let targets = [refused_addr(), refused_addr()];
    for (style, status) in [("standard", 502), ("cloudflare", 521)] {
        let attrs = format!("\"routing.http.upstream_error_style\" = \"{style}\"");
        let lb = Balancer::start(driver, &config(&targets, &attrs, ""));
        let mut client = lb.client();
        let started = Instant::now();
        let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.status, status);
        assert_eq!(
            r.header("x-ringway-error").as_deref(),
            Some("connect-refused")
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "refusals fail fast"
        );
        // A GET without body keeps the connection usable.
        assert_eq!(
            client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status,
            status
        );
    }
}

fn a_refusing_target_is_skipped_for_the_next(driver: &str) {
    let origin = Origin::echo();
    let targets = [refused_addr(), origin.addr];
    let lb = Balancer::start(driver, &config(&targets, "", ""));
    let mut client = lb.client();
    for _ in 0..6 {
        assert_eq!(
            client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status,
            200
        );
    }
}

/// A listener whose accept queue is full and never drained: the kernel drops further SYNs, so a
/// connect to it hangs like one to a host that drops packets.
fn blackhole_addr() -> (socket2::Socket, Vec<std::net::TcpStream>, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // Fill the queue (backlog 0 still admits one), and check that a further connect now hangs.
    let mut fillers = Vec::new();
    for _ in 0..4 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => fillers.push(s),
            Err(_) => return (socket, fillers, addr),
        }
    }
    panic!("the accept queue of {addr} never filled");
}

fn a_connect_that_times_out_gives_504_or_522(driver: &str) {
    let (_listener, _fillers, addr) = blackhole_addr();
    let runs: Vec<_> = [("standard", 504), ("cloudflare", 522)]
        .into_iter()
        .map(|(style, status)| {
            let driver = driver.to_string();
            std::thread::spawn(move || {
                let attrs = format!("\"routing.http.upstream_error_style\" = \"{style}\"");
                let lb = Balancer::start(&driver, &config(&[addr], &attrs, ""));
                let started = Instant::now();
                let mut client = lb.client();
                // Longer than the 10 s connect timeout it waits for.
                client
                    .stream
                    .set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                (r, started.elapsed(), status)
            })
        })
        .collect();
    for run in runs {
        let (r, waited, status) = run.join().unwrap();
        assert_eq!(r.status, status);
        assert_eq!(
            r.header("x-ringway-error").as_deref(),
            Some("connect-timeout")
        );
        // DESIGN.md section 4: the connect timeout is 10 s.
        assert!(
            waited >= Duration::from_secs(9) && waited < Duration::from_secs(13),
            "{waited:?}"
        );
    }
}

fn invalid_or_empty_response_gives_502_or_520(driver: &str) {
    let garbage = Origin::start(|_| Reply::SendClose(b"NOT HTTP AT ALL\r\n\r\n".to_vec()));
    let hangup = Origin::start(|_| Reply::Hangup);
    for origin in [&garbage, &hangup] {
        for (style, status) in [("standard", 502), ("cloudflare", 520)] {
            let attrs = format!("\"routing.http.upstream_error_style\" = \"{style}\"");
            let lb = Balancer::start(driver, &config(&[origin.addr], &attrs, ""));
            let r = lb.client().request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
            assert_eq!(r.status, status);
            assert_eq!(
                r.header("x-ringway-error").as_deref(),
                Some("invalid-response")
            );
        }
    }
}

fn a_head_trickling_in_gets_408_at_the_header_timeout(driver: &str) {
    // Slowloris: one byte every 300 ms keeps every read short, but the whole head must arrive
    // within client_header_timeout (1 s here) of its first bytes.
    let origin = Origin::echo();
    let lb = Balancer::start(
        driver,
        &config(&[origin.addr], "\"client_header_timeout.seconds\" = 1", ""),
    );
    let mut slow = lb.client();
    let mut writer = slow.stream.try_clone().unwrap();
    let started = Instant::now();
    writer.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    // The answer is read on its own thread as soon as it comes, so a trickled byte that
    // arrives after the balancer closed cannot reset the connection before it is read.
    let reader = std::thread::spawn(move || {
        let status = slow.try_read_response(false).map(|r| r.status);
        (status, started.elapsed(), slow.is_closed_by_peer())
    });
    for byte in b"Host: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa" {
        std::thread::sleep(Duration::from_millis(300));
        if reader.is_finished() || writer.write_all(&[*byte]).is_err() {
            break;
        }
    }
    let (status, elapsed, closed) = reader.join().unwrap();
    assert_eq!(status, Some(408), "after {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    assert!(closed);
    // A normal client is served meanwhile and after.
    assert_eq!(
        lb.client()
            .request("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            .status,
        200
    );
    assert!(origin.received().iter().all(|r| !r.head.contains("X-Slow")));
}

fn silent_target_gives_504_or_524_after_the_idle_timeout(driver: &str) {
    let origin = Origin::start(|_| Reply::Silent);
    for (style, status) in [("standard", 504), ("cloudflare", 524)] {
        let attrs =
            format!("\"idle_timeout.timeout_seconds\" = 1\n\"routing.http.upstream_error_style\" = \"{style}\"");
        let lb = Balancer::start(driver, &config(&[origin.addr], &attrs, ""));
        let started = Instant::now();
        let r = lb.client().request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.status, status);
        assert_eq!(
            r.header("x-ringway-error").as_deref(),
            Some("response-timeout")
        );
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
            "{waited:?}"
        );
    }
}

fn empty_target_group_gives_503(driver: &str) {
    let lb = Balancer::start(driver, &config(&[], "", ""));
    let mut client = lb.client();
    let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("x-ringway-error").as_deref(), Some("no-target"));
}

fn http10_clients_keep_alive_only_when_asked(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut plain = lb.client();
    let r = plain.request("GET /a HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert!(plain.is_closed_by_peer());

    let mut kept = lb.client();
    for _ in 0..3 {
        let r = kept.request("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection").as_deref(), Some("keep-alive"));
    }
    assert_eq!(origin.received()[0].request_line(), "GET /a HTTP/1.0");
}

/// Sends `request` on a new connection and reads until the balancer closes it: the head and
/// every byte after it.
fn exchange_to_eof(lb: &Balancer, request: &[u8]) -> (String, Vec<u8>) {
    let mut client = lb.client();
    client.send(request);
    let mut raw = Vec::new();
    client
        .stream
        .read_to_end(&mut raw)
        .expect("the balancer closes");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head")
        + 4;
    let body = raw.split_off(end);
    (String::from_utf8(raw).unwrap(), body)
}

/// Answers a path `/N/A,B,...` with an N-byte body in chunks of A, B, ... bytes (cycled), with
/// an extension on some chunks and a trailer; a HEAD gets the head alone.
fn chunked_origin() -> Origin {
    Origin::start(|r| {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Kept: k\r\n\r\n";
        if r.request_line().starts_with("HEAD ") {
            return Reply::Send(head.to_vec());
        }
        let path = r.request_line().split_whitespace().nth(1).unwrap();
        let (len, sizes) = path[1..].split_once('/').unwrap();
        let sizes: Vec<usize> = sizes.split(',').map(|s| s.parse().unwrap()).collect();
        let mut out = head.to_vec();
        let mut at = 0;
        for (i, &size) in sizes.iter().cycle().enumerate() {
            let len: usize = len.parse().unwrap();
            if at == len {
                break;
            }
            let size = size.min(len - at);
            let ext = if i % 2 == 1 { ";ext=\"v\"" } else { "" };
            out.extend_from_slice(format!("{size:X}{ext}\r\n").as_bytes());
            out.extend((at..at + size).map(|i| (i % 251) as u8));
            out.extend_from_slice(b"\r\n");
            at += size;
        }
        out.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
        Reply::Send(out)
    })
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn http10_clients_get_a_chunked_response_as_its_data_to_the_close(driver: &str) {
    // RFC 9112 §6.1: no chunked coding to an HTTP/1.0 client, with or without keep-alive.
    let origin = chunked_origin();
    let lb = balancer_over(driver, &[&origin]);
    for request in [
        "GET /7/4,3 HTTP/1.0\r\n\r\n",
        "GET /7/4,3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ] {
        let (head, body) = exchange_to_eof(&lb, request.as_bytes());
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert_eq!(
            body,
            pattern(7),
            "{request:?}: the chunk data alone, then EOF"
        );
        assert_eq!(header_in(&head, "transfer-encoding"), None, "{head}");
        assert_eq!(header_in(&head, "content-length"), None, "{head}");
        assert_eq!(header_in(&head, "connection").as_deref(), Some("close"));
        assert_eq!(header_in(&head, "x-kept").as_deref(), Some("k"));
        assert_eq!(header_in(&head, "x-trailer"), None);
    }
    // An HTTP/1.1 client of the same balancer still gets chunked, and keeps its connection.
    let mut client = lb.client();
    for _ in 0..2 {
        let r = client.request("GET /7/4,3 HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.body, pattern(7));
        assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
        assert_eq!(r.header("connection"), None);
    }
    // A HEAD has no body to decode: an HTTP/1.0 client keeps its connection and the headers.
    let mut kept = lb.client();
    for _ in 0..2 {
        let r = kept.request("HEAD /0/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("connection").as_deref(), Some("keep-alive"));
        assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
    }
    // Each chunked body ended cleanly, so one target connection carried every request.
    assert_eq!(origin.connection_count(), 1);
}

fn a_megabyte_in_many_chunks_reaches_an_http10_client_intact(driver: &str) {
    const SIZE: usize = 1 << 20;
    let origin = chunked_origin();
    let lb = balancer_over(driver, &[&origin]);
    let request = format!("GET /{SIZE}/1,2,100,4093,65536,70001,3 HTTP/1.0\r\n\r\n");
    let (head, body) = exchange_to_eof(&lb, request.as_bytes());
    assert_eq!(header_in(&head, "transfer-encoding"), None, "{head}");
    assert_eq!(body.len(), SIZE);
    assert!(
        body == pattern(SIZE),
        "the entity bytes, intact and in order"
    );
}

fn hop_by_hop_headers_are_not_forwarded(driver: &str) {
    let origin = Origin::start(|_| {
        Reply::Send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\nConnection: X-Secret\r\nX-Secret: s\r\nX-Kept: k\r\n\r\nok".to_vec())
    });
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    let r = client.request(
        "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Private\r\nX-Private: p\r\nTE: trailers\r\nX-Other: o\r\n\r\n",
    );
    let got = &origin.received()[0];
    for gone in ["connection", "x-private", "te"] {
        assert_eq!(got.header(gone), None, "{gone} reached the target");
    }
    assert_eq!(got.header("x-other").as_deref(), Some("o"));
    assert_eq!(r.header("keep-alive"), None);
    assert_eq!(r.header("x-secret"), None);
    assert_eq!(r.header("x-kept").as_deref(), Some("k"));
}

fn a_plain_response_head_reaches_the_client_as_the_target_wrote_it(driver: &str) {
    // Nothing in it to rewrite: no re-encoding, so its spelling and spacing survive.
    const HEAD: &str = "HTTP/1.1 200 Fine\r\nx-first:a\r\ncontent-length:  2\r\nX-Last: z";
    let origin = Origin::start(|_| Reply::Send(format!("{HEAD}\r\n\r\nok").into_bytes()));
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    for _ in 0..2 {
        let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.head.trim_end(), HEAD);
        assert_eq!(r.body, b"ok");
    }
    // An HTTP/1.0 client gets its head rewritten (keep-alive said), so nothing is passed as is.
    let r = client.request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        r.header("connection").as_deref(),
        Some("keep-alive"),
        "{}",
        r.head
    );
    assert_eq!(
        r.header("content-length").as_deref(),
        Some("2"),
        "{}",
        r.head
    );
}

fn a_pooled_connection_closed_by_the_target_is_replaced_without_an_error(driver: &str) {
    // The target answers and then closes without saying so: the pooled connection is dead.
    let origin = Origin::start(|_| Reply::SendClose(ok_response(b"once")));
    let lb = balancer_over(driver, &[&origin]);
    let mut client = lb.client();
    for _ in 0..5 {
        let r = client.request("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.status, 200, "{}", r.body_text());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn the_startup_log_names_the_driver(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    // On io_uring the line names the ring setup too: SINGLE_ISSUER|DEFER_TASKRUN, which this
    // host's kernel (Linux >= 6.1) accepts, before COOP_TASKRUN|TASKRUN_FLAG.
    let log = lb.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("worker 0:"))
        .unwrap_or_else(|| panic!("no worker line in {log}"));
    if driver == "uring" {
        assert!(line.contains("io_uring on cpu"), "{log}");
        assert!(line.ends_with(" (SINGLE_ISSUER|DEFER_TASKRUN)"), "{log}");
    } else {
        assert!(line.contains("epoll on cpu"), "{log}");
        assert!(!line.contains('('), "{log}");
    }
}

fn client_closing_mid_body_leaves_other_connections_alone(driver: &str) {
    let origin = Origin::echo();
    let lb = balancer_over(driver, &[&origin]);
    let mut quitter = lb.client();
    quitter.send(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly part");
    drop(quitter);
    let mut raw = std::net::TcpStream::connect(lb.addr).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    raw.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut first = [0u8; 12];
    raw.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
}

on_both_drivers!(
    keep_alive_reuses_client_and_target_connections,
    pipelined_requests_are_answered_in_order,
    post_with_content_length_reaches_the_target_intact,
    post_with_chunked_body_is_forwarded_chunked,
    transfer_codings_before_chunked_reach_the_target_with_the_body,
    an_early_answer_to_a_body_reaches_the_client,
    content_length_beside_chunked_is_dropped_before_the_target,
    chunked_response_is_relayed_and_the_connection_kept,
    close_delimited_response_closes_the_client_connection,
    ten_mib_bodies_flow_both_ways_in_bounded_memory,
    head_204_and_304_responses_have_no_body,
    expect_100_continue_gets_an_interim_response_before_the_body,
    upgrade_is_tunnelled_only_after_101,
    over_limit_heads_get_414_and_431_and_close,
    listener_rules_route_by_host_and_path,
    all_targets_refusing_gives_502_or_521,
    a_refusing_target_is_skipped_for_the_next,
    invalid_or_empty_response_gives_502_or_520,
    a_connect_that_times_out_gives_504_or_522,
    silent_target_gives_504_or_524_after_the_idle_timeout,
    a_head_trickling_in_gets_408_at_the_header_timeout,
    empty_target_group_gives_503,
    http10_clients_keep_alive_only_when_asked,
    http10_clients_get_a_chunked_response_as_its_data_to_the_close,
    a_megabyte_in_many_chunks_reaches_an_http10_client_intact,
    hop_by_hop_headers_are_not_forwarded,
    a_plain_response_head_reaches_the_client_as_the_target_wrote_it,
    a_pooled_connection_closed_by_the_target_is_replaced_without_an_error,
    the_startup_log_names_the_driver,
    client_closing_mid_body_leaves_other_connections_alone,
);
