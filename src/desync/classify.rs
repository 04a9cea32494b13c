//! `classify`: one pass over a request head, the guardian's checks in the guardian's order,
//! then ringway's own. The reported reason is the first check, in this order, that reached
//! the final tier (a check replaces the verdict only with a strictly higher tier, SPEC §3).
//! An ordinary request (`super::ordinary`) takes a fast path whose verdict this order gives
//! too; every other request runs `classify_all`, the order below.
//!
//! The order:
//! 1. Raw line facts (SPEC §5), as the guardian meets them while splitting lines: a bare LF
//!    (NonCrLfLineTermination), MissingUri, then the first folded (ObsFold) or colon-less
//!    (MissingHeaderColon) header line. There is no guardian "version ≥ HTTP/2 means
//!    Compliant" exit (SPEC §6): every request runs every check.
//! 2. Per header, in order: bytes of name and value (BadHeader, NonCompliantHeader), then
//!    EmptyHeader, then SuspiciousHeader, which also builds the TE and CL lists (§4.2-4.4).
//! 3. TE/CL semantics (§4.5). 4. Method (§4.6; an empty method is BadMethod too).
//! 5. Version (§4.7). 6. Request-target bytes (§4.8).
//! 7. ringway's own checks: WhitespaceBeforeColon, EmptyContentLength, TeChunkedNotLast,
//!    InvalidTargetForm, MissingHost, MultipleHost, BadHost, AbsoluteFormHostMismatch.
//!    They come last so that whenever the guardian's checks already reach the final tier,
//!    ringway reports ALB's reason code; they only ever raise the tier. Framing comes first
//!    among them because it is what smuggling exploits; Host last, because routing on a
//!    request whose framing is sound but whose Host is wrong is a misroute, not a desync.
//!
//! The guardian's checks keep the guardian's semantics exactly (an empty Content-Length is
//! 0 there, `chunked, gzip` passes there); ringway's stricter reading is only in step 7 and in
//! `Verdict::framing`, so an ALB reason code never changes because of a ringway rule.

use super::chars::{
    all_tchar, all_uri, all_value, is, is_token, trim_ows, BAD, CLASS, OWS, TCHAR, URI, VALUE,
};
use super::ordinary::ordinary;
use super::reason::{Reason, Tier};
use super::similar::{similarity, Similarity, CL, TE};
use super::target::{self, Form};
use super::te_cl::{te_cl_semantics, Lists, EMPTY_CL};
use super::view::RequestView;
use crate::http::{is_named, BodyFraming, FramingError, Header, Known, Version};

/// A header's own tier; Bad headers must not reach a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum HeaderTier {
    #[default]
    Compliant,
    NonCompliant,
    Bad,
}

