//! A validating scanner for chunked bodies (RFC 9112 §7.1). The proxy forwards chunked bodies
//! as they are; `feed` only finds where the body ends and refuses anything two parsers could
//! read differently, skipping chunk data without looking at it. For a client that cannot read
//! chunked coding (HTTP/1.0), `decode_in_place` also moves the chunk data to the front of the
//! buffer, dropping the framing, extensions and trailers.

/// How far a `feed` got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkProgress {
    /// Bytes of the input that belong to the body. Less than the input only when the body
    /// ended: the rest is the next message.
    pub consumed: usize,
    /// The body ended (the trailer section's final CRLF has been consumed).
    pub done: bool,
}

/// How far a `decode_in_place` got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input that belong to the body, as in [`ChunkProgress`].
    pub consumed: usize,
    /// The chunk data among them, now at the front of the buffer.
    pub data: usize,
    /// The body ended.
    pub done: bool,
}

/// The body is not valid chunked coding; the text says why, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedError(pub &'static str);

impl std::fmt::Display for ChunkedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid chunked body: {}", self.0)
    }
}

impl std::error::Error for ChunkedError {}

/// Longest chunk-size line, extensions included, CRLF excluded.
const MAX_SIZE_LINE: usize = 4096;
/// Largest trailer section, final CRLF included.
const MAX_TRAILERS: usize = 16 * 1024;
/// A u64 holds 16 hex digits.
const MAX_SIZE_DIGITS: u8 = 16;

/// Where the scanner is. The chunk-size line gets one state per part of
/// `chunk-size [ chunk-ext ] CRLF` (RFC 9112 §7.1.1): chunk-ext = *( BWS ";" BWS name
/// [ BWS "=" BWS ( token / quoted-string ) ] ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// A chunk-size line starts: a hex digit must come.
    SizeStart,
    /// In the chunk-size digits.
    Size {
        digits: u8,
    },
    /// After whitespace that must lead to a `;`.
    ExtWhitespace,
    /// After `;`: whitespace, then an extension name.
    ExtNameStart,
    ExtName,
    /// Whitespace after a name: `=` or `;` must follow.
    ExtAfterName,
    /// After `=`: whitespace, then a token or a quoted string.
    ExtValueStart,
    ExtToken,
    ExtQuoted,
    /// After a backslash in a quoted string.
    ExtEscape,
    /// After a closing quote: `;`, whitespace or the CR.
    ExtAfterQuoted,
    /// The CR of the chunk-size line was seen.
    SizeLf,
    /// In chunk data; `remaining` bytes are left.
    Data,
    DataCr,
    DataLf,
    /// A trailer field or the final empty line starts.
    TrailerStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    /// The CR of the final empty line was seen.
    EndLf,
    Done,
    Failed(&'static str),
}

