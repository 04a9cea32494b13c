//! ringway's classifier against aws/http-desync-guardian 0.1.3 (the crate ALB's classifier
//! comes from), on the corpus and on deterministic mutations of it. Every disagreement must
//! fall in a named class that cites the rule ringway follows instead (`explain`); the test
//! prints the count per class and fails on an unexplained one, printing it in hex.

#[path = "desync_support/mod.rs"]
mod support;

use std::collections::BTreeMap;

use http_desync_guardian::http_token_utils::{determine_similarity, TokenSimilarity, CL, TE};
use http_desync_guardian::request_analyzer::{HttpHeader, HttpRequestData};
use ringway::desync::{tokenize, HeaderMark, LineFacts, Reason, Tier};
use ringway::http::Limits;
use support::{load, show, Case, Structured};

/// Mutations per mode in the default `cargo test`.
const MUTATIONS: usize = 100_000;

/// A request as fields, the form both classifiers take in parsed mode.
#[derive(Clone, Debug)]
struct Fields {
    method: Vec<u8>,
    uri: Vec<u8>,
    version: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Fields {
    fn of(c: &Case) -> Self {
        Fields {
            method: c.method.clone(),
            uri: c.uri.clone(),
            version: c.version.clone(),
            headers: c
                .headers
                .iter()
                .map(|(n, v, _)| (n.clone(), v.clone()))
                .collect(),
        }
    }
}

/// Why ringway and the guardian may disagree. Each names the rule ringway follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// SPEC §6: the guardian returns Compliant for any version token ≥ "HTTP/2"
    /// (`HTTP/2.0`, `http/1.1`, `XTTP/1.1`); ringway runs every check (RFC 9112 §2.3:
    /// HTTP-version is `HTTP/1.x`, case-sensitive).
    VersionBypass,
    /// RFC 9112 §3 (method = token = 1*tchar): an empty method is BadMethod; the guardian
    /// lets it pass (SPEC §6).
    EmptyMethod,
    /// ringway's own checks (RFC 9112 §3.2, §3.2.2, §5.1, §5.2, §6.3; RFC 9110 §8.6), each
    /// confirmed by a predicate on the input that does not use ringway's code.
    MissingHost,
    MultipleHost,
    BadHost,
    AbsoluteFormHostMismatch,
    TeChunkedNotLast,
    EmptyContentLength,
    WhitespaceBeforeColon,
    InvalidTargetForm,
    /// Raw mode: RFC 9112 §2.2, a server SHOULD ignore empty lines before the request line;
    /// the guardian reads the empty line as the request line (MissingUri) and every line
    /// after it one place off (the real request line becomes a header).
    LeadingEmptyLine,
    /// Raw mode: RFC 9112 §5.2, any obs-fold (Content-Type included, SPEC §6) is Severe
    /// ObsFold; the guardian: MultilineHeader (Ambiguous), nothing for Content-Type, or it
    /// reads a fold with a colon as a header of its own.
    ObsFold,
    /// Raw mode: a colon-less header line (RFC 9112 §5.1) or a request line without target
    /// (§3) cannot be forwarded: Severe, where the guardian says Ambiguous.
    UnreadableLine,
}

struct Outcome {
    ringway: (Tier, Reason),
    guardian: (String, String),
}

fn guardian_parsed(f: &Fields) -> (String, String) {
    let mut req = HttpRequestData {
        method: &f.method,
        version: &f.version,
        uri: &f.uri,
        headers: f
            .headers
            .iter()
            .map(|(n, v)| HttpHeader::new(n, v))
            .collect(),
    };
    let r = req.analyze_parsed_request();
    (format!("{:?}", r.tier), format!("{:?}", r.reason))
}

fn guardian_raw(raw: &[u8]) -> (String, String) {
    let r = HttpRequestData::analyze_raw_request(raw);
    (format!("{:?}", r.tier), format!("{:?}", r.reason))
}

fn ringway_parsed(f: &Fields) -> (Tier, Reason) {
    let hs: Vec<(&[u8], &[u8])> = f.headers.iter().map(|(n, v)| (&n[..], &v[..])).collect();
    let (v, _) = Structured::new(&f.method, &f.uri, &f.version, &hs).classify();
    (v.tier, v.reason)
}

fn agree(o: &Outcome) -> bool {
    o.ringway.0.name() == o.guardian.0 && o.ringway.1.name() == o.guardian.1
}

fn tier_of(name: &str) -> Tier {
    Tier::ALL
        .into_iter()
        .find(|t| t.name() == name)
        .expect("tier")
}

fn trim(s: &[u8]) -> &[u8] {
    let a = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let z = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(a, |z| z + 1);
    &s[a..z]
}

