//! The file model: the TOML config exactly as DESIGN §2 spells it, with ALB's quoted dotted key
//! names. Every table denies unknown keys. Values here are unchecked (numbers are `i64` so that
//! a negative number reaches validation and gets a range in its error); `convert` checks them
//! and fills in defaults.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

use super::attributes::ATTRIBUTE_KEYS;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    #[serde(default)]
    pub load_balancer: FileLoadBalancer,
    #[serde(default)]
    pub attributes: FileAttributes,
    #[serde(default)]
    pub listeners: Vec<FileListener>,
    #[serde(default)]
    pub target_groups: Vec<FileTargetGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLoadBalancer {
    pub workers: Option<i64>,
    pub admin: Option<String>,
    pub admin_token: Option<String>,
    pub access_log: Option<String>,
}

/// The `[attributes]` entries in file order. Its keys come from the attribute registry, so an
/// unknown key is refused while parsing, like every other table's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileAttributes(pub Vec<(String, toml::Value)>);

impl<'de> Deserialize<'de> for FileAttributes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;

        impl<'de> Visitor<'de> for Entries {
            type Value = FileAttributes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of load balancer attributes")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(AttributeKey(key)) = map.next_key()? {
                    entries.push((key, map.next_value::<toml::Value>()?));
                }
                Ok(FileAttributes(entries))
            }
        }

        deserializer.deserialize_map(Entries)
    }
}

/// A key of `[attributes]`, refused while the key itself is read so that toml points the
/// error at the key's line rather than the table's.
struct AttributeKey(String);

impl<'de> Deserialize<'de> for AttributeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        if ATTRIBUTE_KEYS.contains(&key.as_str()) {
            Ok(AttributeKey(key))
        } else {
            Err(de::Error::unknown_field(&key, ATTRIBUTE_KEYS))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileListener {
    pub address: String,
    pub port: i64,
    pub default_target_group: String,
    #[serde(default)]
    pub rules: Vec<FileRule>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRule {
    pub priority: i64,
    #[serde(default)]
    pub host: Vec<String>,
    #[serde(default)]
    pub path: Vec<String>,
    pub target_group: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTargetGroup {
    pub name: String,
    #[serde(default)]
    pub targets: Vec<FileTarget>,
    #[serde(rename = "load_balancing.algorithm.type")]
    pub algorithm: Option<String>,
    #[serde(rename = "load_balancing.consistent_hash.key")]
    pub hash_key: Option<String>,
    #[serde(rename = "deregistration_delay.timeout_seconds")]
    pub deregistration_delay: Option<i64>,
    #[serde(rename = "slow_start.duration_seconds")]
    pub slow_start: Option<i64>,
    #[serde(rename = "pool.idle_timeout_seconds")]
    pub pool_idle_timeout: Option<i64>,
    #[serde(rename = "pool.max_idle_per_target")]
    pub pool_max_idle_per_target: Option<i64>,
    #[serde(default)]
    pub health_check: FileHealthCheck,
}

/// `"10.0.0.1:8080"` or `{ address = "10.0.0.1:8080", weight = 3 }`. Deserialized like
/// `#[serde(untagged)]` would, by hand: serde's untagged errors lose the element's position and
/// the inner key ("data did not match any variant"), these keep both.
#[derive(Debug, Clone, PartialEq)]
pub enum FileTarget {
    Address(String),
    Weighted(FileWeightedTarget),
}

impl<'de> Deserialize<'de> for FileTarget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;

        impl<'de> Visitor<'de> for Either {
            type Value = FileTarget;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"IP:port\" or { address = \"IP:port\", weight = N }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<FileTarget, E> {
                Ok(FileTarget::Address(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<FileTarget, A::Error> {
                FileWeightedTarget::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(FileTarget::Weighted)
            }
        }

        deserializer.deserialize_any(Either)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWeightedTarget {
    pub address: String,
    pub weight: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHealthCheck {
    pub enabled: Option<bool>,
    pub path: Option<String>,
    pub interval_seconds: Option<i64>,
    pub timeout_seconds: Option<i64>,
    pub healthy_threshold_count: Option<i64>,
    pub unhealthy_threshold_count: Option<i64>,
    pub matcher: Option<String>,
}

/// The field names serde knows for a struct of the file model, read from its derived
/// `Deserialize` (so the README test checks the model itself, not a copy of its keys).
#[cfg(test)]
pub(crate) fn struct_keys<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    struct Probe(&'static [&'static str]);

    #[derive(Debug)]
    struct Stop;
    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("probe")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Stop
        }
    }

    impl<'de> Deserializer<'de> for &mut Probe {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = fields;
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut probe = Probe(&[]);
    let _ = T::deserialize(&mut probe);
    probe.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_strings_or_address_weight_tables() {
        let g: FileTargetGroup = toml::from_str(
            r#"name = "web"
               targets = ["10.0.0.1:80", { address = "10.0.0.2:80", weight = 3 }]"#,
        )
        .unwrap();
        assert_eq!(
            g.targets,
            [
                FileTarget::Address("10.0.0.1:80".into()),
                FileTarget::Weighted(FileWeightedTarget {
                    address: "10.0.0.2:80".into(),
                    weight: Some(3)
                }),
            ]
        );
    }

    #[test]
    fn missing_tables_are_empty() {
        let f: FileConfig = toml::from_str("").unwrap();
        assert_eq!(f, FileConfig::default());
    }

    #[test]
    fn attributes_keep_file_order_and_refuse_unknown_keys() {
        let f: FileConfig = toml::from_str(
            "[attributes]\n\"client_keep_alive.seconds\" = 60\n\"idle_timeout.timeout_seconds\" = 5\n",
        )
        .unwrap();
        assert_eq!(f.attributes.0[0].0, "client_keep_alive.seconds");
        let err = toml::from_str::<FileConfig>("[attributes]\nidle = 1\n").unwrap_err();
        assert!(err.message().contains("unknown field `idle`"), "{err}");
    }

    #[test]
    fn struct_keys_reads_the_serde_field_names() {
        assert_eq!(
            struct_keys::<FileLoadBalancer>(),
            ["workers", "admin", "admin_token", "access_log"]
        );
        assert!(struct_keys::<FileTargetGroup>().contains(&"pool.max_idle_per_target"));
    }
}
