//! Reading a config: text -> TOML document -> file model -> `Config`. toml's own errors span
//! several lines with a source snippet; here each becomes one line naming the line, the key path
//! (found from the error's position in the parsed document) and the problem.

use std::path::Path;

use serde::Deserialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{key_segment, ConfigError};
use super::file::FileConfig;
use super::types::Config;

impl Config {
    /// Parses and validates a config given as TOML text.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let (doc, errors) = DeTable::parse_recoverable(text);
        if let Some(e) = errors.first() {
            return Err(toml_error(text, &doc, e));
        }
        let file = FileConfig::deserialize(toml::de::Deserializer::from(doc.clone()))
            .map_err(|e| toml_error(text, &doc, &e))?;
        Config::try_from(file)
    }

    /// Reads, parses and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Config::from_toml_str(&text)
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if out.is_empty() => out.push_str(&key_segment(k)),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(&key_segment(k));
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The path to the innermost key or value whose span holds `pos`.
fn locate(table: &DeTable<'_>, pos: usize) -> Vec<Seg> {
    let mut path = Vec::new();
    locate_in_table(table, pos, &mut path);
    path
}

fn locate_in_table(table: &DeTable<'_>, pos: usize, path: &mut Vec<Seg>) -> bool {
    for (key, value) in table.iter() {
        path.push(Seg::Key(key.get_ref().to_string()));
        if locate_in_value(value, pos, path) || key.span().contains(&pos) {
            return true;
        }
        path.pop();
    }
    false
}

/// Children first: a table's span may cover only its header, an inner key's never does.
fn locate_in_value(value: &Spanned<DeValue<'_>>, pos: usize, path: &mut Vec<Seg>) -> bool {
    let inner = match value.get_ref() {
        DeValue::Table(t) => locate_in_table(t, pos, path),
        DeValue::Array(items) => items.iter().enumerate().any(|(i, item)| {
            path.push(Seg::Index(i));
            let hit = locate_in_value(item, pos, path);
            if !hit {
                path.pop();
            }
            hit
        }),
        _ => false,
    };
    inner || value.span().contains(&pos)
}

