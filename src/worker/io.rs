//! Small I/O helpers over monoio's rent model: reads that append to a `Vec`, reads with a
//! deadline that cancel the operation and wait for its completion before the buffer is used
//! again (STYLE.md §8), and writes of a sub-range.

use std::io;
use std::time::Duration;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncWriteRent, AsyncWriteRentExt, CancelableAsyncReadRent, Canceller};

/// Why a read returned nothing useful.
#[derive(Debug)]
pub enum ReadError {
    Io,
    TimedOut,
}

/// Makes sure `buf` has spare capacity, growing it by at least `min_spare`.
#[inline]
fn ensure_spare(buf: &mut Vec<u8>, min_spare: usize) {
    if buf.capacity() - buf.len() < min_spare {
        buf.reserve(min_spare);
    }
}

/// Reads once into the spare capacity of `buf` (after `buf.len()`), waiting at most `limit`.
/// Returns the byte count; 0 means the peer closed. On timeout the read is cancelled and its
/// completion awaited, so no byte is lost and the kernel no longer holds the buffer.
pub async fn read_append<S: CancelableAsyncReadRent>(
    stream: &mut S,
    mut buf: Vec<u8>,
    min_spare: usize,
    limit: Duration,
) -> (Result<usize, ReadError>, Vec<u8>) {
    ensure_spare(&mut buf, min_spare);
    let (len, cap) = (buf.len(), buf.capacity());
    let canceller = Canceller::new();
    let read = stream.cancelable_read(buf.slice_mut(len..cap), canceller.handle());
    let mut read = std::pin::pin!(read);
    let sleep = monoio::time::sleep(limit);
    let mut timed_out = false;
    let (res, slice) = monoio::select! {
        done = &mut read => done,
        _ = sleep => {
            timed_out = true;
            canceller.cancel();
            read.await
        }
    };
    let buf = slice.into_inner();
    match res {
        Ok(n) => (Ok(n), buf),
        Err(_) if timed_out => (Err(ReadError::TimedOut), buf),
        Err(_) => (Err(ReadError::Io), buf),
    }
}

/// Writes all of `buf[range]`, then gives the buffer back.
pub async fn write_range<S: AsyncWriteRent>(
    stream: &mut S,
    buf: Vec<u8>,
    start: usize,
    end: usize,
) -> (io::Result<()>, Vec<u8>) {
    if start == end {
        return (Ok(()), buf);
    }
    let (res, slice) = stream.write_all(buf.slice(start..end)).await;
    (res.map(|_| ()), slice.into_inner())
}

/// Writes all of `buf`, then gives it back.
pub async fn write_all<S: AsyncWriteRent>(
    stream: &mut S,
    buf: Vec<u8>,
) -> (io::Result<()>, Vec<u8>) {
    let end = buf.len();
    write_range(stream, buf, 0, end).await
}