/// `host[:port]` in its most common shape; every value outside it that ringway accepts is
/// rarer, so a BadHost must at least fall outside it.
fn plain_host(v: &[u8]) -> bool {
    let (h, port) = match v.iter().rposition(|&b| b == b':') {
        Some(i) => (&v[..i], Some(&v[i + 1..])),
        None => (v, None),
    };
    !h.is_empty()
        && h.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 5
                && p.iter().all(u8::is_ascii_digit)
                && std::str::from_utf8(p).unwrap().parse::<u32>().unwrap() <= 65535
        })
}

/// Whether the guardian's own matcher puts `name` near `target`.
fn near(target: &[u8], name: &[u8]) -> bool {
    determine_similarity(target, name) != TokenSimilarity::Distant
}

/// The class a disagreement on `f` falls in, or None.
fn explain(
    f: &Fields,
    o: &Outcome,
    lines: Option<&LineFacts>,
    raw: Option<&[u8]>,
) -> Option<Class> {
    let (rt, rr) = o.ringway;
    let gt = tier_of(&o.guardian.0);
    if f.version.as_slice() >= &b"HTTP/2"[..] && o.guardian.0 == "Compliant" {
        return Some(Class::VersionBypass);
    }
    if let Some(raw) = raw {
        if raw.starts_with(b"\r\n") || raw.starts_with(b"\n") {
            return Some(Class::LeadingEmptyLine);
        }
    }
    if let Some(l) = lines {
        if l.obs_fold && rt == Tier::Severe {
            return Some(Class::ObsFold);
        }
        if (l.missing_colon || l.missing_uri) && rt == Tier::Severe {
            return Some(Class::UnreadableLine);
        }
    }
    if f.method.is_empty() && rr == Reason::BadMethod {
        return Some(Class::EmptyMethod);
    }
    if rt <= gt {
        return None;
    }
    let hosts: Vec<&[u8]> = f
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(b"host"))
        .map(|(_, v)| trim(v))
        .collect();
    let te: Vec<&[u8]> = f
        .headers
        .iter()
        .filter(|(n, _)| near(TE, n))
        .map(|(_, v)| &v[..])
        .collect();
    let codings: Vec<&[u8]> = te
        .iter()
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|c| trim(trim(c).split(|&b| b == b';').next().unwrap_or(b"")))
        .filter(|c| !c.is_empty())
        .collect();
    let chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
    let v = trim(&f.version);
    let http11 = v.len() == 8 && v.starts_with(b"HTTP/1.") && (b'1'..=b'9').contains(&v[7]);
    let holds = match rr {
        Reason::MissingHost => hosts.is_empty() && http11,
        Reason::MultipleHost => hosts.len() > 1,
        Reason::BadHost => hosts
            .first()
            .is_some_and(|h| !h.is_empty() && !plain_host(h)),
        Reason::AbsoluteFormHostMismatch => {
            f.uri.first().is_some_and(u8::is_ascii_alphabetic)
                && f.uri.windows(3).any(|w| w == b"://")
        }
        Reason::TeChunkedNotLast => {
            !te.is_empty()
                && (codings.last().is_none_or(|c| !chunked(c))
                    || codings.iter().filter(|c| chunked(c)).count() > 1)
        }
        Reason::EmptyContentLength => f
            .headers
            .iter()
            .any(|(n, v)| near(CL, n) && trim(v).is_empty()),
        Reason::WhitespaceBeforeColon => f
            .headers
            .iter()
            .any(|(n, _)| n.last().is_some_and(|&b| b == b' ' || b == b'\t')),
        Reason::InvalidTargetForm => !(f.uri.first() == Some(&b'/') && f.method != b"CONNECT"),
        _ => false,
    };
    let class = match rr {
        Reason::MissingHost => Class::MissingHost,
        Reason::MultipleHost => Class::MultipleHost,
        Reason::BadHost => Class::BadHost,
        Reason::AbsoluteFormHostMismatch => Class::AbsoluteFormHostMismatch,
        Reason::TeChunkedNotLast => Class::TeChunkedNotLast,
        Reason::EmptyContentLength => Class::EmptyContentLength,
        Reason::WhitespaceBeforeColon => Class::WhitespaceBeforeColon,
        Reason::InvalidTargetForm => Class::InvalidTargetForm,
        _ => return None,
    };
    holds.then_some(class)
}

/// xorshift64*: deterministic, no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

