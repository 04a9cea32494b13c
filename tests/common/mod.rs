//! The test bench: the real `ringway` binary on 127.0.0.1, origin servers written here that
//! record exactly what they receive, and a raw-bytes HTTP client. Everything is bounded: every
//! socket has a read timeout and every process is killed when its handle drops.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// The balancer

pub struct Balancer {
    child: Child,
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<String>>>,
    config_path: std::path::PathBuf,
}

static NEXT_CONFIG: AtomicUsize = AtomicUsize::new(0);

impl Balancer {
    /// Starts `ringway serve` with `config` (TOML) on the given driver and waits until its first
    /// listener is bound.
    pub fn start(driver: &str, config: &str) -> Balancer {
        let n = NEXT_CONFIG.fetch_add(1, Ordering::Relaxed);
        let config_path =
            std::env::temp_dir().join(format!("ringway-test-{}-{n}.toml", std::process::id()));
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ringway"))
            .args(["serve", "-c"])
            .arg(&config_path)
            .args(["--driver", driver])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ringway starts");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let log_writer = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("ringway: listener 0 on http://") {
                    let _ = tx.send(addr.parse::<SocketAddr>().unwrap());
                }
                log_writer.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(IO_TIMEOUT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("ringway did not start: {:?}", log.lock().unwrap());
            }
        };
        Balancer {
            child,
            addr,
            log,
            config_path,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The config file the balancer was started with.
    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    /// Replaces the config file the balancer was started with (for `reload`).
    pub fn rewrite_config(&self, config: &str) {
        std::fs::write(&self.config_path, config).unwrap();
    }

    /// Waits up to `limit` for the balancer to exit; its status if it did.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    /// Runs `ringway ARGS... --admin ADDR` against this balancer's admin API.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_ringway"))
            .args(args)
            .args(["--admin", &self.admin_addr().to_string()])
            .output()
            .unwrap()
    }

    /// The admin API's address, from the start-up log.
    pub fn admin_addr(&self) -> SocketAddr {
        let log = self.log_text();
        let addr = log
            .lines()
            .find_map(|l| l.strip_prefix("ringway: admin on http://"))
            .expect("the admin address in the log");
        addr.parse().unwrap()
    }

    /// `GET path` on the admin API: the status and the body.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        let mut client = Client::connect(self.admin_addr());
        let r = client.request(&format!("GET {path} HTTP/1.1\r\nHost: admin\r\n\r\n"));
        (r.status, r.body_text())
    }

    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// A field of /proc/PID/status in KiB (VmRSS, VmHWM).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.config_path);
    }
}

/// A config with one listener on an ephemeral port of 127.0.0.1 and one target group "web"
/// over `targets`; `attributes` and `group_extra` are TOML lines added to their tables.
pub fn config(targets: &[SocketAddr], attributes: &str, group_extra: &str) -> String {
    let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
    format!(
        r#"[load_balancer]
workers = 1
admin = "127.0.0.1:0"

[attributes]
{attributes}

[[listeners]]
address = "127.0.0.1"
port = 0
default_target_group = "web"

[[target_groups]]
name = "web"
targets = [{}]
{group_extra}
[target_groups.health_check]
enabled = false
"#,
        targets.join(", ")
    )
}

// ---------------------------------------------------------------------------------------------
// Origins

/// A request as an origin received it: the raw head and the decoded body.
#[derive(Debug, Clone)]
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
    /// The raw body bytes as they arrived (chunk framing included).
    pub raw_body: Vec<u8>,
    /// Which accepted connection (0, 1, ...) it came on.
    pub connection: usize,
}

impl Received {
    pub fn request_line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        header_in(&self.head, name)
    }

    pub fn header_count(&self, name: &str) -> usize {
        self.head
            .lines()
            .skip(1)
            .filter(|l| {
                l.split_once(':')
                    .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
            })
            .count()
    }
}

/// What an origin does with a request.
pub enum Reply {
    /// Write these bytes and keep the connection.
    Send(Vec<u8>),
    /// Write these bytes and close.
    SendClose(Vec<u8>),
    /// Write these bytes, then echo every byte received until the peer closes (after a 101).
    Upgrade(Vec<u8>),
    /// Close without answering.
    Hangup,
    /// Never answer; keep the connection open until the peer leaves.
    Silent,
}

