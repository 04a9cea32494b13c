//! The admin server: one thread with blocking std sockets, one request per connection (the
//! answer carries `Connection: close`). It is the control plane: nothing here runs on a worker
//! or touches a worker's state; workers publish a `Snapshot` once a second into their
//! `Published` slot, and a scrape locks each slot once.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::metrics::{render_metrics, Snapshot};
use crate::config::ErrorStyle;
use crate::http::{self, encode, Limits, Method, Version};

/// Where one worker publishes its counters.
pub type Published = Arc<Mutex<Snapshot>>;

/// A slow or silent admin client cannot hold the admin thread longer than this.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// An admin request head is small; anything larger is refused.
const MAX_HEAD: usize = 8 * 1024;

/// Binds `addr` and serves the admin API on a thread of its own; returns the bound address.
pub fn start(
    addr: SocketAddr,
    token: Option<String>,
    style: ErrorStyle,
    workers: Vec<Published>,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("ringway-admin".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, token.as_deref(), style, &workers);
            }
        })?;
    Ok(bound)
}

fn serve(
    mut stream: TcpStream,
    token: Option<&str>,
    style: ErrorStyle,
    workers: &[Published],
) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let limits = Limits {
        max_head: MAX_HEAD,
        ..Limits::default()
    };
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head = loop {
        match http::parse_request(&buf, &limits) {
            Ok(Some(head)) => break head,
            Ok(None) => {}
            Err(e) => return reply(&mut stream, e.status(), "text/plain", "bad request\n"),
        }
        match stream.read(&mut chunk)? {
            0 => return Ok(()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    };
    if let Some(token) = token {
        let given = http::header_value(&buf, &head.headers, b"authorization")
            .and_then(|v| v.strip_prefix(b"Bearer "));
        if !given.is_some_and(|g| same_secret(g, token.as_bytes())) {
            return reply(
                &mut stream,
                401,
                "text/plain",
                "a bearer token is required\n",
            );
        }
    }
    let path = http::split_target(head.target.of(&buf)).path;
    match (head.method, path) {
        (Method::Get, b"/metrics") => {
            let snapshots: Vec<Snapshot> = workers
                .iter()
                .map(|w| w.lock().map(|s| s.clone()).unwrap_or_default())
                .collect();
            let text = render_metrics(&snapshots, style);
            reply(&mut stream, 200, "text/plain; version=0.0.4", &text)
        }
        (Method::Get, b"/health") => reply(&mut stream, 200, "text/plain", "ok\n"),
        (_, b"/metrics" | b"/health") => {
            reply(&mut stream, 405, "text/plain", "only GET is allowed here\n")
        }
        _ => reply(&mut stream, 404, "text/plain", "no such admin endpoint\n"),
    }
}

fn reply(stream: &mut TcpStream, status: u16, content_type: &str, body: &str) -> io::Result<()> {
    let mut out = Vec::with_capacity(body.len() + 128);
    encode::status_line(
        &mut out,
        Version::Http11,
        status,
        encode::reason_phrase(status),
    );
    encode::header(&mut out, b"Content-Type", content_type.as_bytes());
    encode::content_length(&mut out, body.len() as u64);
    encode::header(&mut out, b"Connection", b"close");
    encode::end_head(&mut out);
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out)
}

/// Compares a given token with the configured one in time that depends only on their lengths.
fn same_secret(given: &[u8], secret: &[u8]) -> bool {
    given.len() == secret.len()
        && given
            .iter()
            .zip(secret)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_compare_needs_every_byte() {
        assert!(same_secret(b"s3cret", b"s3cret"));
        assert!(!same_secret(b"s3cres", b"s3cret"));
        assert!(!same_secret(b"s3cre", b"s3cret"));
        assert!(!same_secret(b"", b"s3cret"));
    }
}
