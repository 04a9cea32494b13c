//! HTTP/1.1 heads and bodies, pure: parsing with limits, body framing (RFC 9112 §6), the
//! chunked codec and head encoding. No I/O, no clock.

mod types;

pub use types::*;
