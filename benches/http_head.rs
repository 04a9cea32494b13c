//! Head parsing and encoding. `parse_request` stands beside bare `httparse::Request::parse` on
//! the same bytes, so the cost of limits, offsets and the owned head is visible.

use criterion::{criterion_group, criterion_main, Criterion};
use ringway::http::{self, encode, Limits, Version};
use std::hint::black_box;
use std::mem::MaybeUninit;

/// A Chrome navigation request as a browser sends it, about 400 bytes.
const REQUEST: &[u8] = b"GET /products/shoes?color=red&size=42 HTTP/1.1\r\n\
Host: shop.example.com\r\n\
Connection: keep-alive\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Cookie: session=8f14e45fceea167a5a36dedd4bea2543\r\n\
\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Date: Tue, 14 May 2024 10:00:00 GMT\r\n\
Server: origin\r\n\
Content-Type: text/html; charset=utf-8\r\n\
Content-Length: 5120\r\n\
Cache-Control: max-age=60\r\n\
ETag: \"5e8f-1a2b3c\"\r\n\
Vary: Accept-Encoding\r\n\
\r\n";

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse");
    group.bench_function("parse_request", |b| {
        b.iter(|| http::parse_request(black_box(REQUEST), &limits))
    });
    group.bench_function("httparse_request_baseline", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 100];
            let mut req = httparse::Request::new(&mut headers);
            let n = req.parse(black_box(REQUEST));
            (n, req.headers.len())
        })
    });
    // The same, with the uninitialized header slots parse_request uses.
    group.bench_function("httparse_request_uninit_baseline", |b| {
        b.iter(|| {
            let mut headers = [const { MaybeUninit::uninit() }; 100];
            let mut req = httparse::Request::new(&mut []);
            let n = req.parse_with_uninit_headers(black_box(REQUEST), &mut headers);
            (n, req.headers.len())
        })
    });
    group.bench_function("parse_response", |b| {
        b.iter(|| http::parse_response(black_box(RESPONSE), &limits))
    });
    group.bench_function("httparse_response_baseline", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 100];
            let mut resp = httparse::Response::new(&mut headers);
            let n = resp.parse(black_box(RESPONSE));
            (n, resp.headers.len())
        })
    });
    group.finish();
}

fn encode_head(c: &mut Criterion) {
    let fields: [(&[u8], &[u8]); 8] = [
        (b"Host", b"backend.internal:8080"),
        (
            b"User-Agent",
            b"Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0",
        ),
        (b"Accept", b"text/html,application/xhtml+xml"),
        (b"Accept-Encoding", b"gzip, deflate, br"),
        (b"Accept-Language", b"en-US,en;q=0.9"),
        (b"X-Forwarded-For", b"203.0.113.7"),
        (b"X-Forwarded-Proto", b"http"),
        (b"X-Forwarded-Port", b"80"),
    ];
    let mut out = Vec::with_capacity(1024);
    c.bench_function("encode_request_head", |b| {
        b.iter(|| {
            out.clear();
            encode::request_line(
                &mut out,
                b"POST",
                black_box(b"/api/v1/items"),
                b"",
                Version::Http11,
            );
            for (name, value) in &fields {
                encode::header(&mut out, name, value);
            }
            encode::content_length(&mut out, black_box(12345));
            encode::end_head(&mut out);
            black_box(out.len());
        })
    });
}

criterion_group!(benches, parse, encode_head);
criterion_main!(benches);
