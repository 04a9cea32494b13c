//! The admin API on the admin address (DESIGN.md §6), never on a data listener. What exists so
//! far: `GET /metrics` (Prometheus text) and `GET /health`; the rest of §6 arrives with issue 6.
//!
//! - `metrics`: `Snapshot`, one worker's counters as published, and the Prometheus text of
//!   their sum. Pure.
//! - `server`: a blocking HTTP/1.1 server on its own thread: the control plane, off every
//!   worker's request path. Workers publish a `Snapshot` once a second; a scrape sums them.

mod client;
mod metrics;
mod server;

pub use client::{AdminClient, Answer};
pub use metrics::{render_metrics, Labels, RequestKey, Snapshot, TargetCounts};
pub use server::{
    attributes_json, start, Admin, GroupListing, HealthRow, HealthTable, Plane, Published,
    RefusedChange,
};
