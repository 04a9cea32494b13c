//! Configuration: the TOML file model (serde, ALB's key names) and its one-time conversion
//! into the validated, typed `Config` in `types`. All validation lives in that conversion.

mod attributes;
mod error;
mod names;
mod types;

pub use attributes::{attribute, Attribute, Kind, Value, ATTRIBUTES, ATTRIBUTE_KEYS};
pub use error::ConfigError;
pub use types::*;