impl HeaderTier {
    pub fn name(self) -> &'static str {
        match self {
            HeaderTier::Compliant => "Compliant",
            HeaderTier::NonCompliant => "NonCompliant",
            HeaderTier::Bad => "Bad",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderMark {
    pub tier: HeaderTier,
    /// Transfer-Encoding, Content-Length, or a lookalike of either (SuspiciousHeader):
    /// the forwarder drops every such header and writes the framing itself.
    pub framing: bool,
    /// The name is not an RFC 9110 token (for routing.http.drop_invalid_header_fields).
    pub invalid_name: bool,
    /// In the TE list `Verdict::framing` was computed from (the name is Transfer-Encoding or
    /// a lookalike that is not Bad, SPEC §4.4).
    pub te: bool,
    /// In the CL list, likewise.
    pub cl: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub tier: Tier,
    pub reason: Reason,
    /// How ringway frames the forwarded body, from the TE/CL lists including lookalike names
    /// (so ringway and any lenient target agree), per RFC 9112 §6.3: TE with chunked final
    /// and once -> Chunked (CL ignored); TE otherwise -> Err; TE in a request not HTTP/1.1
    /// -> Err (§6.1); CL values all valid and equal -> ContentLength(n), or None for 0;
    /// empty, invalid or differing CL -> Err; neither -> None. An Err can never be forwarded,
    /// whatever the mode (the worker refuses it: `worker::request::vet`).
    pub framing: Result<BodyFraming, FramingError>,
    /// The version to put on the forwarded request line; None when the request line cannot
    /// be forwarded at all (HTTP/0.9, BadVersion, empty or non-token method, target empty or
    /// containing SP/CTL/DEL, MissingUri). HTTP/1.2..1.9 forward as Http11, a padded 1.0 or
    /// 1.1 as itself.
    pub forward_version: Option<Version>,
}

#[derive(Clone, Copy)]
pub(super) struct State {
    tier: Tier,
    reason: Reason,
}

impl Default for State {
    fn default() -> Self {
        State {
            tier: Tier::Compliant,
            reason: Reason::Compliant,
        }
    }
}

impl State {
    pub(super) fn tier(&self) -> Tier {
        self.tier
    }

    pub(super) fn reason(&self) -> Reason {
        self.reason
    }

    #[inline]
    pub(super) fn upgrade(&mut self, reason: Reason) {
        let tier = reason.tier();
        if tier > self.tier {
            self.tier = tier;
            self.reason = reason;
        }
    }
}

/// Classifies one request head. `marks` must be at least `req.headers.len()` long; mark `i`
/// describes header `i`. Allocation-free.
pub fn classify(req: &RequestView<'_>, marks: &mut [HeaderMark]) -> Verdict {
    let marks = &mut marks[..req.headers.len()];
    match ordinary(req, marks) {
        Some(verdict) => verdict,
        None => classify_all(req, marks),
    }
}

/// Every check, in the order above; `marks` is as long as `req.headers`. Out of line, so that
/// the ordinary request (`ordinary`) does not pay for its registers and stack.
#[inline(never)]
pub(super) fn classify_all(req: &RequestView<'_>, marks: &mut [HeaderMark]) -> Verdict {
    let buf = req.buf;
    let headers = req.headers;
    let method = req.method.of(buf);
    let uri = req.target.of(buf);
    let raw_version = req.version.of(buf);
    let mut st = State::default();

    // 1. Raw line facts, in the order the guardian's line splitter meets them.
    if req.lines.bare_lf {
        st.upgrade(Reason::NonCrLfLineTermination);
    }
    if req.lines.missing_uri {
        st.upgrade(Reason::MissingUri);
    }
    let odd_lines = req.lines.obs_fold || req.lines.missing_colon;
    if odd_lines {
        odd_line_reason(req, &mut st);
    }

    // SPEC §3 step 2: an empty or all-blank version is HTTP/0.9. httparse's `HTTP/1.x` has
    // no OWS to trim.
    let strict = req.lines.strict;
    let trimmed_version = if strict {
        raw_version
    } else {
        trim_ows(raw_version)
    };
    let (version, trimmed): (&[u8], &[u8]) = if trimmed_version.is_empty() {
        (b"HTTP/0.9", b"HTTP/0.9")
    } else {
        (raw_version, trimmed_version)
    };

    // 2. Per header.
    let Fields {
        n_te,
        n_cl,
        first_listed,
        hosts,
        first_host,
        space_before_colon,
    } = fields(req, marks, &mut st);
    if odd_lines {
        mark_odd_lines(req, marks);
    }

    // 3. TE/CL semantics (SPEC §4.5).
    let mut lists = Lists::default();
    if n_te > 0 || n_cl > 0 {
        lists = te_cl_semantics(
            buf,
            &headers[first_listed..],
            &mut marks[first_listed..],
            method,
            version,
            (n_te, n_cl),
            &mut st,
        );
    }

    // 4. Method: a token, and not empty (SPEC §6: the guardian lets an empty one through).
    let method_ok = strict || is_token(method);
    if !method_ok {
        st.upgrade(Reason::BadMethod);
    }

    // 5. Version.
    check_version(version, trimmed, &mut st);

    // 6. Request-target bytes.
    let uri_clean = strict || all_uri(uri);
    if !uri_clean {
        uri_reason(uri, &mut st);
    }

    // 7. ringway's own checks.
    let forward_version = forward_version(
        method_ok,
        uri,
        uri_clean,
        trimmed_version,
        req.lines.missing_uri,
    );
    if space_before_colon {
        // RFC 9112 §5.1: a server MUST reject a request with whitespace between a field
        // name and its colon; on any name, since a target that trims it reads another field.
        st.upgrade(Reason::WhitespaceBeforeColon);
    }
    let Lists {
        codings,
        content_length,
    } = lists;
    if content_length == Err(EMPTY_CL) {
        // RFC 9110 §8.6: `Content-Length = 1*DIGIT`; the guardian reads it as 0.
        st.upgrade(Reason::EmptyContentLength);
    }
    if n_te > 0 && !(codings.final_chunked && codings.chunked == 1) {
        // RFC 9112 §6.3 rule 4 and §6.1: chunked must be the final coding, applied once.
        st.upgrade(Reason::TeChunkedNotLast);
    }
    let form = target::form(method, uri);
    if form == Form::Invalid {
        st.upgrade(Reason::InvalidTargetForm);
    }
    host_checks(req, hosts, first_host, form, forward_version, &mut st);

    let framing = if n_te > 0 {
        if forward_version != Some(Version::Http11) {
            Err(FramingError(
                "Transfer-Encoding in a request that is not HTTP/1.1",
            ))
        } else if !codings.final_chunked {
            Err(FramingError("chunked is not the final transfer coding"))
        } else if codings.chunked > 1 {
            Err(FramingError("chunked applied more than once"))
        } else {
            Ok(BodyFraming::Chunked)
        }
    } else {
        match content_length {
            Ok(None | Some(0)) => Ok(BodyFraming::None),
            Ok(Some(n)) => Ok(BodyFraming::ContentLength(n)),
            Err(e) => Err(e),
        }
    };

    Verdict {
        tier: st.tier,
        reason: st.reason,
        framing,
        forward_version,
    }
}

/// What the pass over the headers (step 2) found.
struct Fields {
    n_te: usize,
    n_cl: usize,
    /// The first header in the TE or CL list: the TE/CL checks need only the headers from it
    /// on (`headers.len()` when there is none).
    first_listed: usize,
    hosts: usize,
    first_host: usize,
    space_before_colon: bool,
}

/// Step 2: each header's mark, and the reasons of SPEC §4.2-4.4 into `st`. Nearly every
/// header is an ordinary one, settled by its `Known` id and a look at its name's length and
/// first byte; only the others go through `header_checks`. Under `LineFacts::strict` the
/// name and value bytes need no scan: httparse's grammar already holds them to the classes.
#[inline(always)]
fn fields(req: &RequestView<'_>, marks: &mut [HeaderMark], st: &mut State) -> Fields {
    let buf = req.buf;
    let strict = req.lines.strict;
    let mut f = Fields {
        n_te: 0,
        n_cl: 0,
        first_listed: req.headers.len(),
        hosts: 0,
        first_host: 0,
        space_before_colon: false,
    };
    for (i, (h, mark)) in req.headers.iter().zip(marks.iter_mut()).enumerate() {
        // `Header::known` is the name's id, so these compare one byte, not the name.
        if h.known == Known::Host {
            if f.hosts == 0 {
                f.first_host = i;
            }
            f.hosts += 1;
        }
        let name = h.name.of(buf);
        if strict || all_value(h.value.of(buf)) {
            // Transfer-Encoding or Content-Length itself, with a value of VALUE bytes:
            // Compliant, and in its list (SPEC §4.4).
            let te = h.known == Known::TransferEncoding;
            if te || h.known == Known::ContentLength {
                f.n_te += usize::from(te);
                f.n_cl += usize::from(!te);
                if f.first_listed == req.headers.len() {
                    f.first_listed = i;
                }
                *mark = HeaderMark {
                    framing: true,
                    te,
                    cl: !te,
                    ..HeaderMark::default()
                };
                continue;
            }
            // Nearly every header: a token name that cannot look like TE or CL, and a value
            // without controls. It passes every check below unchanged: the default mark.
            if surely_distant(name) && (strict || (!name.is_empty() && all_tchar(name))) {
                *mark = HeaderMark::default();
                continue;
            }
        }
        let (checked, space) = header_checks(name, h.value.of(buf), st);
        f.space_before_colon |= space;
        f.n_te += usize::from(checked.te);
        f.n_cl += usize::from(checked.cl);
        if (checked.te || checked.cl) && f.first_listed == req.headers.len() {
            f.first_listed = i;
        }
        *mark = checked;
    }
    f
}

/// SPEC §4.2-4.4 for a header that took neither short path in `classify`: its mark, and
/// whether its name ends in SP/HT. Kept out of line so that the loop over ordinary headers
/// stays small.
#[inline(never)]
fn header_checks(name: &[u8], value: &[u8], st: &mut State) -> (HeaderMark, bool) {
    let (te_sim, cl_sim) = name_similarity(name);
    let essential = te_sim == Similarity::Identical || cl_sim == Similarity::Identical;
    let name_tier = if all_tchar(name) {
        HeaderTier::Compliant
    } else {
        bytes_tier(name, TCHAR)
    };
    let mut tier = name_tier.max(value_tier(value));
    match tier {
        HeaderTier::Bad => st.upgrade(Reason::BadHeader),
        HeaderTier::NonCompliant => st.upgrade(Reason::NonCompliantHeader),
        HeaderTier::Compliant => {}
    }
    let (mut te, mut cl) = (false, false);
    // A name of tchars only is neither empty after trimming nor starts with ':' nor ends
    // in whitespace: the checks below need the bytes only for other names.
    let plain = name_tier == HeaderTier::Compliant && !name.is_empty();
    let space_before_colon = !plain && name.last().is_some_and(|&b| is(b, OWS));
    let empty = !plain && trim_ows(name).first().is_none_or(|&b| b == b':');
    if empty {
        tier = HeaderTier::Bad;
        st.upgrade(Reason::EmptyHeader);
    } else if !essential && tier != HeaderTier::Bad {
        if te_sim == Similarity::SameLetters {
            te = true;
        } else if cl_sim == Similarity::SameLetters {
            cl = true;
        }
        if te || cl {
            tier = HeaderTier::NonCompliant;
            st.upgrade(Reason::SuspiciousHeader);
        }
    } else if te_sim == Similarity::Identical {
        te = true;
    } else if cl_sim == Similarity::Identical {
        cl = true;
    }
    let mark = HeaderMark {
        tier,
        framing: te_sim != Similarity::Distant || cl_sim != Similarity::Distant,
        invalid_name: name_tier != HeaderTier::Compliant || name.is_empty(),
        te,
        cl,
    };
    (mark, space_before_colon)
}

/// The first folded or colon-less header line's reason (SPEC §5), as the guardian's line
/// splitter meets them.
#[cold]
fn odd_line_reason(req: &RequestView<'_>, st: &mut State) {
    for i in 0..req.headers.len() {
        if req.lines.obs_fold && is_fold(req.buf, req.headers, i) {
            st.upgrade(Reason::ObsFold);
            break;
        }
        if req.lines.missing_colon && is_colonless(&req.headers[i]) {
            st.upgrade(Reason::MissingHeaderColon);
            break;
        }
    }
}

/// A folded header and what it continues, and a colon-less line, never reach a target
/// (RFC 9112 §5.2: a fold may not be forwarded as it is).
#[cold]
fn mark_odd_lines(req: &RequestView<'_>, marks: &mut [HeaderMark]) {
    let headers = req.headers;
    for i in 0..headers.len() {
        if req.lines.obs_fold && is_fold(req.buf, headers, i) {
            marks[i].tier = HeaderTier::Bad;
            if i > 0 && headers[i].name == headers[i - 1].name {
                marks[i - 1].tier = HeaderTier::Bad;
            }
        }
        if req.lines.missing_colon && is_colonless(&headers[i]) {
            marks[i].tier = HeaderTier::Bad;
        }
    }
}

/// SPEC §4.8 for a target with a byte outside the URI class.
#[cold]
fn uri_reason(uri: &[u8], st: &mut State) {
    for &b in uri {
        let c = CLASS[b as usize];
        if c & URI != 0 {
        } else if c & BAD != 0 {
            st.upgrade(Reason::BadUri);
            break;
        } else if b == b' ' {
            st.upgrade(Reason::SpaceInUri);
        } else {
            st.upgrade(Reason::AmbiguousUri);
        }
    }
}

/// Header `i` is an obs-fold entry from `tokenize` (see `LineFacts::obs_fold`).
#[inline]
fn is_fold(buf: &[u8], headers: &[Header], i: usize) -> bool {
    let name = headers[i].name;
    (i > 0 && name == headers[i - 1].name)
        || (name.is_empty() && buf.get(name.start as usize).is_some_and(|&b| is(b, OWS)))
}

/// Header `h` is a colon-less line from `tokenize` (see `LineFacts::missing_colon`).
#[inline]
fn is_colonless(h: &Header) -> bool {
    h.value.start == h.name.end
}

/// Whether `similarity` is Distant for `name` against both TE and CL without the walk: it is
/// for a name shorter than its target (CL is the shorter) or whose first alphanumeric is not
/// the target's first letter.
#[inline(always)]
pub(super) fn surely_distant(name: &[u8]) -> bool {
    match name.first() {
        _ if name.len() < CL.len() => true,
        Some(&b) => b.is_ascii_alphanumeric() && !matches!(b | 0x20, b't' | b'c'),
        None => false,
    }
}

#[inline]
fn name_similarity(name: &[u8]) -> (Similarity, Similarity) {
    const DISTANT: (Similarity, Similarity) = (Similarity::Distant, Similarity::Distant);
    if surely_distant(name) {
        return DISTANT;
    }
    if is_named(name, TE) {
        return (Similarity::Identical, Similarity::Distant);
    }
    if is_named(name, CL) {
        return (Similarity::Distant, Similarity::Identical);
    }
    let te = similarity(TE, name);
    let cl = if te == Similarity::Distant {
        similarity(CL, name)
    } else {
        Similarity::Distant
    };
    (te, cl)
}

/// The guardian's per-byte tier: a byte outside `ok` is NonCompliant, a bad one (NUL, CR, LF)
/// is Bad and ends the scan.
#[inline]
fn bytes_tier(s: &[u8], ok: u8) -> HeaderTier {
    let mut tier = HeaderTier::Compliant;
    for &b in s {
        let c = CLASS[b as usize];
        if c & ok == 0 {
            if c & BAD != 0 {
                return HeaderTier::Bad;
            }
            tier = HeaderTier::NonCompliant;
        }
    }
    tier
}

/// `bytes_tier(value, VALUE)`, with the wide check first: nearly every value is all
/// 0x20..=0x7E, HT or obs-text, and only the others need the byte scan.
#[inline]
fn value_tier(value: &[u8]) -> HeaderTier {
    if all_value(value) {
        HeaderTier::Compliant
    } else {
        bytes_tier(value, VALUE)
    }
}

/// The minor version of `HTTP/1.<digit>`, exactly eight bytes.
#[inline]
fn http1_minor(v: &[u8]) -> Option<u8> {
    let v: &[u8; 8] = v.try_into().ok()?;
    (v[..7] == *b"HTTP/1." && v[7].is_ascii_digit()).then_some(v[7])
}

/// `trimmed` is `version` without OWS.
fn check_version(version: &[u8], trimmed: &[u8], st: &mut State) {
    if trimmed == b"HTTP/0.9" {
        st.upgrade(Reason::NonCompliantVersion);
        return;
    }
    match http1_minor(trimmed) {
        None => st.upgrade(Reason::BadVersion),
        Some(minor) if trimmed.len() != version.len() || minor > b'1' => {
            st.upgrade(Reason::NonCompliantVersion)
        }
        Some(_) => {}
    }
}

/// `version` is the request line's version without OWS; `method_ok`: the method is a token;
/// `uri_clean`: every target byte is in the URI class, that is none is SP, a control or DEL.
fn forward_version(
    method_ok: bool,
    uri: &[u8],
    uri_clean: bool,
    version: &[u8],
    missing_uri: bool,
) -> Option<Version> {
    if missing_uri || !method_ok || uri.is_empty() || !uri_clean {
        return None;
    }
    http1_minor(version).map(|minor| {
        if minor == b'0' {
            Version::Http10
        } else {
            Version::Http11
        }
    })
}

/// RFC 9112 §3.2 and §3.2.2 (the fast path for ordinary heads runs them too).
pub(super) fn host_checks(
    req: &RequestView<'_>,
    hosts: usize,
    first_host: usize,
    form: Form<'_>,
    version: Option<Version>,
    st: &mut State,
) {
    if hosts == 0 {
        if version == Some(Version::Http11) {
            st.upgrade(Reason::MissingHost);
        }
        return;
    }
    if hosts > 1 {
        st.upgrade(Reason::MultipleHost);
    }
    let value = req.headers[first_host].value.of(req.buf);
    // httparse hands values over without leading or trailing OWS.
    let host = if req.lines.strict {
        value
    } else {
        trim_ows(value)
    };
    // An empty Host is what a client sends for a target without an authority.
    if !host.is_empty() && !target::host_port(host, false) {
        st.upgrade(Reason::BadHost);
    }
    if let Form::Absolute(authority) = form {
        if !authority.eq_ignore_ascii_case(host) {
            st.upgrade(Reason::AbsoluteFormHostMismatch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desync::tokenize;
    use crate::http::Limits;

    /// Tokenizes and classifies `head`, returning the verdict and the header marks.
    fn run(head: &[u8]) -> (Verdict, Vec<HeaderMark>) {
        let mut headers = Vec::new();
        let raw = tokenize(head, &Limits::default(), &mut headers)
            .expect("within limits")
            .expect("complete head");
        let mut marks = vec![HeaderMark::default(); headers.len()];
        let v = classify(&raw.view(head, &headers), &mut marks);
        (v, marks)
    }

    fn verdict(head: &[u8]) -> (Tier, Reason) {
        let (v, _) = run(head);
        (v.tier, v.reason)
    }

    #[test]
    fn a_plain_request_is_compliant_and_forwarded_as_is() {
        let (v, marks) = run(b"GET /a HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n");
        assert_eq!((v.tier, v.reason), (Tier::Compliant, Reason::Compliant));
        assert_eq!(v.framing, Ok(BodyFraming::None));
        assert_eq!(v.forward_version, Some(Version::Http11));
        assert!(marks.iter().all(|m| *m == HeaderMark::default()));
    }

    #[test]
    fn te_and_cl_together_frame_by_chunked_and_mark_cl_bad() {
        let (v, marks) = run(
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        );
        assert_eq!(
            (v.tier, v.reason),
            (Tier::Ambiguous, Reason::BothTeClPresent)
        );
        assert_eq!(v.framing, Ok(BodyFraming::Chunked));
        assert_eq!(marks[2].tier, HeaderTier::Bad);
        assert!(marks[1].framing && marks[1].te && marks[2].cl);
    }

    #[test]
    fn chunked_not_last_or_twice_is_severe_and_unframeable() {
        for te in [&b"chunked, gzip"[..], b"gzip", b"chunked, gzip, chunked"] {
            let head = [
                &b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "[..],
                te,
                b"\r\n\r\n",
            ]
            .concat();
            let (v, _) = run(&head);
            assert_eq!((v.tier, v.reason), (Tier::Severe, Reason::TeChunkedNotLast));
            assert!(v.framing.is_err());
        }
    }

    #[test]
    fn an_empty_content_length_is_severe() {
        let (v, _) = run(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n");
        assert_eq!(
            (v.tier, v.reason),
            (Tier::Severe, Reason::EmptyContentLength)
        );
        assert!(v.framing.is_err());
    }

    #[test]
    fn a_lookalike_content_length_joins_the_list() {
        let (v, _) = run(
            b"POST / HTTP/1.1\r\nHost: a\r\nContent_Length: 100\r\nContent-Length: 1000\r\n\r\n",
        );
        assert_eq!(
            (v.tier, v.reason),
            (Tier::Severe, Reason::MultipleContentLength)
        );
        assert!(v.framing.is_err());
    }

    #[test]
    fn versions_at_or_above_http_2_do_not_bypass_the_checks() {
        for version in [&b"HTTP/2.0"[..], b"http/1.1", b"XTTP/1.1"] {
            let head = [
                &b"POST / "[..],
                version,
                b"\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            ]
            .concat();
            let (v, _) = run(&head);
            assert_eq!(v.tier, Tier::Severe);
            assert_eq!(v.forward_version, None);
        }
        assert_eq!(
            verdict(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
            (Tier::Severe, Reason::BadVersion)
        );
    }

    #[test]
    fn an_empty_method_is_a_bad_method() {
        assert_eq!(
            verdict(b" / HTTP/1.1\r\nHost: a\r\n\r\n"),
            (Tier::Severe, Reason::BadMethod)
        );
    }

    #[test]
    fn host_must_be_there_once_and_well_formed() {
        let t = |h: &[u8]| verdict(&[&b"GET / HTTP/1.1\r\n"[..], h, b"\r\n"].concat());
        assert_eq!(t(b""), (Tier::Severe, Reason::MissingHost));
        assert_eq!(
            t(b"Host: a\r\nHost: a\r\n"),
            (Tier::Severe, Reason::MultipleHost)
        );
        assert_eq!(t(b"Host: a b\r\n"), (Tier::Severe, Reason::BadHost));
        assert_eq!(t(b"Host: a:99999\r\n"), (Tier::Severe, Reason::BadHost));
        assert_eq!(t(b"Host:\r\n"), (Tier::Compliant, Reason::Compliant));
        assert_eq!(
            t(b"Host: [::1]:8080\r\n"),
            (Tier::Compliant, Reason::Compliant)
        );
        assert_eq!(
            verdict(b"GET / HTTP/1.0\r\n\r\n"),
            (Tier::Compliant, Reason::Compliant)
        );
    }

    #[test]
    fn absolute_form_authority_must_match_host() {
        assert_eq!(
            verdict(b"GET http://evil.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n"),
            (Tier::Ambiguous, Reason::AbsoluteFormHostMismatch)
        );
        assert_eq!(
            verdict(b"GET http://u@A.example/ HTTP/1.1\r\nHost: a.EXAMPLE\r\n\r\n"),
            (Tier::Compliant, Reason::Compliant)
        );
    }

    #[test]
    fn target_forms_are_paired_with_their_methods() {
        let t = |line: &[u8]| verdict(&[line, &b"\r\nHost: a:443\r\n\r\n"[..]].concat());
        assert_eq!(
            t(b"OPTIONS * HTTP/1.1"),
            (Tier::Compliant, Reason::Compliant)
        );
        assert_eq!(
            t(b"CONNECT a:443 HTTP/1.1"),
            (Tier::Compliant, Reason::Compliant)
        );
        assert_eq!(
            t(b"GET * HTTP/1.1"),
            (Tier::Severe, Reason::InvalidTargetForm)
        );
        assert_eq!(
            t(b"GET a:443 HTTP/1.1"),
            (Tier::Severe, Reason::InvalidTargetForm)
        );
        assert_eq!(
            t(b"CONNECT / HTTP/1.1"),
            (Tier::Severe, Reason::InvalidTargetForm)
        );
    }

    #[test]
    fn a_fold_is_severe_even_under_content_type_and_both_lines_are_dropped() {
        let (v, marks) =
            run(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\n Content-Length: 5\r\n\r\n");
        assert_eq!((v.tier, v.reason), (Tier::Severe, Reason::ObsFold));
        assert_eq!(marks[1].tier, HeaderTier::Bad);
        assert_eq!(marks[2].tier, HeaderTier::Bad);
        assert_eq!(marks[0].tier, HeaderTier::Compliant);
        assert_eq!(v.framing, Ok(BodyFraming::None));
    }

    #[test]
    fn a_line_without_colon_is_severe_and_dropped() {
        let (v, marks) = run(b"GET / HTTP/1.1\r\nHost: a\r\nnonsense\r\n\r\n");
        assert_eq!(
            (v.tier, v.reason),
            (Tier::Severe, Reason::MissingHeaderColon)
        );
        assert_eq!(marks[1].tier, HeaderTier::Bad);
    }

    #[test]
    fn whitespace_before_a_colon_is_severe_on_any_name() {
        for h in [&b"X-Y : a"[..], b"X-Y\t: a", b"Transfer-Encoding : chunked"] {
            let head = [&b"POST / HTTP/1.1\r\nHost: a\r\n"[..], h, b"\r\n\r\n"].concat();
            assert_eq!(
                verdict(&head),
                (Tier::Severe, Reason::WhitespaceBeforeColon)
            );
        }
    }

    #[test]
    fn http_1_0_with_te_is_the_guardians_ambiguous_and_cannot_be_framed() {
        let (v, marks) =
            run(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(
            (v.tier, v.reason),
            (Tier::Ambiguous, Reason::UndefinedTransferEncodingSemantics)
        );
        assert!(v.framing.is_err());
        assert_eq!(marks[0].tier, HeaderTier::NonCompliant);
        assert_eq!(marks[1].tier, HeaderTier::Bad);
    }

    #[test]
    fn a_leading_empty_line_is_skipped_not_missing_uri() {
        assert_eq!(
            verdict(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            (Tier::Compliant, Reason::Compliant)
        );
    }

    #[test]
    fn bare_lf_lines_are_acceptable() {
        assert_eq!(
            verdict(b"GET / HTTP/1.1\nHost: a\n\n"),
            (Tier::Acceptable, Reason::NonCrLfLineTermination)
        );
    }

    #[test]
    fn content_length_zero_frames_as_no_body_and_get_with_zero_is_acceptable() {
        let (v, marks) = run(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(
            (v.tier, v.reason),
            (Tier::Acceptable, Reason::GetHeadZeroContentLength)
        );
        assert_eq!(v.framing, Ok(BodyFraming::None));
        assert_eq!(marks[1].tier, HeaderTier::NonCompliant);
        let (v, _) = run(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n");
        assert_eq!(v.framing, Ok(BodyFraming::ContentLength(7)));
    }

    #[test]
    fn the_wide_value_scan_agrees_with_the_byte_scan() {
        let mut x = 0x12345u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bytes = x.to_le_bytes();
            let len = (x >> 60) as usize + 3;
            let v: Vec<u8> = bytes.iter().cycle().take(len).copied().collect();
            assert_eq!(value_tier(&v), bytes_tier(&v, VALUE), "{v:?}");
        }
        for b in 0..=255u8 {
            let v = [b'a', b'b', b'c', b'd', b, b'e', b'f', b'g', b'h'];
            assert_eq!(value_tier(&v), bytes_tier(&v, VALUE), "{b}");
        }
    }
}
