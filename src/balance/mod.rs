//! Where a request goes: listener rules pick a target group (`router`), what is known of each
//! target decides which of the group's targets may be picked (`avail`, `health`), and the
//! group's algorithm picks one of those (`select`). Pure: per-worker state, values in and out,
//! time passed in by the caller; no clock, no I/O, no monoio. Depends on `config` for the
//! typed settings and on `http` to encode and read health probes.
//!
//! - `router`: listener rules, ALB's host and path wildcards.
//! - `avail`: `Availability`, the eligible targets of a group (healthy, suspect, draining,
//!   weight 0, fail open) and the slow-start ramp.
//! - `select`: `Selector` over the five algorithms, requests in flight per target, retry
//!   order; `RoundRobin`, the health-blind selector the worker still uses.
//! - `maglev`: the consistent-hash lookup table.
//! - `health`: the active health state machine per target, the passive suspect mark, and the
//!   probe's request and response.
//! - `mix`: a seeded PRNG and a fixed key hash.

mod avail;
mod health;
mod maglev;
mod mix;
mod router;
mod select;

pub use avail::{slow_start_ramp, slow_start_weight, Availability, TargetState, RAMP_FULL};
pub use health::{
    probe_request, probe_status, Health, ProbeOutcome, TargetHealth, PROBE_USER_AGENT,
    SUSPECT_HOLD_MS,
};
pub use maglev::{table_size as maglev_table_size, Maglev};
pub use router::{glob_match, request_path, strip_port, Router};
pub use select::{Outstanding, PickContext, RoundRobin, Selector};

#[cfg(test)]
mod tests;

/// Target `i` of a test group: 10.1.(i / 200).(i % 200 + 1):8080, so a thousand fit and they
/// sort in index order.
#[cfg(test)]
pub(crate) fn test_target(i: usize, weight: u32) -> crate::config::Target {
    crate::config::Target {
        address: format!("10.1.{}.{}:8080", i / 200, i % 200 + 1)
            .parse()
            .unwrap(),
        weight,
    }
}

/// A test group's targets with these weights.
#[cfg(test)]
pub(crate) fn test_targets(weights: &[u32]) -> Vec<crate::config::Target> {
    weights
        .iter()
        .enumerate()
        .map(|(i, &w)| test_target(i, w))
        .collect()
}