/// Scans one chunked body fed in pieces of any size.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The size of the current chunk while its size line is read, then what is left of it.
    remaining: u64,
    /// Bytes of the current chunk-size line so far.
    line: usize,
    /// Bytes of the trailer section so far.
    trailers: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedDecoder {
    pub fn new() -> Self {
        ChunkedDecoder {
            state: State::SizeStart,
            remaining: 0,
            line: 0,
            trailers: 0,
        }
    }

    /// The body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Scans the next piece of the body. After an error every later call fails the same way;
    /// after the end every later call consumes nothing.
    pub fn feed(&mut self, input: &[u8]) -> Result<ChunkProgress, ChunkedError> {
        let mut at = 0;
        loop {
            let (consumed, data) = self.scan(&input[at..])?;
            at += consumed;
            if data.is_empty() {
                break;
            }
        }
        Ok(ChunkProgress {
            consumed: at,
            done: self.state == State::Done,
        })
    }

    /// Scans the next piece of the body like `feed` and moves its chunk data, in order, to the
    /// front of `buf`. Bytes from `consumed` on (the next message) are left as they were. The
    /// state carries over, so a body may be split between calls at any byte.
    pub fn decode_in_place(&mut self, buf: &mut [u8]) -> Result<Decoded, ChunkedError> {
        let (mut at, mut len) = (0, 0);
        loop {
            let (consumed, data) = self.scan(&buf[at..])?;
            // Framing always precedes the data it frames, so the copy only moves bytes down.
            buf.copy_within(at + data.start..at + data.end, len);
            len += data.len();
            at += consumed;
            if data.is_empty() {
                break;
            }
        }
        Ok(Decoded {
            consumed: at,
            data: len,
            done: self.state == State::Done,
        })
    }

    /// Scans `input` through its first run of chunk data, or to its end (or the body's end)
    /// when it has none. Returns the bytes consumed and where that data lies in `input`
    /// (empty when there was none).
    fn scan(&mut self, input: &[u8]) -> Result<(usize, std::ops::Range<usize>), ChunkedError> {
        let mut at = 0;
        loop {
            match self.state {
                State::Failed(why) => return Err(ChunkedError(why)),
                State::Done => break,
                // Chunk data is opaque: skip it in one step.
                State::Data => {
                    let left = input.len() - at;
                    let take = usize::try_from(self.remaining).map_or(left, |r| r.min(left));
                    let start = at;
                    at += take;
                    self.remaining -= take as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok((at, start..at));
                }
                _ => {
                    let Some(&b) = input.get(at) else { break };
                    at += 1;
                    if let Err(why) = self.step(b) {
                        self.state = State::Failed(why);
                        return Err(ChunkedError(why));
                    }
                }
            }
        }
        Ok((at, at..at))
    }

    /// One byte outside chunk data.
    fn step(&mut self, b: u8) -> Result<(), &'static str> {
        use State::*;
        if matches!(
            self.state,
            Size { .. } | ExtWhitespace | ExtNameStart | ExtName
        ) || matches!(
            self.state,
            ExtAfterName | ExtValueStart | ExtToken | ExtQuoted
        ) || matches!(self.state, ExtEscape | ExtAfterQuoted | SizeStart)
        {
            // The CR is not part of the line's length.
            self.line += usize::from(b != b'\r');
            if self.line > MAX_SIZE_LINE {
                return Err("chunk-size line too long");
            }
        }
        if matches!(
            self.state,
            TrailerStart | TrailerName | TrailerValue | TrailerLf | EndLf
        ) {
            self.trailers += 1;
            if self.trailers > MAX_TRAILERS {
                return Err("trailer section too large");
            }
        }
        self.state = match (self.state, b) {
            // chunk-size = 1*HEXDIG: no sign, no 0x, no leading whitespace.
            (SizeStart, _) => match hex(b) {
                Some(d) => {
                    self.remaining = u64::from(d);
                    Size { digits: 1 }
                }
                None => return Err("chunk size is not hex"),
            },
            (Size { digits }, _) if hex(b).is_some() => {
                if digits == MAX_SIZE_DIGITS {
                    return Err("chunk size too large");
                }
                // Cannot overflow: at most 15 digits (60 bits) are in before this shift.
                self.remaining = (self.remaining << 4) | u64::from(hex(b).unwrap_or(0));
                Size { digits: digits + 1 }
            }
            (Size { .. } | ExtName | ExtToken | ExtAfterQuoted, b';') => ExtNameStart,
            (Size { .. } | ExtName | ExtToken | ExtAfterQuoted, b'\r') => SizeLf,
            (Size { .. } | ExtToken | ExtAfterQuoted | ExtWhitespace, b' ' | b'\t') => {
                ExtWhitespace
            }
            (ExtWhitespace | ExtAfterName, b';') => ExtNameStart,
            (ExtNameStart, b' ' | b'\t') => ExtNameStart,
            (ExtNameStart | ExtName, _) if is_tchar(b) => ExtName,
            (ExtName | ExtAfterName, b' ' | b'\t') => ExtAfterName,
            (ExtName | ExtAfterName, b'=') => ExtValueStart,
            (ExtValueStart, b' ' | b'\t') => ExtValueStart,
            (ExtValueStart, b'"') => ExtQuoted,
            (ExtValueStart | ExtToken, _) if is_tchar(b) => ExtToken,
            // RFC 9110 §5.6.4: qdtext and quoted-pair.
            (ExtQuoted, b'"') => ExtAfterQuoted,
            (ExtQuoted, b'\\') => ExtEscape,
            (ExtQuoted, _) if is_qdtext(b) => ExtQuoted,
            (ExtEscape, _) if b == b'\t' || b == b' ' || is_field_vchar(b) => ExtQuoted,
            (SizeLf, b'\n') => {
                self.line = 0;
                if self.remaining == 0 {
                    TrailerStart
                } else {
                    Data
                }
            }
            (SizeLf, _) => return Err("bare CR in chunk-size line"),
            (DataCr, b'\r') => DataLf,
            (DataCr, _) => return Err("chunk data not followed by CRLF"),
            (DataLf, b'\n') => SizeStart,
            (DataLf, _) => return Err("bare CR after chunk data"),
            (TrailerStart, b'\r') => EndLf,
            (TrailerStart | TrailerName, _) if is_tchar(b) => TrailerName,
            (TrailerName, b':') => TrailerValue,
            (TrailerName, _) => return Err("invalid trailer field name"),
            (TrailerValue, b'\r') => TrailerLf,
            (TrailerValue, _) if b == b'\t' || b == b' ' || is_field_vchar(b) => TrailerValue,
            (TrailerValue, _) => return Err("invalid trailer field value"),
            (TrailerLf, b'\n') => TrailerStart,
            (TrailerLf, _) => return Err("bare CR in trailer section"),
            (EndLf, b'\n') => Done,
            (EndLf, _) => return Err("bare CR at end of trailer section"),
            (_, b'\n') => return Err("bare LF"),
            (TrailerStart, _) => return Err("invalid trailer field"),
            (Data | Done | Failed(_), _) => return Err("internal: byte fed in a non-byte state"),
            _ => return Err("invalid chunk extension"),
        };
        Ok(())
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 9110 §5.6.2 tchar.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §5.5 field-vchar: VCHAR / obs-text.
fn is_field_vchar(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// RFC 9110 §5.6.4 qdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
fn is_qdtext(b: u8) -> bool {
    b == b'\t' || b == b' ' || (is_field_vchar(b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `input` whole, in two pieces at every split point and byte by byte; all three must
    /// agree. Returns the result of the whole.
    fn scan(input: &[u8]) -> Result<ChunkProgress, ChunkedError> {
        let whole = ChunkedDecoder::new().feed(input);
        for split in 0..=input.len() {
            assert_eq!(in_pieces(input, &[split]), whole, "split at {split}");
        }
        let bytes: Vec<usize> = (1..input.len()).collect();
        assert_eq!(in_pieces(input, &bytes), whole, "byte by byte");
        whole
    }

    /// Feeds `input` cut at `cuts`; the result sums `consumed` and stops at the first error.
    fn in_pieces(input: &[u8], cuts: &[usize]) -> Result<ChunkProgress, ChunkedError> {
        let mut decoder = ChunkedDecoder::new();
        let mut consumed = 0;
        let mut from = 0;
        for &to in cuts.iter().chain(std::iter::once(&input.len())) {
            let progress = decoder.feed(&input[from..to])?;
            consumed += progress.consumed;
            assert_eq!(progress.done, decoder.is_done());
            from = to;
        }
        Ok(ChunkProgress {
            consumed,
            done: decoder.is_done(),
        })
    }

    /// What decoding a whole input gave: bytes consumed, the chunk data, and whether it ended.
    type Decoding = Result<(usize, Vec<u8>, bool), ChunkedError>;

    /// Decodes `input` whole, in two pieces at every split point and byte by byte; all three
    /// must agree with each other and with `scan`. Returns the result of the whole.
    fn decode(input: &[u8]) -> Decoding {
        let whole = decode_in_pieces(input, &[]);
        for split in 0..=input.len() {
            assert_eq!(decode_in_pieces(input, &[split]), whole, "split at {split}");
        }
        let bytes: Vec<usize> = (1..input.len()).collect();
        assert_eq!(decode_in_pieces(input, &bytes), whole, "byte by byte");
        let progress = whole
            .clone()
            .map(|(consumed, _, done)| ChunkProgress { consumed, done });
        assert_eq!(
            scan(input),
            progress,
            "decoding consumes what scanning does"
        );
        whole
    }

    /// Decodes `input` cut at `cuts`, each piece in a buffer of its own, and joins the data.
    fn decode_in_pieces(input: &[u8], cuts: &[usize]) -> Decoding {
        let mut decoder = ChunkedDecoder::new();
        let (mut consumed, mut data, mut from) = (0, Vec::new(), 0);
        for &to in cuts.iter().chain(std::iter::once(&input.len())) {
            let mut piece = input[from..to].to_vec();
            let decoded = decoder.decode_in_place(&mut piece)?;
            assert!(decoded.data <= decoded.consumed);
            assert_eq!(decoded.done, decoder.is_done());
            assert_eq!(
                piece[decoded.consumed..],
                input[from + decoded.consumed..to],
                "bytes past the body are left alone"
            );
            data.extend_from_slice(&piece[..decoded.data]);
            consumed += decoded.consumed;
            from = to;
        }
        Ok((consumed, data, decoder.is_done()))
    }

    fn done(consumed: usize) -> Result<ChunkProgress, ChunkedError> {
        Ok(ChunkProgress {
            consumed,
            done: true,
        })
    }

    #[test]
    fn a_simple_body_is_consumed_to_its_final_crlf() {
        let body = b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
        assert_eq!(scan(body), done(body.len()));
    }

    #[test]
    fn the_next_message_after_the_body_is_left_unconsumed() {
        let body = b"3\r\nabc\r\n0\r\n\r\n";
        let input = [&body[..], b"GET / HTTP/1.1\r\n\r\n"].concat();
        assert_eq!(scan(&input), done(body.len()));
        let mut decoder = ChunkedDecoder::new();
        decoder.feed(body).unwrap();
        assert_eq!(decoder.feed(b"more"), done(0));
    }

    #[test]
    fn extensions_and_trailers_are_accepted() {
        let body = b"a;name=value;flag;q=\"quo\\\"ted; \\\\ \" ; x = y\r\n0123456789\r\n\
                     0;last\r\nExpires: never\r\nX-Sum:\tabc \r\nEmpty:\r\n\r\n";
        assert_eq!(scan(body), done(body.len()));
    }

    #[test]
    fn hex_sizes_take_any_case_and_leading_zeros() {
        let mut body = b"00A\r\n".to_vec();
        body.extend_from_slice(&[b'x'; 10]);
        body.extend_from_slice(b"\r\nb\r\n");
        body.extend_from_slice(&[b'y'; 11]);
        body.extend_from_slice(b"\r\n000\r\n\r\n");
        assert_eq!(scan(&body), done(body.len()));
    }

    #[test]
    fn an_unfinished_body_is_consumed_but_not_done() {
        let body = b"5\r\nhel";
        assert_eq!(
            scan(body),
            Ok(ChunkProgress {
                consumed: body.len(),
                done: false
            })
        );
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let cases: &[&[u8]] = &[
            b"5\nhello\r\n0\r\n\r\n",
            b"5\r\nhello\n0\r\n\r\n",
            b"5\r\nhello\r\n0\n\r\n",
            b"5\r\nhello\r\n0\r\n\n",
            b"5\r\nhello\r\n0\r\nX: y\n\r\n",
            b"5\rhello\r\n0\r\n\r\n",
            b"5\r\nhelloX\r\n0\r\n\r\n",
            b"5\r\nhello\rX0\r\n\r\n",
            b" 5\r\nhello\r\n0\r\n\r\n",
            b"5 \r\nhello\r\n0\r\n\r\n",
            b"+5\r\nhello\r\n0\r\n\r\n",
            b"0x5\r\nhello\r\n0\r\n\r\n",
            b"\r\nhello\r\n0\r\n\r\n",
            b"g\r\n",
            b"5;\r\nhello\r\n0\r\n\r\n",
            b"5;a=\r\nhello\r\n0\r\n\r\n",
            b"5;a=\"open\r\nhello\r\n0\r\n\r\n",
            b"5;a b\r\nhello\r\n0\r\n\r\n",
            b"5;a=b c\r\nhello\r\n0\r\n\r\n",
            b"0\r\nBad Name: x\r\n\r\n",
            b"0\r\n: x\r\n\r\n",
            b"0\r\nX: a\x00b\r\n\r\n",
            b"0\r\n\rX",
        ];
        for body in cases {
            assert!(scan(body).is_err(), "{:?}", String::from_utf8_lossy(body));
            assert!(decode(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn sixteen_hex_digits_are_the_most_a_size_may_have() {
        let max = b"FFFFFFFFFFFFFFFF\r\nabc";
        assert_eq!(
            scan(max),
            Ok(ChunkProgress {
                consumed: max.len(),
                done: false
            })
        );
        assert_eq!(
            scan(b"10000000000000000\r\n"),
            Err(ChunkedError("chunk size too large"))
        );
        assert!(scan(b"00000000000000001\r\n").is_err());
    }

    #[test]
    fn a_huge_chunk_is_skipped_without_reading_it() {
        let mut decoder = ChunkedDecoder::new();
        decoder.feed(b"FFFFFFFFFFFFFFFF\r\n").unwrap();
        let data = vec![0u8; 1 << 20];
        assert_eq!(decoder.feed(&data).unwrap().consumed, data.len());
        assert!(!decoder.is_done());
    }

    #[test]
    fn a_size_line_over_4096_bytes_is_rejected() {
        let mut line = b"1;x=".to_vec();
        line.resize(4096, b'v');
        let ok = [&line[..], b"\r\na\r\n0\r\n\r\n"].concat();
        assert_eq!(ChunkedDecoder::new().feed(&ok), done(ok.len()));
        let long = [&line[..], b"v\r\na\r\n0\r\n\r\n"].concat();
        assert_eq!(
            ChunkedDecoder::new().feed(&long),
            Err(ChunkedError("chunk-size line too long"))
        );
    }

    #[test]
    fn trailers_over_16_kib_are_rejected() {
        let mut trailer = b"0\r\nX: ".to_vec();
        trailer.resize(3 + 16 * 1024 - 4, b'v');
        let ok = [&trailer[..], b"\r\n\r\n"].concat();
        assert_eq!(ChunkedDecoder::new().feed(&ok), done(ok.len()));
        let big = [&trailer[..], b"v\r\n\r\n"].concat();
        assert_eq!(
            ChunkedDecoder::new().feed(&big),
            Err(ChunkedError("trailer section too large"))
        );
    }

    #[test]
    fn an_error_sticks() {
        let mut decoder = ChunkedDecoder::new();
        assert!(decoder.feed(b"z").is_err());
        assert!(decoder.feed(b"").is_err());
        assert!(decoder.feed(b"0\r\n\r\n").is_err());
    }

    #[test]
    fn decoding_yields_the_chunk_data_alone() {
        let body = b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n";
        assert_eq!(
            decode(body),
            Ok((body.len(), b"Wikipedia in\r\n\r\nchunks.".to_vec(), true))
        );
    }

    #[test]
    fn decoding_drops_extensions_and_trailers() {
        let body = b"a;name=value;q=\"quo\\\"ted\"\r\n0123456789\r\n3;x\r\n\r\n\r\r\n\
                     0;last\r\nExpires: never\r\nX-Sum: abc\r\n\r\n";
        assert_eq!(
            decode(body),
            Ok((body.len(), b"0123456789\r\n\r".to_vec(), true))
        );
    }

    #[test]
    fn decoding_leaves_the_next_message_in_place() {
        let body = b"3\r\nabc\r\n0\r\n\r\n";
        let input = [&body[..], b"HTTP/1.1 200 OK\r\n\r\n"].concat();
        assert_eq!(decode(&input), Ok((body.len(), b"abc".to_vec(), true)));
        let mut decoder = ChunkedDecoder::new();
        let mut buf = input.clone();
        let decoded = decoder.decode_in_place(&mut buf).unwrap();
        assert_eq!(&buf[..decoded.data], b"abc");
        assert_eq!(buf[decoded.consumed..], input[body.len()..]);
    }

    #[test]
    fn an_unfinished_body_decodes_to_the_data_so_far() {
        let body = b"5\r\nhello\r\n6\r\n wor";
        assert_eq!(decode(body), Ok((body.len(), b"hello wor".to_vec(), false)));
        let trailing = b"0\r\nX: y\r\n";
        assert_eq!(decode(trailing), Ok((trailing.len(), Vec::new(), false)));
    }

    #[test]
    fn an_empty_body_decodes_to_nothing() {
        assert_eq!(decode(b"0\r\n\r\n"), Ok((5, Vec::new(), true)));
        assert_eq!(decode(b""), Ok((0, Vec::new(), false)));
    }

    /// Encodes `body` as chunks of the given sizes (cycled), with an extension on some.
    fn encode_chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = body;
        for (i, &size) in sizes.iter().cycle().enumerate() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
            out.extend_from_slice(format!("{:x}", chunk.len()).as_bytes());
            if i % 3 == 1 {
                out.extend_from_slice(b";ext=\"v\"");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
            rest = tail;
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_the_decoder(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            cut in 0usize..200,
        ) {
            let cut = cut.min(bytes.len());
            let mut decoder = ChunkedDecoder::new();
            if decoder.feed(&bytes[..cut]).is_ok() {
                let _ = decoder.feed(&bytes[cut..]);
            }
        }

        /// Any body, in random chunks and read in random pieces: `feed` finds its end, and
        /// `decode_in_place` finds the same end and the body itself.
        #[test]
        fn any_body_in_random_chunks_decodes_to_its_end_and_back_to_itself(
            body in proptest::collection::vec(any::<u8>(), 0..2000),
            sizes in proptest::collection::vec(1usize..300, 1..10),
            cuts in proptest::collection::vec(0usize..3000, 0..6),
        ) {
            let encoded = encode_chunked(&body, &sizes);
            let input = [&encoded[..], b"HTTP/1.1 200 OK\r\n"].concat();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            prop_assert_eq!(in_pieces(&input, &cuts), done(encoded.len()));
            prop_assert_eq!(decode_in_pieces(&input, &cuts), Ok((encoded.len(), body, true)));
        }
    }
}