const BYTES: &[&[u8]] = &[
    b" ",
    b"\t",
    b"\r",
    b"\n",
    b"\0",
    b":",
    b",",
    b"\x7f",
    "\u{17f}".as_bytes(),
    b"\r\n",
    b"-",
    b"_",
];
const VERSIONS: &[&[u8]] = &[
    b"HTTP/1.1",
    b"HTTP/1.0",
    b"HTTP/2.0",
    b"http/1.1",
    b"HTTP/1.10",
    b"HTTP/1.1 ",
    b"",
    b"HTTP/0.9",
    b"HTTP/1.9",
    b"XTTP/1.1",
    b"\tHTTP/1.0",
];
const METHODS: &[&[u8]] = &[
    b"GET", b"HEAD", b"POST", b"", b"get", b"CONNECT", b"OPTIONS", b"P(ST", b"PUT",
];
const URIS: &[&[u8]] = &[
    b"/",
    b"*",
    b"http://corpus.test/a",
    b"http://evil.example/",
    b"corpus.test:443",
    b"",
    b"/a b",
    b"/a\tb",
];
const TE_VALUES: &[&[u8]] = &[
    b"chunked",
    b"gzip, chunked",
    b"chunked, gzip",
    b"identity",
    b"",
    b"chunked,chunked",
];
const CL_VALUES: &[&[u8]] = &[b"0", b"5", b"", b" 5 ", b"5, 5", b"+5", b"007"];
const HOSTS: &[&[u8]] = &[
    b"corpus.test",
    b"",
    b"a b",
    b"[::1]:80",
    b"a:99999",
    b"evil.example",
    b"x:1",
];

fn mutate_bytes(rng: &mut Rng, field: &mut Vec<u8>) {
    let at = rng.below(field.len() + 1);
    let ins = rng.pick(BYTES);
    if rng.below(2) == 0 || at == field.len() {
        field.splice(at..at, ins.iter().copied());
    } else {
        field[at] = if rng.below(3) == 0 {
            rng.next() as u8
        } else {
            ins[0]
        };
    }
}

fn mutate(rng: &mut Rng, f: &mut Fields) {
    for _ in 0..1 + rng.below(3) {
        let n = f.headers.len();
        match rng.below(12) {
            0 => mutate_bytes(rng, &mut f.method),
            1 => mutate_bytes(rng, &mut f.uri),
            2 => mutate_bytes(rng, &mut f.version),
            3 | 4 if n > 0 => {
                let i = rng.below(n);
                let h = &mut f.headers[i];
                let name = rng.below(2) == 0;
                mutate_bytes(rng, if name { &mut h.0 } else { &mut h.1 });
            }
            5 if n > 0 => {
                let i = rng.below(n);
                let h = f.headers[i].clone();
                f.headers.insert(rng.below(n + 1), h);
            }
            6 => {
                let (name, value): (&[u8], &[u8]) = if rng.below(2) == 0 {
                    (b"Transfer-Encoding", rng.pick(TE_VALUES))
                } else {
                    (b"Content-Length", rng.pick(CL_VALUES))
                };
                f.headers
                    .insert(rng.below(n + 1), (name.to_vec(), value.to_vec()));
            }
            7 => f.version = rng.pick(VERSIONS).to_vec(),
            8 => f.method = rng.pick(METHODS).to_vec(),
            9 => f.uri = rng.pick(URIS).to_vec(),
            10 => f.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(b"host")),
            _ => {
                let v = rng.pick(HOSTS).to_vec();
                f.headers.insert(rng.below(n + 1), (b"Host".to_vec(), v));
            }
        }
    }
}

#[derive(Default)]
struct Tally {
    compared: usize,
    agreed: usize,
    classes: BTreeMap<Class, usize>,
    unexplained: Vec<String>,
}

