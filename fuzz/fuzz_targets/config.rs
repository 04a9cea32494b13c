//! Config loading: `Config::from_toml_str` and the `effective()` round trip.
//!
//! Input: any bytes, read as UTF-8 (invalid sequences replaced).
//!
//! Checks, beyond "no panic":
//! - on `Ok(cfg)`: `from_toml_str(&cfg.effective())` loads (any error is reported) and gives
//!   a `Config` equal to `cfg`, and rendering that again gives the same text;
//! - on `Err(e)`: `e.to_string()` is a single line (no CR or LF) and not empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringway::config::{Config, ConfigError};

fn check_error(e: &ConfigError) {
    let text = e.to_string();
    assert!(!text.is_empty(), "empty error text for {e:?}");
    assert!(
        !text.contains('\n') && !text.contains('\r'),
        "error text is not one line: {text:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Config::from_toml_str(&text) {
        Ok(cfg) => {
            let effective = cfg.effective();
            let again = match Config::from_toml_str(&effective) {
                Ok(c) => c,
                Err(e) => panic!("effective() does not load back: {e}\n{effective}"),
            };
            assert_eq!(again, cfg, "effective() loads into a different Config\n{effective}");
            assert_eq!(again.effective(), effective, "effective() is not stable");
        }
        Err(e) => check_error(&e),
    }
});
