//! After a target answers 101 Switching Protocols, bytes flow both ways unchanged until either
//! side is done. Each direction ends with a half-close of the other side, so a peer that
//! finishes sending still receives the rest. The tunnel closes when no byte has moved either way
//! for the idle timeout.

use std::cell::Cell;
use std::time::{Duration, Instant};

use monoio::io::{AsyncWriteRent, OwnedReadHalf, OwnedWriteHalf, Splitable};
use monoio::net::TcpStream;

use super::io::{read_append, write_all, ReadError};

pub async fn tunnel(
    client: TcpStream,
    mut upstream: TcpStream,
    client_pending: Vec<u8>,
    idle: Duration,
) {
    if !client_pending.is_empty() && write_all(&mut upstream, client_pending).await.0.is_err() {
        return;
    }
    let last_activity = Cell::new(Instant::now());
    let (client_r, client_w) = client.into_split();
    let (upstream_r, upstream_w) = upstream.into_split();
    monoio::join!(
        pump(client_r, upstream_w, &last_activity, idle),
        pump(upstream_r, client_w, &last_activity, idle)
    );
}

async fn pump(
    mut from: OwnedReadHalf<TcpStream>,
    mut to: OwnedWriteHalf<TcpStream>,
    last_activity: &Cell<Instant>,
    idle: Duration,
) {
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        buf.clear();
        let (res, b) = read_append(&mut from, buf, 16 * 1024, idle).await;
        buf = b;
        match res {
            Ok(0) | Err(ReadError::Io) => break,
            Err(ReadError::TimedOut) => {
                if last_activity.get().elapsed() >= idle {
                    break;
                }
                continue;
            }
            Ok(_) => last_activity.set(Instant::now()),
        }
        let (res, b) = write_all(&mut to, buf).await;
        buf = b;
        if res.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
