//! `classify` beside the guardian it is modelled on: every Compliant request of the corpus
//! (with its `Host: corpus.test`), the same inputs, the same run. ringway classifies a
//! prebuilt `RequestView` into a reused marks buffer (what the worker does after parsing); the
//! guardian builds its `HttpRequestData` and runs `analyze_parsed_request` (its parsed mode,
//! the faster of its two). Throughput is in requests, so criterion's time / 28 is ns/request.
//! `ringway_from_parsed_classify` (its own group, throughput in the heads httparse accepts) is
//! what the worker runs: the same cases' raw heads, parsed once outside the loop, viewed with
//! `from_parsed` (the bare LF and strict facts) and classified.

#[path = "../tests/desync_support/mod.rs"]
mod support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_desync_guardian::request_analyzer::{HttpHeader, HttpRequestData};
use ringway::desync::{classify, HeaderMark, RequestView};
use ringway::http::{parse_request, Limits};
use support::{load, Structured};

fn bench(c: &mut Criterion) {
    let cases: Vec<_> = load()
        .into_iter()
        .filter(|c| c.tier == "Compliant")
        .collect();
    let built: Vec<Structured> = cases.iter().map(Structured::of_case).collect();
    let mut marks = vec![HeaderMark::default(); 128];
    let mut g = c.benchmark_group("desync_compliant_corpus");
    g.throughput(Throughput::Elements(cases.len() as u64));
    g.bench_function("ringway_classify", |b| {
        b.iter(|| {
            for s in &built {
                black_box(classify(black_box(&s.view()), &mut marks));
            }
        })
    });
    g.bench_function("guardian_analyze_parsed_request", |b| {
        b.iter(|| {
            for c in &cases {
                let mut req = HttpRequestData {
                    method: &c.method,
                    version: &c.version,
                    uri: &c.uri,
                    headers: c
                        .headers
                        .iter()
                        .map(|(n, v, _)| HttpHeader::new(n, v))
                        .collect(),
                };
                black_box(black_box(&mut req).analyze_parsed_request());
            }
        })
    });
    g.finish();
    let parsed: Vec<_> = cases
        .iter()
        .filter_map(|c| Some((&c.raw, parse_request(&c.raw, &Limits::default()).ok()??)))
        .collect();
    let mut g = c.benchmark_group("desync_compliant_corpus_httparse");
    g.throughput(Throughput::Elements(parsed.len() as u64));
    g.bench_function("ringway_from_parsed_classify", |b| {
        b.iter(|| {
            for (raw, head) in &parsed {
                let view = RequestView::from_parsed(black_box(raw), black_box(head));
                black_box(classify(&view, &mut marks));
            }
        })
    });
    g.finish();
    eprintln!(
        "{} Compliant corpus requests per iteration, {} of them parsed by httparse",
        cases.len(),
        parsed.len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
