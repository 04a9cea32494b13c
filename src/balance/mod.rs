//! Where a request goes: listener rules pick a target group (`router`), and the group's
//! algorithm picks a target (`select`). Pure: per-worker state, values in and out, no clock.

mod router;
mod select;

pub use router::{glob_match, request_path, strip_port, Router};
pub use select::RoundRobin;