type Handler = dyn Fn(&Received) -> Reply + Send + Sync;

pub struct Origin {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
    pub received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
}

impl Origin {
    pub fn start(handler: impl Fn(&Received) -> Reply + Send + Sync + 'static) -> Origin {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (conns, recv, stopped) = (
            Arc::clone(&connections),
            Arc::clone(&received),
            Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let id = conns.fetch_add(1, Ordering::SeqCst);
                let (handler, recv) = (Arc::clone(&handler), Arc::clone(&recv));
                std::thread::spawn(move || serve_origin_connection(stream, id, &*handler, &recv));
            }
        });
        Origin {
            addr,
            connections,
            received,
            stop,
        }
    }

    /// Answers every request with 200 and a body naming the request line.
    pub fn echo() -> Origin {
        Origin::start(|r| Reply::Send(ok_response(r.request_line().as_bytes())))
    }

    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

/// A 200 response with a Content-Length body.
pub fn ok_response(body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn serve_origin_connection(
    mut stream: TcpStream,
    id: usize,
    handler: &Handler,
    recv: &Mutex<Vec<Received>>,
) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = Vec::new();
    loop {
        let Some(head_len) = read_until_head(&mut stream, &mut buf) else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
        buf.drain(..head_len);
        let Some((body, raw_body)) = read_body(&mut stream, &mut buf, &head, false) else {
            return;
        };
        let request = Received {
            head,
            body,
            raw_body,
            connection: id,
        };
        recv.lock().unwrap().push(request.clone());
        match handler(&request) {
            Reply::Send(bytes) => {
                if stream.write_all(&bytes).is_err() {
                    return;
                }
            }
            Reply::SendClose(bytes) => {
                let _ = stream.write_all(&bytes);
                return;
            }
            Reply::Upgrade(bytes) => {
                let _ = stream.write_all(&bytes);
                let mut chunk = [0u8; 4096];
                if !buf.is_empty() && stream.write_all(&buf).is_err() {
                    return;
                }
                while let Ok(n @ 1..) = stream.read(&mut chunk) {
                    if stream.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                }
                return;
            }
            Reply::Hangup => return,
            Reply::Silent => {
                let mut sink = [0u8; 1024];
                while let Ok(1..) = stream.read(&mut sink) {}
                return;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading HTTP messages (blocking, for tests only)

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads until `buf` holds a head; returns its length (through CRLF CRLF). None on EOF.
fn read_until_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            return Some(i + 4);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, want: usize) -> bool {
    let mut chunk = vec![0u8; 64 * 1024];
    while buf.len() < want {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    true
}

pub fn header_in(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// Reads a body framed as `head` says (Content-Length, chunked, or to EOF when
/// `close_delimited` and neither is given). Returns (decoded, raw).
fn read_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    head: &str,
    close_delimited: bool,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let chunked = header_in(head, "transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().ends_with("chunked"));
    if chunked {
        let mut body = Vec::new();
        let mut pos = 0;
        loop {
            while find(&buf[pos..], b"\r\n").is_none() {
                let have = buf.len();
                if !fill(stream, buf, have + 1) {
                    return None;
                }
            }
            let line_end = pos + find(&buf[pos..], b"\r\n").unwrap();
            let line = String::from_utf8_lossy(&buf[pos..line_end]).into_owned();
            let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16).ok()?;
            pos = line_end + 2;
            if size == 0 {
                // Trailers end with an empty line.
                loop {
                    while find(&buf[pos..], b"\r\n").is_none() {
                        let have = buf.len();
                        if !fill(stream, buf, have + 1) {
                            return None;
                        }
                    }
                    let end = pos + find(&buf[pos..], b"\r\n").unwrap();
                    let empty = end == pos;
                    pos = end + 2;
                    if empty {
                        let raw = buf.drain(..pos).collect();
                        return Some((body, raw));
                    }
                }
            }
            if !fill(stream, buf, pos + size + 2) {
                return None;
            }
            body.extend_from_slice(&buf[pos..pos + size]);
            pos += size + 2;
        }
    }
    if let Some(len) = header_in(head, "content-length") {
        let len: usize = len.parse().ok()?;
        if !fill(stream, buf, len) {
            return None;
        }
        let body: Vec<u8> = buf.drain(..len).collect();
        return Some((body.clone(), body));
    }
    if close_delimited {
        let mut chunk = [0u8; 64 * 1024];
        while let Ok(n @ 1..) = stream.read(&mut chunk) {
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Vec<u8> = std::mem::take(buf);
        return Some((body.clone(), body));
    }
    Some((Vec::new(), Vec::new()))
}

// ---------------------------------------------------------------------------------------------
// The client

#[derive(Debug, Clone)]
pub struct Response {
    pub head: String,
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(&self.head, name)
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Sends a request and reads its response.
    pub fn request(&mut self, raw: &str) -> Response {
        self.send(raw.as_bytes());
        self.read_response(raw.starts_with("HEAD "))
    }

    /// Reads one response; `to_head` for a response to HEAD (no body whatever the headers say).
    pub fn read_response(&mut self, to_head: bool) -> Response {
        self.try_read_response(to_head).expect("a response")
    }

    pub fn try_read_response(&mut self, to_head: bool) -> Option<Response> {
        let head_len = read_until_head(&mut self.stream, &mut self.buf)?;
        let head = String::from_utf8_lossy(&self.buf[..head_len]).into_owned();
        self.buf.drain(..head_len);
        let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
        let no_body = to_head || status == 204 || status == 304 || (100..200).contains(&status);
        let body = if no_body {
            Vec::new()
        } else {
            read_body(&mut self.stream, &mut self.buf, &head, true)?.0
        };
        Some(Response { head, status, body })
    }

    /// True when the balancer closed the connection (EOF with nothing buffered).
    pub fn is_closed_by_peer(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    pub fn read_exact_bytes(&mut self, n: usize) -> Vec<u8> {
        assert!(fill(&mut self.stream, &mut self.buf, n), "{n} bytes");
        self.buf.drain(..n).collect()
    }
}

/// Reads until the peer closes or `limit` passes; true when it closed.
pub fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut sink = [0u8; 4096];
    let start = Instant::now();
    loop {
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
        if start.elapsed() > limit {
            return false;
        }
    }
}

/// Generates one `#[test]` per driver for each named `fn(driver: &str)`.
#[macro_export]
macro_rules! on_both_drivers {
    ($($name:ident),* $(,)?) => {
        mod uring {
            $(#[test] fn $name() { super::$name("uring") })*
        }
        mod epoll {
            $(#[test] fn $name() { super::$name("epoll") })*
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Continuous load

/// Keep-alive clients sending `GET /` to `addr` every few ms until finished. A request that
/// gets no 200 is a failure (the client reconnects); a 200 saying `Connection: close` is
/// followed by a new connection, as a real client would.
pub struct Load {
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<Vec<String>>>,
}

/// What a [`Load`] saw: 200s, failures, and each client's response bodies in order.
pub struct LoadEnd {
    pub served: usize,
    pub failed: usize,
    pub bodies: Vec<Vec<String>>,
}

impl Load {
    pub fn start(addr: SocketAddr, clients: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let (failed, served) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads = (0..clients)
            .map(|_| {
                let (stop, failed, served) = (stop.clone(), failed.clone(), served.clone());
                std::thread::spawn(move || {
                    let mut client = Client::connect(addr);
                    let mut bodies = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        client.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
                        match client.try_read_response(false) {
                            Some(r) if r.status == 200 => {
                                served.fetch_add(1, Ordering::Relaxed);
                                bodies.push(r.body_text());
                                if r.header("connection").as_deref() == Some("close") {
                                    client = Client::connect(addr);
                                }
                            }
                            _ => {
                                failed.fetch_add(1, Ordering::Relaxed);
                                client = Client::connect(addr);
                            }
                        }
                        std::thread::sleep(Duration::from_millis(3));
                    }
                    bodies
                })
            })
            .collect();
        Load {
            stop,
            failed,
            served,
            threads,
        }
    }

    /// 200s so far.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::Relaxed)
    }

    /// Stops the clients and says what they saw.
    pub fn finish(self) -> LoadEnd {
        self.stop.store(true, Ordering::Relaxed);
        let bodies = self
            .threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        LoadEnd {
            served: self.served.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            bodies,
        }
    }
}
