//! ringway: an HTTP/1.1 load balancer for bare-metal Linux, thread-per-core on io_uring.
//!
//! The modules follow the request path. Everything except `worker` is pure: it takes values or
//! bytes and returns values, never imports monoio and never reads the clock.
//!
//! - `config`: the TOML file model and the validated, typed `Config` built from it.
//! - `http`: request and response head parsing with limits, body framing, the chunked codec,
//!   head encoding.
//! - `desync`: request smuggling classification (ALB's tiers and reason codes, plus RFC 9112
//!   checks), the raw-head tokenizer and the mode policy.
//! - `balance`: listener rules, target groups and target selection.
//! - `error`: the proxy's error causes and the synthetic responses they turn into.
//! - `worker`: the runtime: one monoio runtime per core, accept, the connection state machine,
//!   the upstream pool; also the built-in origin server.
//! - `doctor`: host checks for `ringway doctor`.
//! - `admin`: the admin API and its client, and the metrics text.
//! - `accesslog`: the access log's JSON line.

pub mod accesslog;
pub mod admin;
pub mod alloc;
pub mod balance;
pub mod config;
pub mod desync;
pub mod doctor;
pub mod error;
pub mod forward;
pub mod http;
pub mod timer;
pub mod worker;
