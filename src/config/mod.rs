//! Configuration: the TOML file model (serde, ALB's key names) and its one-time conversion
//! into the validated, typed `Config` in `types`. All validation lives in that conversion.

mod types;

pub use types::*;
