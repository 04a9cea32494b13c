//! The only runtime-facing code. One monoio runtime per worker thread, pinned to a core, with
//! its own listener sockets, connections, upstream pools and counters; it wires the pure
//! modules (`http`, `desync`, `forward`, `balance`, `error`) to sockets.
//!
//! - `server`: binding listeners and starting pinned worker threads.
//! - `runtime`: io_uring (DESIGN.md §7 setup flags) or epoll runtimes, CPU pinning.
//! - `control`: the control plane's channel into each worker (live attributes, health).
//! - `group`: a target group in one worker: targets, selector, availability, pool.
//! - `health`: the active health checker's thread, shared by all workers.
//! - `conn`: the client connection loop: read a head, route, forward.
//! - `request`: vetting a head: strict parse with a lenient fallback, desync classification
//!   and the mode's action, and the head the target receives (Host, X-Forwarded-*, framing).
//! - `body`: where a streaming body ends, for requests and responses alike.
//! - `relay`: one exchange on a target connection: request body, response head and body.
//! - `upstream`: the per-target keep-alive pool and connecting.
//! - `tunnel`: bytes both ways after 101 Switching Protocols.
//! - `timers`: the worker's timing wheel, its driver task, and the `Timer` I/O runs under.
//! - `logwriter`: the access log's per-worker buffer and the record of a request.
//! - `io`: reads and writes under a `Timer`: cancelled when it fires, completions awaited.
//! - `origin`: the built-in origin server of `ringway origin` and `ringway demo`.

mod body;
mod conn;
mod control;
mod group;
mod health;
mod inbox;
mod io;
mod listen;
mod logwriter;
pub mod origin;
mod relay;
mod request;
mod runtime;
mod server;
mod state;
mod timers;
mod tunnel;
mod upstream;

pub use control::ControlPlane;
pub use runtime::{Driver, DriverChoice, UringSetup, RING_ENTRIES};
pub use server::{raise_open_files_limit, start, ServeOptions, Server};
