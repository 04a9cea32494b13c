//! The built-in origin of `ringway origin` and `ringway demo`: a keep-alive HTTP/1.1 server that
//! answers every request with 200 and a fixed body. The response is encoded once at start, so a
//! request costs one read and one write; pipelined requests are answered in one write. It reads
//! and discards request bodies (Content-Length and chunked), so it can sink uploads too.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use monoio::net::{TcpListener, TcpStream};

use crate::http::{self, encode, BodyFraming, ChunkedDecoder, Limits, Method, Version};

// The keep variants, as before the cheaper racing ones existed (worker::io): `ringway origin`
// is the backend of every perf/ run, and its CPU per request is the denominator of each
// figure (DESIGN.md §7); it stays what earlier reports measured.
use super::io::{read_append_keep, write_all_keep, ReadError};
use super::listen::bind_group;
use super::runtime::{allowed_cpus, block_on, pin_to_cpu, DriverChoice};
use super::timers::{Timer, Timers};

/// An origin connection with no bytes either way for this long is closed.
const IDLE: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct OriginOptions {
    pub bind: SocketAddr,
    /// Body size; `None` answers `hello from NAME\n`.
    pub body_bytes: Option<usize>,
    pub name: String,
    pub workers: usize,
    /// Pin worker i to the i-th allowed CPU.
    pub pin: bool,
}

/// The two encoded answers: to GET and the like, and to HEAD (same head, no body).
struct Canned {
    full: Vec<u8>,
    head_only: Vec<u8>,
    full_close: Vec<u8>,
    head_only_close: Vec<u8>,
}

impl Canned {
    fn new(opts: &OriginOptions) -> Self {
        let body = match opts.body_bytes {
            Some(n) => (0..n)
                .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36])
                .collect(),
            None => format!("hello from {}\n", opts.name).into_bytes(),
        };
        let head = |close: bool| {
            let mut h = Vec::new();
            encode::status_line(&mut h, Version::Http11, 200, b"OK");
            encode::header(&mut h, b"Content-Type", b"text/plain");
            encode::content_length(&mut h, body.len() as u64);
            encode::header(&mut h, b"X-Origin", opts.name.as_bytes());
            if close {
                encode::header(&mut h, b"Connection", b"close");
            }
            encode::end_head(&mut h);
            h
        };
        let with_body = |mut h: Vec<u8>| {
            h.extend_from_slice(&body);
            h
        };
        Canned {
            full: with_body(head(false)),
            head_only: head(false),
            full_close: with_body(head(true)),
            head_only_close: head(true),
        }
    }
}

/// Binds and serves until the process ends. Returns the bound address through `on_bound`
/// before serving (useful with port 0).
pub fn run_origin(opts: OriginOptions, on_bound: impl FnOnce(SocketAddr)) -> io::Result<()> {
    let workers = opts.workers.max(1);
    let (bound, sockets) = bind_group(opts.bind, workers)?;
    on_bound(bound);
    let cpus = allowed_cpus();
    let mut threads = Vec::new();
    for (i, socket) in sockets.into_iter().enumerate() {
        let opts = opts.clone();
        let cpu = opts
            .pin
            .then(|| cpus.get(i % cpus.len().max(1)).copied())
            .flatten();
        threads.push(
            std::thread::Builder::new()
                .name(format!("origin-{i}"))
                .spawn(move || {
                    if let Some(cpu) = cpu {
                        let _ = pin_to_cpu(cpu);
                    }
                    let canned = Rc::new(Canned::new(&opts));
                    let served = block_on(
                        DriverChoice::Auto,
                        |_, _| {},
                        |_| async move {
                            let listener = match TcpListener::from_std(socket) {
                                Ok(l) => l,
                                Err(e) => return Err::<(), io::Error>(e),
                            };
                            let timers = Timers::new();
                            monoio::spawn(timers.clone().drive(|_, _, _| {}));
                            loop {
                                if let Ok((stream, _)) = listener.accept().await {
                                    let timer = timers.timer(IDLE, IDLE);
                                    monoio::spawn(serve(stream, Rc::clone(&canned), timer));
                                }
                            }
                        },
                    );
                    if let Ok(Err(e)) | Err(e) = served {
                        eprintln!("ringway origin: {e}");
                    }
                })?,
        );
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

/// Serves one connection: answers each complete request, skipping its body.
async fn serve(mut stream: TcpStream, canned: Rc<Canned>, timer: Timer) {
    let _ = stream.set_nodelay(true);
    let limits = Limits::default();
    let mut rbuf: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut out: Vec<u8> = Vec::with_capacity(8 * 1024);
    let mut skip = Skip::None;
    loop {
        // Answer every request that is complete in the buffer, then write once.
        let mut close = false;
        let mut pos = 0;
        loop {
            match skip.advance(&rbuf[pos..]) {
                Ok((n, true)) => {
                    pos += n;
                    skip = Skip::None;
                }
                Ok((n, false)) => {
                    pos += n;
                    break;
                }
                Err(()) => return,
            }
            let head = match http::parse_request(&rbuf[pos..], &limits) {
                Ok(Some(head)) => head,
                Ok(None) => break,
                Err(_) => return,
            };
            let buf = &rbuf[pos..];
            let opts = http::connection_options(buf, head.version, &head.headers);
            close = opts.close || (head.version == Version::Http10 && !opts.keep_alive);
            let answer = match (head.method == Method::Head, close) {
                (false, false) => &canned.full,
                (true, false) => &canned.head_only,
                (false, true) => &canned.full_close,
                (true, true) => &canned.head_only_close,
            };
            out.extend_from_slice(answer);
            skip = match http::request_framing(buf, &head) {
                Ok(BodyFraming::ContentLength(n)) => Skip::Length(n),
                Ok(BodyFraming::Chunked) => Skip::Chunked(ChunkedDecoder::new()),
                Ok(_) => Skip::None,
                Err(_) => return,
            };
            pos += head.len;
            if close {
                break;
            }
        }
        rbuf.drain(..pos);
        if !out.is_empty() {
            let (res, buf) = write_all_keep(&mut stream, std::mem::take(&mut out), &timer).await;
            out = buf;
            out.clear();
            if res.is_err() || close {
                return;
            }
        }
        let (res, buf) =
            read_append_keep(&mut stream, std::mem::take(&mut rbuf), 4096, &timer).await;
        rbuf = buf;
        match res {
            Ok(0) | Err(ReadError::Io) | Err(ReadError::TimedOut) => return,
            Ok(_) => {}
        }
    }
}

/// The part of a request body still to be skipped.
enum Skip {
    None,
    Length(u64),
    Chunked(ChunkedDecoder),
}

impl Skip {
    /// Skips body bytes at the start of `input`: how many, and whether the body is over.
    fn advance(&mut self, input: &[u8]) -> Result<(usize, bool), ()> {
        match self {
            Skip::None => Ok((0, true)),
            Skip::Length(rest) => {
                let n = (input.len() as u64).min(*rest);
                *rest -= n;
                Ok((n as usize, *rest == 0))
            }
            Skip::Chunked(decoder) => {
                let p = decoder.feed(input).map_err(|_| ())?;
                Ok((p.consumed, p.done))
            }
        }
    }
}
