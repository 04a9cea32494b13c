//! The attribute registry: the one place that defines each key of `[attributes]` — its name,
//! default, allowed values and how it reads and writes `Attributes`. The file conversion,
//! `Attributes::default`, `get`, `set` and `ATTRIBUTE_KEYS` all come from `ATTRIBUTES`.

use std::fmt;
use std::time::Duration;

use super::error::{join_key, quote, ConfigError};
use super::names::one_of;
use super::types::{Attributes, DesyncMode, ErrorStyle, XffMode};

/// What values an attribute takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Whole seconds, inclusive range.
    Seconds {
        min: u64,
        max: u64,
    },
    Bool,
    /// One of these lower-case names.
    Choice(&'static [&'static str]),
}

/// An attribute's value, already validated against its `Kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    Seconds(u64),
    Bool(bool),
    Name(&'static str),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Seconds(s) => write!(f, "{s}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Name(n) => f.write_str(n),
        }
    }
}

impl Value {
    /// The value as TOML writes it: integers and booleans bare, names quoted.
    pub fn to_toml(self) -> String {
        match self {
            Value::Name(n) => quote(n),
            other => other.to_string(),
        }
    }

    fn seconds(self) -> Duration {
        match self {
            Value::Seconds(s) => Duration::from_secs(s),
            _ => Duration::ZERO,
        }
    }

    fn flag(self) -> bool {
        matches!(self, Value::Bool(true))
    }

    fn name(self) -> &'static str {
        match self {
            Value::Name(n) => n,
            _ => "",
        }
    }
}

/// One attribute of `[attributes]`.
pub struct Attribute {
    /// The key as written in the file (ALB's name where ALB has one).
    pub key: &'static str,
    pub kind: Kind,
    pub default: Value,
    get: fn(&Attributes) -> Value,
    /// Stores a value that has passed `kind`; never called with anything else.
    put: fn(&mut Attributes, Value),
}

/// Every attribute, in DESIGN §2's order.
pub const ATTRIBUTES: &[Attribute] = &[
    Attribute {
        key: "idle_timeout.timeout_seconds",
        kind: Kind::Seconds { min: 1, max: 4000 },
        default: Value::Seconds(60),
        get: |a| Value::Seconds(a.idle_timeout.as_secs()),
        put: |a, v| a.idle_timeout = v.seconds(),
    },
    Attribute {
        key: "client_keep_alive.seconds",
        kind: Kind::Seconds {
            min: 60,
            max: 604_800,
        },
        default: Value::Seconds(3600),
        get: |a| Value::Seconds(a.client_keep_alive.as_secs()),
        put: |a, v| a.client_keep_alive = v.seconds(),
    },
    Attribute {
        key: "deletion_protection.enabled",
        kind: Kind::Bool,
        default: Value::Bool(false),
        get: |a| Value::Bool(a.deletion_protection),
        put: |a, v| a.deletion_protection = v.flag(),
    },
    Attribute {
        key: "routing.http.desync_mitigation_mode",
        kind: Kind::Choice(DesyncMode::NAMES),
        default: Value::Name("defensive"),
        get: |a| Value::Name(a.desync_mitigation_mode.name()),
        put: |a, v| {
            if let Some(m) = DesyncMode::from_name(v.name()) {
                a.desync_mitigation_mode = m;
            }
        },
    },
    Attribute {
        key: "routing.http.drop_invalid_header_fields.enabled",
        kind: Kind::Bool,
        default: Value::Bool(false),
        get: |a| Value::Bool(a.drop_invalid_header_fields),
        put: |a, v| a.drop_invalid_header_fields = v.flag(),
    },
    Attribute {
        key: "routing.http.preserve_host_header.enabled",
        kind: Kind::Bool,
        default: Value::Bool(false),
        get: |a| Value::Bool(a.preserve_host_header),
        put: |a, v| a.preserve_host_header = v.flag(),
    },
    Attribute {
        key: "routing.http.xff_header_processing.mode",
        kind: Kind::Choice(XffMode::NAMES),
        default: Value::Name("append"),
        get: |a| Value::Name(a.xff_header_processing.name()),
        put: |a, v| {
            if let Some(m) = XffMode::from_name(v.name()) {
                a.xff_header_processing = m;
            }
        },
    },
    Attribute {
        key: "routing.http.xff_client_port.enabled",
        kind: Kind::Bool,
        default: Value::Bool(false),
        get: |a| Value::Bool(a.xff_client_port),
        put: |a, v| a.xff_client_port = v.flag(),
    },
    Attribute {
        key: "routing.http.upstream_error_style",
        kind: Kind::Choice(ErrorStyle::NAMES),
        default: Value::Name("standard"),
        get: |a| Value::Name(a.upstream_error_style.name()),
        put: |a, v| {
            if let Some(s) = ErrorStyle::from_name(v.name()) {
                a.upstream_error_style = s;
            }
        },
    },
    Attribute {
        key: "client_header_timeout.seconds",
        kind: Kind::Seconds { min: 1, max: 3600 },
        default: Value::Seconds(10),
        get: |a| Value::Seconds(a.client_header_timeout.as_secs()),
        put: |a, v| a.client_header_timeout = v.seconds(),
    },
];

