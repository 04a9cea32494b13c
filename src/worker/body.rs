//! Body framing as bytes stream through: how many bytes of each read belong to the message,
//! and when it ends. Request and response bodies use the same tracker.

use crate::http::{BodyFraming, ChunkedDecoder};

/// Tracks where a body ends while its bytes pass through unchanged, in either direction.
pub struct BodyTracker {
    pub framing: BodyFraming,
    remaining: u64,
    chunked: Option<ChunkedDecoder>,
    /// The whole body has passed.
    pub done: bool,
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
            done: matches!(framing, BodyFraming::None)
                || matches!(framing, BodyFraming::ContentLength(0)),
        }
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
