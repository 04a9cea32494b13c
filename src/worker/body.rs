//! Body framing as bytes stream through: how many bytes of each read belong to the message,
//! and when it ends. Request and response bodies use the same tracker; a chunked response to
//! an HTTP/1.0 client also loses its chunk framing on the way.

use crate::http::{BodyFraming, ChunkedDecoder};

/// Tracks where a body ends while its bytes pass through, in either direction: unchanged, or
/// for a `dechunking` tracker as the bare chunk data.
pub struct BodyTracker {
    pub framing: BodyFraming,
    remaining: u64,
    chunked: Option<ChunkedDecoder>,
    /// Only the chunk data goes on (RFC 9112 §6.1: no chunked coding to an HTTP/1.0 client).
    dechunk: bool,
    /// The whole body has passed.
    pub done: bool,
}

/// What one read gave the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relay {
    /// Bytes of the read that belong to the body.
    pub consumed: usize,
    /// Bytes at the front of the read buffer to pass on: `consumed`, or the chunk data alone.
    pub forward: usize,
}

impl BodyTracker {
    pub fn new(framing: BodyFraming) -> Self {
        let remaining = match framing {
            BodyFraming::ContentLength(n) => n,
            _ => 0,
        };
        BodyTracker {
            framing,
            remaining,
            chunked: matches!(framing, BodyFraming::Chunked).then(ChunkedDecoder::new),
            dechunk: false,
            done: matches!(framing, BodyFraming::None)
                || matches!(framing, BodyFraming::ContentLength(0)),
        }
    }

    /// A chunked body that passes on as its chunk data alone, for a client that reads to the
    /// close instead.
    pub fn dechunking() -> Self {
        BodyTracker {
            dechunk: true,
            ..Self::new(BodyFraming::Chunked)
        }
    }

    /// Like `feed`, and for a dechunking tracker moves the chunk data to the front of `input`.
    pub fn relay(&mut self, input: &mut [u8]) -> Result<Relay, ()> {
        if !self.dechunk {
            let consumed = self.feed(input)?;
            return Ok(Relay {
                consumed,
                forward: consumed,
            });
        }
        if self.done {
            return Ok(Relay {
                consumed: 0,
                forward: 0,
            });
        }
        let decoder = self.chunked.as_mut().ok_or(())?;
        let decoded = decoder.decode_in_place(input).map_err(|_| ())?;
        self.done = decoded.done;
        Ok(Relay {
            consumed: decoded.consumed,
            forward: decoded.data,
        })
    }

    /// How many bytes of `input` belong to the body; sets `done` at its end.
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, ()> {
        if self.done {
            return Ok(0);
        }
        match self.framing {
            BodyFraming::None => Ok(0),
            BodyFraming::ContentLength(_) => {
                let take = (input.len() as u64).min(self.remaining) as usize;
                self.remaining -= take as u64;
                self.done = self.remaining == 0;
                Ok(take)
            }
            BodyFraming::Chunked => {
                let decoder = self.chunked.as_mut().ok_or(())?;
                let progress = decoder.feed(input).map_err(|_| ())?;
                self.done = progress.done;
                Ok(progress.consumed)
            }
            BodyFraming::CloseDelimited => Ok(input.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relays `input` in pieces of `size` bytes; returns what went on and whether it ended.
    fn relay_in_pieces(mut tracker: BodyTracker, input: &[u8], size: usize) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        for piece in input.chunks(size) {
            let mut buf = piece.to_vec();
            let fed = tracker.relay(&mut buf).unwrap();
            out.extend_from_slice(&buf[..fed.forward]);
        }
        (out, tracker.done)
    }

    #[test]
    fn a_chunked_body_passes_unchanged_unless_dechunking() {
        let body = b"4\r\nring\r\n3;x=y\r\nway\r\n0\r\nT: v\r\n\r\nNEXT";
        for size in 1..=body.len() {
            let framed = relay_in_pieces(BodyTracker::new(BodyFraming::Chunked), body, size);
            assert_eq!(framed, (body[..body.len() - 4].to_vec(), true), "{size}");
            let bare = relay_in_pieces(BodyTracker::dechunking(), body, size);
            assert_eq!(bare, (b"ringway".to_vec(), true), "{size}");
        }
    }

    #[test]
    fn other_framings_forward_what_they_consume() {
        let (out, done) = relay_in_pieces(
            BodyTracker::new(BodyFraming::ContentLength(5)),
            b"hello!",
            4,
        );
        assert_eq!((out, done), (b"hello".to_vec(), true));
    }
}
