//! Configuration: the TOML file model (serde, ALB's key names) and its one-time conversion
//! into the validated, typed `Config` in `types`. All validation lives in that conversion.
//!
//! - `types`: the validated `Config` that the rest of ringway reads.
//! - `file`: the serde model of the file, exactly DESIGN §2's keys; unknown keys are refused.
//! - `attributes`: the registry of `[attributes]` (key, default, allowed values, parsing,
//!   `Attributes::get`/`set`), used by the conversion, the admin API and the CLI.
//! - `convert`: `TryFrom<FileConfig> for Config`, every other check and default.
//! - `load`: `Config::from_toml_str` and `Config::load`; toml's errors become one line each.
//! - `render`: `Config::effective`, the complete config back as TOML.
//! - `names`: the file's spelling of each enum. `error`: `ConfigError`.
//!
//! Depends on serde and toml only; nothing here does I/O except `Config::load`.

mod attributes;
mod convert;
mod error;
mod file;
mod load;
mod names;
mod render;
mod types;

pub use attributes::{
    attribute, Attribute, Kind as AttributeKind, Value as AttributeValue, ATTRIBUTES,
    ATTRIBUTE_KEYS,
};
pub use convert::DEFAULT_ADMIN;
pub use error::ConfigError;
pub use file::{
    FileAttributes, FileConfig, FileHealthCheck, FileListener, FileLoadBalancer, FileRule,
    FileTarget, FileTargetGroup, FileWeightedTarget,
};
pub use types::*;

#[cfg(test)]
mod tests;
