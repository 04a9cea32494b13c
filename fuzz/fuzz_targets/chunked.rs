//! The chunked-body scanner: `ChunkedDecoder::feed` in pieces against one whole feed, and
//! `decode_in_place` beside it.
//!
//! Input: `[n, cut_1, ..., cut_k, body...]` with `k = n % 8`: the body is fed in pieces of
//! `cut_1, cut_2, ...` bytes (a cut of 0 feeds an empty piece), cycling through the cuts; with
//! no cuts, or only zero cuts, it is fed one byte at a time.
//!
//! Checks, beyond "no panic":
//! - one feed of the whole body on a fresh decoder vs. the pieces on another: when the whole
//!   feed is `Ok`, every piece is `Ok`, the consumed counts add up to the same total and
//!   `done` is the same; when it fails, the pieces fail with the same error;
//! - `consumed` never exceeds the piece it was given, and is less only when `done`;
//!   `is_done()` agrees with `done`;
//! - after the end, a feed consumes nothing and stays done; after an error every later feed
//!   fails with the same error;
//! - `decode_in_place` on a copy of each piece (its own decoder) consumes what `feed` does,
//!   ends and fails alike, yields no more data than it consumed and leaves the bytes past
//!   `consumed` alone; the data of the pieces joined is the data of one whole decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringway::http::{ChunkProgress, ChunkedDecoder, ChunkedError, Decoded};

fn check(piece: &[u8], dec: &ChunkedDecoder, r: &Result<ChunkProgress, ChunkedError>) {
    if let Ok(p) = r {
        assert!(
            p.consumed <= piece.len(),
            "consumed {} of {}",
            p.consumed,
            piece.len()
        );
        assert!(
            p.done || p.consumed == piece.len(),
            "stopped early without the end: {p:?}"
        );
        assert_eq!(p.done, dec.is_done(), "is_done() disagrees with {p:?}");
    }
}

/// Decodes a copy of `piece` and checks it against what `feed` gave for the same piece.
fn decode_beside(
    piece: &[u8],
    dec: &mut ChunkedDecoder,
    fed: &Result<ChunkProgress, ChunkedError>,
    data: &mut Vec<u8>,
) -> Result<Decoded, ChunkedError> {
    let mut copy = piece.to_vec();
    let decoded = dec.decode_in_place(&mut copy);
    match (fed, &decoded) {
        (Ok(p), Ok(d)) => {
            assert_eq!(
                (p.consumed, p.done),
                (d.consumed, d.done),
                "feed {p:?}, decode {d:?}"
            );
            assert!(d.data <= d.consumed, "more data than bytes: {d:?}");
            assert_eq!(
                copy[d.consumed..],
                piece[d.consumed..],
                "bytes past the body moved"
            );
            data.extend_from_slice(&copy[..d.data]);
        }
        (Err(e), Err(d)) => assert_eq!(e, d, "feed and decode failed differently"),
        (p, d) => panic!("feed gave {p:?}, decode {d:?}"),
    }
    decoded
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let k = (n % 8) as usize;
    if rest.len() < k {
        return;
    }
    let (cuts, body) = rest.split_at(k);

    let mut whole_dec = ChunkedDecoder::new();
    let whole = whole_dec.feed(body);
    check(body, &whole_dec, &whole);
    let mut whole_data = Vec::new();
    let _ = decode_beside(body, &mut ChunkedDecoder::new(), &whole, &mut whole_data);
    let mut ddec = ChunkedDecoder::new();
    let mut decoded_data = Vec::new();

    let mut dec = ChunkedDecoder::new();
    let mut at = 0;
    let mut total = 0;
    let mut done = false;
    let mut error = None;
    let mut i = 0;
    // All-zero cuts would never advance: feed one byte at a time then.
    let bytewise = cuts.iter().all(|&c| c == 0);
    while at < body.len() {
        let size = if bytewise {
            1
        } else {
            cuts[i % cuts.len()] as usize
        };
        i += 1;
        let end = (at + size).min(body.len());
        let piece = &body[at..end];
        let r = dec.feed(piece);
        check(piece, &dec, &r);
        let _ = decode_beside(piece, &mut ddec, &r, &mut decoded_data);
        match r {
            Ok(p) => {
                total += p.consumed;
                at += p.consumed;
                if p.done {
                    done = true;
                    break;
                }
            }
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }

    match (&whole, error) {
        (Ok(w), None) => {
            assert_eq!(
                total, w.consumed,
                "pieces consumed {total}, one feed {}",
                w.consumed
            );
            assert_eq!(done, w.done, "pieces done={done}, one feed done={}", w.done);
            assert!(
                decoded_data == whole_data,
                "pieces decoded to other data than the whole"
            );
        }
        (Err(w), Some(e)) => assert_eq!(e, *w, "pieces and one feed failed differently"),
        (w, e) => panic!("one feed gave {w:?}, the pieces {e:?} after {total} bytes"),
    }

    // After the end nothing more is consumed; after an error every feed fails the same way.
    let after = dec.feed(b"0\r\n\r\n");
    match error {
        Some(e) => assert_eq!(after, Err(e), "a failed decoder recovered"),
        None if done => assert_eq!(
            after,
            Ok(ChunkProgress {
                consumed: 0,
                done: true
            }),
            "a finished decoder consumed more"
        ),
        None => {}
    }
});