/// 1-based line and column of byte offset `pos`.
fn line_column(text: &str, pos: usize) -> (usize, usize) {
    let before = text.get(..pos.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The names between backticks in a serde message, in order.
fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// serde's wording, rephrased for people who write TOML rather than Rust.
fn rephrase(message: &str) -> String {
    let mut m = message.replace('\n', " ");
    for (rust, toml) in [
        ("expected i64", "expected an integer"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
    ] {
        m = m.replace(rust, toml);
    }
    if let Some(at) = m.find("expected struct ") {
        m.replace_range(at.., "expected a table");
    }
    m
}

fn toml_error(text: &str, doc: &Spanned<DeTable<'_>>, e: &toml::de::Error) -> ConfigError {
    let pos = e.span().map_or(0, |s| s.start);
    let (line, column) = line_column(text, pos);
    let mut path = locate(doc.get_ref(), pos);
    let message = e.message();
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let names = backticked(rest);
        let key = names.first().copied().unwrap_or_default().to_string();
        if path.last() == Some(&Seg::Key(key.clone())) {
            path.pop();
        }
        let table = match render(&path) {
            t if t.is_empty() => "the top level".to_string(),
            t if path.len() == 1 => format!("[{t}]"),
            t => t,
        };
        let allowed = names[1.min(names.len())..]
            .iter()
            .map(|n| key_segment(n))
            .collect::<Vec<_>>()
            .join(", ");
        return ConfigError::UnknownKey {
            line: Some(line),
            key,
            table,
            allowed: if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed
            },
        };
    }
    let mut message = rephrase(message);
    if let Some(rest) = message.strip_prefix("missing field ") {
        if let Some(name) = backticked(rest).first() {
            path.push(Seg::Key(name.to_string()));
            message = "required key is missing".to_string();
        }
    }
    let key = Some(render(&path)).filter(|k| !k.is_empty());
    ConfigError::Toml {
        line,
        column,
        key,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        let e = Config::from_toml_str(text).unwrap_err().to_string();
        assert!(!e.contains('\n'), "not one line: {e}");
        e
    }

    const GROUP: &str = "[[target_groups]]\nname = \"web\"\n";
    const LISTENER: &str =
        "[[listeners]]\naddress = \"127.0.0.1\"\nport = 80\ndefault_target_group = \"web\"\n";

    #[test]
    fn unknown_keys_name_the_key_the_table_and_the_line() {
        let e = err(&format!(
            "{LISTENER}{GROUP}[attributes]\nidle_timeout = 5\n"
        ));
        assert!(
            e.starts_with("config: line 8: unknown key \"idle_timeout\" in [attributes]; allowed: \"idle_timeout.timeout_seconds\", "),
            "{e}"
        );
        let e = err(&format!("bogus = 1\n{LISTENER}{GROUP}"));
        assert_eq!(
            e,
            "config: line 1: unknown key \"bogus\" in the top level; allowed: load_balancer, attributes, listeners, target_groups"
        );
        let e = err(&format!("[load_balancer]\nworker = 2\n{LISTENER}{GROUP}"));
        assert!(
            e.contains(
                "line 2: unknown key \"worker\" in [load_balancer]; allowed: workers, admin"
            ),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_in_arrays_of_tables_name_the_index() {
        let text = format!(
            "{LISTENER}{LISTENER}[[listeners.rules]]\npriority = 1\nhosts = [\"a\"]\ntarget_group = \"web\"\n{GROUP}"
        );
        let e = err(&text.replacen("port = 80", "port = 81", 1));
        assert!(e.contains("line 11: unknown key \"hosts\" in listeners[1].rules[0]; allowed: priority, host, path, target_group"), "{e}");
        let e = err(&format!(
            "{LISTENER}{GROUP}{GROUP}[target_groups.health_check]\nintervall = 5\n"
        ));
        assert!(
            e.contains("unknown key \"intervall\" in target_groups[1].health_check;"),
            "{e}"
        );
        let e = err(&format!(
            "{LISTENER}{GROUP}targets = [{{ address = \"10.0.0.1:80\", wieght = 2 }}]\n"
        ));
        assert!(
            e.contains(
                "unknown key \"wieght\" in target_groups[0].targets[0]; allowed: address, weight"
            ),
            "{e}"
        );
        let e = err(&format!("{LISTENER}{GROUP}\"pool.idle_timeout\" = 4\n"));
        assert!(e.contains("unknown key \"pool.idle_timeout\" in target_groups[0]; allowed: name, targets, \"load_balancing.algorithm.type\""), "{e}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let e = err(&format!(
            "[load_balancer]\nworkers = \"8\"\n{LISTENER}{GROUP}"
        ));
        assert_eq!(
            e,
            "config: line 2, column 11: load_balancer.workers: invalid type: string \"8\", expected an integer"
        );
        let e = err(&format!(
            "{LISTENER}{GROUP}[attributes]\n\"deletion_protection.enabled\" = \"yes\"\n"
        ));
        assert_eq!(
            e,
            "config: attributes.\"deletion_protection.enabled\" = \"yes\": allowed true | false"
        );
        let e = err(&format!(
            "{LISTENER}{GROUP}[target_groups.health_check]\nenabled = 1\n"
        ));
        assert!(e.contains("target_groups[0].health_check.enabled: invalid type: integer `1`, expected a boolean"), "{e}");
        let e = err(&format!("{LISTENER}[[listeners.rules]]\npriority = 1\nhost = \"a.com\"\ntarget_group = \"web\"\n{GROUP}"));
        assert!(
            e.contains(
                "listeners[0].rules[0].host: invalid type: string \"a.com\", expected an array"
            ),
            "{e}"
        );
        let e = err(&format!("{LISTENER}{GROUP}targets = [80]\n"));
        assert!(e.contains("target_groups[0].targets[0]: invalid type: integer `80`, expected \"IP:port\" or { address"), "{e}");
        let e = err(&format!("load_balancer = 3\n{LISTENER}{GROUP}"));
        assert!(
            e.contains("load_balancer: invalid type: integer `3`, expected a table"),
            "{e}"
        );
    }

    #[test]
    fn missing_required_keys_are_named() {
        let e = err(&format!(
            "[[listeners]]\naddress = \"::\"\ndefault_target_group = \"web\"\n{GROUP}"
        ));
        assert!(
            e.contains("listeners[0].port: required key is missing"),
            "{e}"
        );
        let e = err(&format!("{LISTENER}[[target_groups]]\ntargets = []\n"));
        assert!(
            e.contains("target_groups[0].name: required key is missing"),
            "{e}"
        );
    }

    #[test]
    fn syntax_errors_are_one_line_with_a_position() {
        let e = err("[load_balancer]\nworkers = \n");
        assert!(e.starts_with("config: line 2, column "), "{e}");
        let e = err("[load_balancer\n");
        assert!(e.starts_with("config: line 1, column "), "{e}");
        let e = err("[load_balancer]\nworkers = 1\nworkers = 2\n");
        assert!(e.starts_with("config: line 3, column "), "{e}");
        let e = err("x = \"unterminated\n");
        assert!(e.starts_with("config: line 1, column "), "{e}");
    }

    #[test]
    fn an_unreadable_file_names_its_path() {
        let e = Config::load(Path::new("/nonexistent/ringway.toml")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("config: /nonexistent/ringway.toml: "),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn line_and_column_count_characters_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab", 99), (1, 3));
    }
}
