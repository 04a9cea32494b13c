//! HTTP/1.1 heads and bodies, pure: parsing with limits, body framing (RFC 9112 §6), the
//! chunked codec and head encoding. No I/O, no clock; depends on httparse and nothing else in
//! the crate.
//!
//! - `types`: the values everything here produces: offsets (`Span`) into the caller's buffer,
//!   heads, limits, framing and errors.
//! - `known`: `Known`, which well-known field a header name is, decided once by the parser so
//!   lookups by those names compare a byte.
//! - `parse`: `parse_request` and `parse_response`, httparse plus the limits of DESIGN.md §3
//!   (414 and 431 even on incomplete input) and 505 for other versions.
//! - `lines`: the per-line limit (`max_line`) on raw bytes, for complete and incomplete heads.
//! - `fields`: `header_value` (by any name) and `known_value` (by `Known`), comma lists,
//!   `connection_options`, `is_hop_by_hop`.
//! - `framing`: `request_framing` and `response_framing` (RFC 9112 §6.3; strict for requests).
//! - `chunked`: `ChunkedDecoder`, a validating scanner that finds where a chunked body ends and,
//!   for HTTP/1.0 clients, decodes it in place.
//! - `target`: the request-target's form, authority and origin-form (RFC 9112 §3.2), and
//!   `split_port` for Host values.
//! - `encode`: appends request and status lines, fields and `Content-Length` to a `Vec<u8>`.

mod chunked;
pub mod encode;
mod fields;
mod framing;
mod known;
mod lines;
mod parse;
mod target;
mod types;

pub use chunked::{ChunkProgress, ChunkedDecoder, ChunkedError, Decoded};
pub use fields::{
    connection_options, header_value, is_hop_by_hop, known_value, known_values, named_values,
    trim_ows,
};
pub use framing::{request_framing, response_framing};
pub(crate) use known::is_named;
pub use parse::{parse_request, parse_response};
pub use target::{split_port, split_target, Target, TargetForm};
pub use types::*;
