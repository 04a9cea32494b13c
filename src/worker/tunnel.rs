//! After a target answers 101 Switching Protocols, bytes flow both ways unchanged until either
//! side is done. Each direction ends with a half-close of the other side, so a peer that
//! finishes sending still receives the rest. The tunnel closes when no byte has moved either way
//! for the idle timeout.

use monoio::io::{AsyncWriteRent, OwnedReadHalf, OwnedWriteHalf, Splitable};
use monoio::net::TcpStream;

use super::io::{read_append, write_all, ReadError};
use super::timers::Timer;

/// Both directions run under the client's timer: a byte either way touches it, and when it
/// fires the reads in flight on both sides are cancelled.
pub async fn tunnel(
    client: TcpStream,
    mut upstream: TcpStream,
    client_pending: Vec<u8>,
    timer: &Timer,
) {
    if !client_pending.is_empty()
        && write_all(&mut upstream, client_pending, timer)
            .await
            .0
            .is_err()
    {
        return;
    }
    let (client_r, client_w) = client.into_split();
    let (upstream_r, upstream_w) = upstream.into_split();
    monoio::join!(
        pump(client_r, upstream_w, timer),
        pump(upstream_r, client_w, timer)
    );
}

async fn pump(
    mut from: OwnedReadHalf<TcpStream>,
    mut to: OwnedWriteHalf<TcpStream>,
    timer: &Timer,
) {
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        buf.clear();
        let (res, b) = read_append(&mut from, buf, 16 * 1024, timer).await;
        buf = b;
        match res {
            Ok(0) | Err(ReadError::Io) | Err(ReadError::TimedOut) => break,
            Ok(_) => {}
        }
        let (res, b) = write_all(&mut to, buf, timer).await;
        buf = b;
        if res.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