impl Tally {
    fn report(&self, mode: &str) {
        eprintln!(
            "{mode}: {} compared, {} agree, {} differ",
            self.compared,
            self.agreed,
            self.compared - self.agreed
        );
        for (c, n) in &self.classes {
            eprintln!("  {c:?}: {n}");
        }
        assert!(
            self.unexplained.is_empty(),
            "{} unexplained, first ones:\n{}",
            self.unexplained.len(),
            self.unexplained
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn parsed_mode_agrees_with_the_guardian_but_for_named_classes() {
    let cases = load();
    let mut tally = Tally::default();
    let mut rng = Rng(0x005e_ed0f_de5c);
    let mut inputs: Vec<Fields> = cases.iter().map(Fields::of).collect();
    for k in 0..MUTATIONS {
        let mut f = Fields::of(&cases[k % cases.len()]);
        mutate(&mut rng, &mut f);
        inputs.push(f);
    }
    for f in &inputs {
        let o = Outcome {
            ringway: ringway_parsed(f),
            guardian: guardian_parsed(f),
        };
        tally.compared += 1;
        if agree(&o) {
            tally.agreed += 1;
            continue;
        }
        match explain(f, &o, None, None) {
            Some(c) => *tally.classes.entry(c).or_default() += 1,
            None => tally.unexplained.push(format!(
                "ringway {:?} guardian {:?}: method {} uri {} version {} headers {}",
                o.ringway,
                o.guardian,
                hex(&f.method),
                hex(&f.uri),
                hex(&f.version),
                f.headers
                    .iter()
                    .map(|(n, v)| format!("{}:{}", hex(n), hex(v)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
    }
    tally.report("parsed");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Raw head `k`: the corpus case itself for the first `cases.len()`, then a mutation of one
/// (1 to 3 bytes replaced or inserted in the head, its final CRLF CRLF kept).
fn raw_case(cases: &[Case], k: usize, rng: &mut Rng) -> Vec<u8> {
    let mut raw = cases[k % cases.len()].raw.clone();
    if k >= cases.len() {
        let end = raw.len() - 4;
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(end);
            let ins = rng.pick(BYTES);
            if rng.below(2) == 0 {
                raw.splice(at..at, ins.iter().copied());
            } else {
                raw[at] = ins[0];
            }
        }
    }
    raw
}

#[test]
fn raw_mode_agrees_with_the_guardian_but_for_named_classes() {
    let cases = load();
    let mut tally = Tally::default();
    let mut rng = Rng(0xfeed_beef_0001);
    let mut headers = Vec::new();
    let mut incomplete = 0;
    for k in 0..cases.len() + MUTATIONS {
        let raw = raw_case(&cases, k, &mut rng);
        let Ok(Some(r)) = tokenize(&raw, &Limits::default(), &mut headers) else {
            incomplete += 1;
            continue;
        };
        let mut marks = vec![HeaderMark::default(); headers.len()];
        let v = ringway::desync::classify(&r.view(&raw, &headers), &mut marks);
        let o = Outcome {
            ringway: (v.tier, v.reason),
            guardian: guardian_raw(&raw),
        };
        tally.compared += 1;
        if agree(&o) {
            tally.agreed += 1;
            continue;
        }
        let f = Fields {
            method: r.method.of(&raw).to_vec(),
            uri: r.target.of(&raw).to_vec(),
            version: r.version.of(&raw).to_vec(),
            headers: headers
                .iter()
                .map(|h| (h.name.of(&raw).to_vec(), h.value.of(&raw).to_vec()))
                .collect(),
        };
        match explain(&f, &o, Some(&r.lines), Some(&raw)) {
            Some(c) => *tally.classes.entry(c).or_default() += 1,
            None => tally.unexplained.push(format!(
                "ringway {:?} guardian {:?}: {} ({})",
                o.ringway,
                o.guardian,
                hex(&raw),
                show(&raw)
            )),
        }
    }
    eprintln!("raw: {incomplete} heads not complete for tokenize (not compared)");
    tally.report("raw");
}

/// The worker reads a head with httparse and falls back to `tokenize` only when httparse
/// refuses it; both readings must give the classifier the same request, or the verdict would
/// depend on which parser happened to read it. On every corpus head and mutation httparse
/// accepts, `from_parsed` and `tokenize` give the same verdict, marks and head length.
#[test]
fn both_readers_give_the_same_verdict_on_heads_httparse_accepts() {
    let cases = load();
    let mut rng = Rng(0x0b0e_5eed_2026);
    let mut headers = Vec::new();
    let limits = Limits::default();
    let mut compared = 0;
    for k in 0..cases.len() + MUTATIONS {
        let raw = raw_case(&cases, k, &mut rng);
        let Ok(Some(head)) = ringway::http::parse_request(&raw, &limits) else {
            continue;
        };
        let Ok(Some(r)) = tokenize(&raw, &limits, &mut headers) else {
            panic!("httparse reads a head tokenize does not: {}", show(&raw));
        };
        compared += 1;
        let mut parsed_marks = vec![HeaderMark::default(); head.headers.len()];
        let parsed = ringway::desync::classify(
            &ringway::desync::RequestView::from_parsed(&raw, &head),
            &mut parsed_marks,
        );
        let mut raw_marks = vec![HeaderMark::default(); headers.len()];
        let lenient = ringway::desync::classify(&r.view(&raw, &headers), &mut raw_marks);
        let what = show(&raw);
        assert_eq!(r.len, head.len, "head length: {what}");
        assert_eq!(parsed, lenient, "verdict: {what}");
        assert_eq!(parsed_marks, raw_marks, "marks: {what}");
    }
    eprintln!("both readers: {compared} heads httparse accepts compared");
    assert!(compared > 5_000, "only {compared} heads compared");
}