/// The keys of `[attributes]`, in DESIGN §2's order.
pub const ATTRIBUTE_KEYS: &[&str] = &{
    let mut keys = [""; ATTRIBUTES.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = ATTRIBUTES[i].key;
        i += 1;
    }
    keys
};

/// The registry entry for `key`, if there is one.
pub fn attribute(key: &str) -> Option<&'static Attribute> {
    ATTRIBUTES.iter().find(|a| a.key == key)
}

/// `"a", "b", ...`: the keys of `[attributes]` for an unknown-key message.
pub(crate) fn allowed_keys() -> String {
    ATTRIBUTE_KEYS
        .iter()
        .map(|k| quote(k))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Attribute {
    /// `1..=4000`, `true | false`, `"monitor" | "defensive" | "strictest"`.
    pub fn allowed(&self) -> String {
        match self.kind {
            Kind::Seconds { min, max } => format!("{min}..={max}"),
            Kind::Bool => "true | false".to_string(),
            Kind::Choice(names) => one_of(names),
        }
    }

    fn full_key(&self) -> String {
        join_key("attributes", self.key)
    }

    fn reject(&self, value: String) -> ConfigError {
        ConfigError::invalid(self.full_key(), value, self.allowed())
    }

    fn check_seconds(&self, n: i64) -> Result<Value, ConfigError> {
        match self.kind {
            Kind::Seconds { min, max } => match u64::try_from(n) {
                Ok(s) if (min..=max).contains(&s) => Ok(Value::Seconds(s)),
                _ => Err(self.reject(n.to_string())),
            },
            _ => Err(self.reject(n.to_string())),
        }
    }

    fn check_name(&self, name: &str) -> Result<Value, ConfigError> {
        match self.kind {
            Kind::Choice(names) => names
                .iter()
                .find(|&&n| n == name)
                .map(|&n| Value::Name(n))
                .ok_or_else(|| self.reject(quote(name))),
            _ => Err(self.reject(quote(name))),
        }
    }

    /// Parses a value as the file gives it: TOML integers, booleans and strings.
    pub fn parse_toml(&self, value: &toml::Value) -> Result<Value, ConfigError> {
        match (self.kind, value) {
            (Kind::Seconds { .. }, toml::Value::Integer(n)) => self.check_seconds(*n),
            (Kind::Bool, toml::Value::Boolean(b)) => Ok(Value::Bool(*b)),
            (Kind::Choice(_), toml::Value::String(s)) => self.check_name(s),
            (_, other) => Err(self.reject(describe(other))),
        }
    }

    /// Parses a value given as text (the admin API, `ringway attrs set`): `60`, `true`,
    /// `defensive`.
    pub fn parse_text(&self, text: &str) -> Result<Value, ConfigError> {
        match self.kind {
            Kind::Seconds { .. } => match text.parse::<i64>() {
                Ok(n) => self.check_seconds(n),
                Err(_) => Err(self.reject(quote(text))),
            },
            Kind::Bool => match text {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                _ => Err(self.reject(quote(text))),
            },
            Kind::Choice(_) => self.check_name(text),
        }
    }

    /// The current value in `attrs`.
    pub fn get(&self, attrs: &Attributes) -> Value {
        (self.get)(attrs)
    }

    fn put(&self, attrs: &mut Attributes, value: Value) {
        (self.put)(attrs, value)
    }
}

/// A TOML value in an error message: scalars as written, containers by kind.
pub(crate) fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => quote(s),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) => "an array".to_string(),
        toml::Value::Table(_) => "a table".to_string(),
    }
}

