//! Shared by the desync tests: the corpus of shared/desync/corpus, loaded per its README, and
//! structured requests turned into a buffer with spans for `classify`.
#![allow(dead_code)]

use std::path::PathBuf;

use ringway::desync::{classify, tokenize, HeaderMark, RequestView, Verdict};
use ringway::http::{Header, Limits, Span};

pub const HOST_NAME: &[u8] = b"Host";
pub const HOST_VALUE: &[u8] = b"corpus.test";

/// One corpus case, bytes decoded.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: String,
    pub index: usize,
    pub name: String,
    pub method: Vec<u8>,
    pub uri: Vec<u8>,
    pub version: Vec<u8>,
    /// (name, value, expected header tier); `Host: corpus.test` first where the case has none.
    pub headers: Vec<(Vec<u8>, Vec<u8>, String)>,
    /// Whether `headers[0]` is the inserted Host.
    pub host_inserted: bool,
    pub raw: Vec<u8>,
    pub tier: String,
    pub reason: String,
}

pub fn corpus_dir() -> PathBuf {
    let base = std::env::var("RINGWAY_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    base.join("desync/corpus")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// All 159 cases: the 158 of corpus.jsonl, then the one of single-case.yaml.
pub fn load() -> Vec<Case> {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("corpus.jsonl")).expect("corpus.jsonl");
    let mut cases = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("json");
        let s = |k: &str| v[k].as_str().expect(k).to_string();
        let headers = v["headers"]
            .as_array()
            .expect("headers")
            .iter()
            .map(|h| {
                (
                    hex(h["name_hex"].as_str().unwrap()),
                    hex(h["value_hex"].as_str().unwrap()),
                    h["expected_header_tier"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        cases.push(finish(Case {
            file: s("file"),
            index: v["index"].as_u64().unwrap() as usize,
            name: s("name"),
            method: hex(&s("method_hex")),
            uri: hex(&s("uri_hex")),
            version: hex(&s("version_hex")),
            headers,
            host_inserted: false,
            raw: hex(&s("raw_hex")),
            tier: s("expected_tier"),
            reason: s("expected_reason"),
        }));
    }
    let yaml = std::fs::read_to_string(dir.join("single-case.yaml")).expect("single-case.yaml");
    let docs: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("yaml");
    for (index, c) in docs.as_sequence().expect("a list").iter().enumerate() {
        let field = |v: &serde_yaml::Value| -> Vec<u8> {
            let text = match v {
                serde_yaml::Value::String(s) => s.clone(),
                serde_yaml::Value::Number(n) => n.to_string(),
                serde_yaml::Value::Null => String::new(),
                other => panic!("unexpected {other:?}"),
            };
            unescape(&text).into_bytes()
        };
        let headers = c["headers"]
            .as_sequence()
            .map(|hs| {
                hs.iter()
                    .map(|h| {
                        (
                            field(&h["name"]),
                            field(&h["value"]),
                            h["tier"].as_str().unwrap_or("Compliant").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut case = Case {
            file: "single-case.yaml".into(),
            index,
            name: c["name"].as_str().unwrap_or("").to_string(),
            method: field(&c["method"]),
            uri: field(&c["uri"]),
            version: field(&c["version"]),
            headers,
            host_inserted: false,
            raw: Vec::new(),
            tier: c["expected"]["tier"].as_str().unwrap().to_string(),
            reason: c["expected"]["reason"].as_str().unwrap().to_string(),
        };
        case.raw = raw_of(&case.method, &case.uri, &case.version, &case.headers);
        cases.push(finish(case));
    }
    cases
}

/// The corpus README's second backslash-unescape.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('x') => {
                let h: String = it.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&h, 16).expect("\\xHH")));
            }
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// The corpus README's raw form: `METHOD SP URI SP VERSION CRLF (NAME ": " VALUE CRLF)* CRLF`.
pub fn raw_of(m: &[u8], u: &[u8], v: &[u8], headers: &[(Vec<u8>, Vec<u8>, String)]) -> Vec<u8> {
    let mut raw = [m, b" ", u, b" ", v, b"\r\n"].concat();
    for (n, val, _) in headers {
        raw.extend_from_slice(&[n.as_slice(), b": ", val, b"\r\n"].concat());
    }
    raw.extend_from_slice(b"\r\n");
    raw
}

/// Inserts `Host: corpus.test` first where the case has no Host (corpus README), and the
/// same line into the raw form.
fn finish(mut c: Case) -> Case {
    if !c
        .headers
        .iter()
        .any(|(n, _, _)| n.eq_ignore_ascii_case(b"host"))
    {
        c.headers.insert(
            0,
            (HOST_NAME.to_vec(), HOST_VALUE.to_vec(), "Compliant".into()),
        );
        c.host_inserted = true;
        let eol = c
            .raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("request line")
            + 2;
        let line = [HOST_NAME, b": ", HOST_VALUE, b"\r\n"].concat();
        c.raw.splice(eol..eol, line);
    }
    c
}

/// A buffer holding every field, with spans into it, for structured-mode `classify`.
pub struct Structured {
    pub buf: Vec<u8>,
    pub method: Span,
    pub target: Span,
    pub version: Span,
    pub headers: Vec<Header>,
}

impl Structured {
    pub fn new(method: &[u8], uri: &[u8], version: &[u8], headers: &[(&[u8], &[u8])]) -> Self {
        let mut buf = Vec::new();
        let mut put = |b: &[u8], sep: &[u8]| {
            let start = buf.len() as u32;
            buf.extend_from_slice(b);
            let end = buf.len() as u32;
            buf.extend_from_slice(sep);
            Span { start, end }
        };
        let method = put(method, b" ");
        let target = put(uri, b" ");
        let version = put(version, b"\r\n");
        let spans: Vec<_> = headers
            .iter()
            .map(|(n, v)| (put(n, b": "), put(v, b"\r\n")))
            .collect();
        // `put` holds the buffer while it writes; the names are classified after.
        let headers = spans
            .into_iter()
            .map(|(name, value)| Header::new(&buf, name, value))
            .collect();
        Structured {
            buf,
            method,
            target,
            version,
            headers,
        }
    }

    pub fn of_case(c: &Case) -> Self {
        let hs: Vec<(&[u8], &[u8])> = c
            .headers
            .iter()
            .map(|(n, v, _)| (n.as_slice(), v.as_slice()))
            .collect();
        Structured::new(&c.method, &c.uri, &c.version, &hs)
    }

    pub fn view(&self) -> RequestView<'_> {
        RequestView {
            buf: &self.buf,
            method: self.method,
            target: self.target,
            version: self.version,
            headers: &self.headers,
            lines: Default::default(),
        }
    }

    pub fn classify(&self) -> (Verdict, Vec<HeaderMark>) {
        let mut marks = vec![HeaderMark::default(); self.headers.len()];
        let v = classify(&self.view(), &mut marks);
        (v, marks)
    }
}

/// Raw mode: `tokenize` then `classify`. `None` when the head is incomplete or over a limit.
pub fn classify_raw(raw: &[u8]) -> Option<(Verdict, Vec<HeaderMark>, usize)> {
    let mut headers = Vec::new();
    let r = tokenize(raw, &Limits::default(), &mut headers).ok()??;
    let mut marks = vec![HeaderMark::default(); headers.len()];
    let v = classify(&r.view(raw, &headers), &mut marks);
    Some((v, marks, headers.len()))
}

/// Bytes as a Rust-ish escaped string, for failure messages.
pub fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}
