//! `ConfigError`: every way a config can be refused, each displayed as one line that names the
//! key (or the file), the value given and what is allowed.

use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A value out of range, of the wrong kind, or inconsistent with another key.
    Invalid {
        /// The key path, e.g. `listeners[0].rules[1].priority` or
        /// `attributes."idle_timeout.timeout_seconds"`.
        key: String,
        /// The value as written in TOML (strings quoted).
        value: String,
        /// What would have been accepted, e.g. `1..=4000`.
        allowed: String,
    },
    /// A key that the table does not have.
    UnknownKey {
        /// 1-based line in the file, when the error came from a file.
        line: Option<usize>,
        /// The key as written.
        key: String,
        /// The table it appeared in, e.g. `[attributes]` or `listeners[0].rules[1]`.
        table: String,
        /// The table's keys, comma-separated.
        allowed: String,
    },
    /// TOML syntax, a wrong type, or a missing required key, as found by the TOML parser.
    Toml {
        /// 1-based line and column.
        line: usize,
        column: usize,
        /// The key path the problem is in, when known.
        key: Option<String>,
        message: String,
    },
    /// The file could not be read.
    Io { path: PathBuf, message: String },
}

impl ConfigError {
    pub(crate) fn invalid(
        key: impl Into<String>,
        value: impl Into<String>,
        allowed: impl Into<String>,
    ) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            value: value.into(),
            allowed: allowed.into(),
        }
    }

    /// The key path this error is about, if it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } | ConfigError::UnknownKey { key, .. } => Some(key),
            ConfigError::Toml { key, .. } => key.as_deref(),
            ConfigError::Io { .. } => None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid {
                key,
                value,
                allowed,
            } => write!(f, "config: {key} = {value}: allowed {allowed}"),
            ConfigError::UnknownKey {
                line,
                key,
                table,
                allowed,
            } => {
                write!(f, "config: ")?;
                if let Some(line) = line {
                    write!(f, "line {line}: ")?;
                }
                write!(f, "unknown key \"{key}\" in {table}; allowed: {allowed}")
            }
            ConfigError::Toml {
                line,
                column,
                key,
                message,
            } => {
                write!(f, "config: line {line}, column {column}: ")?;
                if let Some(key) = key {
                    write!(f, "{key}: ")?;
                }
                write!(f, "{message}")
            }
            ConfigError::Io { path, message } => {
                write!(f, "config: {}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// A key path segment for a key name: quoted when it holds a dot, as TOML needs.
pub(crate) fn key_segment(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        name.to_string()
    } else {
        quote(name)
    }
}

/// `prefix.name`, quoting `name` when needed.
pub(crate) fn join_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        key_segment(name)
    } else {
        format!("{prefix}.{}", key_segment(name))
    }
}

/// A string value as TOML writes it (quoted, escaped), for error messages and rendering.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_value_displays_key_value_and_allowed_on_one_line() {
        let e = ConfigError::invalid(
            join_key("attributes", "idle_timeout.timeout_seconds"),
            "0",
            "1..=4000",
        );
        assert_eq!(
            e.to_string(),
            r#"config: attributes."idle_timeout.timeout_seconds" = 0: allowed 1..=4000"#
        );
    }

    #[test]
    fn bare_keys_are_not_quoted_and_dotted_keys_are() {
        assert_eq!(
            join_key("load_balancer", "workers"),
            "load_balancer.workers"
        );
        assert_eq!(
            key_segment("pool.max_idle_per_target"),
            "\"pool.max_idle_per_target\""
        );
    }

    #[test]
    fn quoted_strings_escape_quotes() {
        assert_eq!(quote("a\"b"), r#""a\"b""#);
    }
}