fn unknown(key: &str) -> ConfigError {
    ConfigError::UnknownKey {
        line: None,
        key: key.to_string(),
        table: "[attributes]".to_string(),
        allowed: allowed_keys(),
    }
}

impl Default for Attributes {
    /// ALB's defaults (ringway's own attributes: standard error style, 10 s header timeout).
    fn default() -> Self {
        let mut attrs = Attributes {
            idle_timeout: Duration::ZERO,
            client_keep_alive: Duration::ZERO,
            deletion_protection: false,
            desync_mitigation_mode: DesyncMode::Defensive,
            drop_invalid_header_fields: false,
            preserve_host_header: false,
            xff_header_processing: XffMode::Append,
            xff_client_port: false,
            upstream_error_style: ErrorStyle::Standard,
            client_header_timeout: Duration::ZERO,
        };
        for a in ATTRIBUTES {
            a.put(&mut attrs, a.default);
        }
        attrs
    }
}

impl Attributes {
    /// Builds attributes from the file's `[attributes]` entries; missing keys keep defaults.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a toml::Value)>,
    ) -> Result<Attributes, ConfigError> {
        let mut attrs = Attributes::default();
        for (key, value) in entries {
            let a = attribute(key).ok_or_else(|| unknown(key))?;
            let v = a.parse_toml(value)?;
            a.put(&mut attrs, v);
        }
        Ok(attrs)
    }

    /// The value of `key` as text (`"60"`, `"true"`, `"defensive"`); `None` for an unknown key.
    pub fn get(&self, key: &str) -> Option<String> {
        attribute(key).map(|a| a.get(self).to_string())
    }

    /// Sets `key` from text; on error nothing changes.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let a = attribute(key).ok_or_else(|| unknown(key))?;
        let v = a.parse_text(value)?;
        a.put(self, v);
        Ok(())
    }

    /// Every attribute as (key, value) in registry order.
    pub fn entries(&self) -> impl Iterator<Item = (&'static str, Value)> + '_ {
        ATTRIBUTES.iter().map(move |a| (a.key, a.get(self)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_albs() {
        let a = Attributes::default();
        assert_eq!(a.idle_timeout, Duration::from_secs(60));
        assert_eq!(a.client_keep_alive, Duration::from_secs(3600));
        assert!(!a.deletion_protection);
        assert_eq!(a.desync_mitigation_mode, DesyncMode::Defensive);
        assert!(!a.drop_invalid_header_fields);
        assert!(!a.preserve_host_header);
        assert_eq!(a.xff_header_processing, XffMode::Append);
        assert!(!a.xff_client_port);
        assert_eq!(a.upstream_error_style, ErrorStyle::Standard);
        assert_eq!(a.client_header_timeout, Duration::from_secs(10));
    }

    #[test]
    fn keys_follow_the_design_order() {
        assert_eq!(
            ATTRIBUTE_KEYS,
            [
                "idle_timeout.timeout_seconds",
                "client_keep_alive.seconds",
                "deletion_protection.enabled",
                "routing.http.desync_mitigation_mode",
                "routing.http.drop_invalid_header_fields.enabled",
                "routing.http.preserve_host_header.enabled",
                "routing.http.xff_header_processing.mode",
                "routing.http.xff_client_port.enabled",
                "routing.http.upstream_error_style",
                "client_header_timeout.seconds",
            ]
        );
    }

    #[test]
    fn get_of_each_default_is_the_registry_default() {
        let a = Attributes::default();
        for attr in ATTRIBUTES {
            assert_eq!(
                a.get(attr.key),
                Some(attr.default.to_string()),
                "{}",
                attr.key
            );
        }
        assert_eq!(a.get("idle_timeout.timeout_seconds").as_deref(), Some("60"));
        assert_eq!(
            a.get("deletion_protection.enabled").as_deref(),
            Some("false")
        );
        assert_eq!(
            a.get("routing.http.desync_mitigation_mode").as_deref(),
            Some("defensive")
        );
        assert_eq!(a.get("idle_timeout"), None);
    }

    /// Values every attribute accepts (bounds and every name) and rejects (one past each bound,
    /// wrong spellings, wrong kinds).
    fn cases(attr: &Attribute) -> (Vec<String>, Vec<String>) {
        match attr.kind {
            Kind::Seconds { min, max } => (
                vec![min.to_string(), max.to_string()],
                vec![
                    (min - 1).to_string(),
                    (max + 1).to_string(),
                    "-1".into(),
                    "true".into(),
                    "".into(),
                    " 60".into(),
                ],
            ),
            Kind::Bool => (
                vec!["true".into(), "false".into()],
                vec!["TRUE".into(), "1".into(), "yes".into(), "".into()],
            ),
            Kind::Choice(names) => (
                names.iter().map(|n| n.to_string()).collect(),
                vec![names[0].to_uppercase(), "".into(), "60".into()],
            ),
        }
    }

    #[test]
    fn set_then_get_returns_every_accepted_value_for_every_key() {
        for attr in ATTRIBUTES {
            let (good, _) = cases(attr);
            for text in good {
                let mut a = Attributes::default();
                assert_eq!(a.set(attr.key, &text), Ok(()), "{} = {text}", attr.key);
                assert_eq!(a.get(attr.key), Some(text.clone()), "{}", attr.key);
            }
        }
    }

    #[test]
    fn set_rejects_out_of_range_and_misspelled_values_and_changes_nothing() {
        for attr in ATTRIBUTES {
            let (_, bad) = cases(attr);
            for text in bad {
                let mut a = Attributes::default();
                let err = a.set(attr.key, &text).unwrap_err().to_string();
                assert!(err.contains(attr.key), "{err}");
                assert!(err.contains(&attr.allowed()), "{err}");
                assert!(err.contains(&text), "{err}");
                assert!(!err.contains('\n'), "{err}");
                assert_eq!(a, Attributes::default());
            }
        }
    }

    #[test]
    fn set_rejects_an_unknown_key_listing_the_allowed_keys() {
        let mut a = Attributes::default();
        let err = a.set("idle_timeout", "60").unwrap_err().to_string();
        assert!(err.contains("unknown key \"idle_timeout\""), "{err}");
        for key in ATTRIBUTE_KEYS {
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn seconds_setters_store_durations() {
        let mut a = Attributes::default();
        a.set("idle_timeout.timeout_seconds", "4000").unwrap();
        a.set("client_keep_alive.seconds", "604800").unwrap();
        a.set("client_header_timeout.seconds", "1").unwrap();
        assert_eq!(a.idle_timeout, Duration::from_secs(4000));
        assert_eq!(a.client_keep_alive, Duration::from_secs(604_800));
        assert_eq!(a.client_header_timeout, Duration::from_secs(1));
    }

    #[test]
    fn file_values_must_have_the_toml_kind() {
        let idle = attribute("idle_timeout.timeout_seconds").unwrap();
        let err = idle
            .parse_toml(&toml::Value::String("60".into()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"config: attributes."idle_timeout.timeout_seconds" = "60": allowed 1..=4000"#
        );
        let flag = attribute("deletion_protection.enabled").unwrap();
        assert!(flag
            .parse_toml(&toml::Value::String("true".into()))
            .is_err());
        assert_eq!(
            flag.parse_toml(&toml::Value::Boolean(true)),
            Ok(Value::Bool(true))
        );
    }
}
