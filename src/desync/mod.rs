//! HTTP desync (request smuggling) classification, pure: no I/O, no clock, no allocation per
//! request. Depends on `http` (spans, limits, framing types) and `config::DesyncMode` only.
//! The reference is `shared/desync/SPEC.md`: ALB's tiers and the reason codes of
//! aws/http-desync-guardian, checked in the guardian's order, plus ringway's own checks for
//! the RFC 9112 rules the guardian leaves out.
//!
//! - `reason`: `Tier` and `Reason` (the guardian's 26 names and ringway's 9), each reason's tier.
//! - `chars`: the 256-entry byte-class table.
//! - `similar`: the Transfer-Encoding / Content-Length lookalike matcher (SPEC §4.4).
//! - `target`: request-target forms and the Host value grammar.
//! - `view`: `RequestView` (what `classify` reads) and `LineFacts`.
//! - `classify`: `classify`, `Verdict`, `HeaderMark`; the order of checks is documented there.
//! - `ordinary`: `classify`'s fast path for a strict, origin-form head of ordinary fields.
//! - `te_cl`: the guardian's TE/CL semantics (SPEC §4.5) and the lists ringway frames from.
//! - `tokenize`: the lenient raw-head tokenizer for heads httparse refused (SPEC §5).
//! - `policy`: (mode, tier) -> `Action`.

mod chars;
mod classify;
mod ordinary;
mod policy;
mod reason;
mod similar;
mod target;
mod te_cl;
mod tokenize;
mod view;

/// Whether every byte may stand in a field value (HTAB, SP to `~`, obs-text; no other
/// control, no DEL), sixteen bytes at a time: the classifier's check, shared with `forward`.
pub(crate) use chars::all_value;
pub use classify::{classify, HeaderMark, HeaderTier, Verdict};
pub use policy::{action, Action};
pub use reason::{Reason, Tier};
pub use tokenize::{tokenize, RawRequest};
pub use view::{LineFacts, RequestView};
