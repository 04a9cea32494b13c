//! The admin API on the admin address (DESIGN.md §6), never on a data listener: attributes,
//! target groups and targets, stats, reload, stop, `GET /metrics` (Prometheus text) and
//! `GET /health`.
//!
//! - `metrics`: `Snapshot`, one worker's counters as published, and the Prometheus text of
//!   their sum. Pure.
//! - `server`: a blocking HTTP/1.1 server on its own thread: the control plane, off every
//!   worker's request path. Workers publish a `Snapshot` once a second; a scrape sums them.

mod client;
mod metrics;
mod server;

pub use client::{AdminClient, Answer};
pub use metrics::{render_metrics, tally, Labels, RequestKey, Snapshot, TargetCounts};
pub use server::{
    attributes_json, start, Admin, GroupListing, HealthRow, HealthTable, Plane, Published,
    RefusedChange,
};
