//! Host and forwarding headers: what the target receives in place of the client's Host,
//! X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Port, following ALB's attributes
//! (DESIGN.md §3.4 and §3.5).
//!
//! - `routing_host` (here): the host to route on, from `http::split_target`.
//! - `host`: the Host line, per `routing.http.preserve_host_header.enabled`.
//! - `xff`: the X-Forwarded-* lines, per `routing.http.xff_header_processing.mode` and
//!   `routing.http.xff_client_port.enabled`; ALB's 463 limit of 30 addresses.
//!
//! Pure: functions over bytes and values that append to the caller's head buffer through
//! `http::encode`. Depends on `http` and `config` types only; no I/O, no clock, no allocation
//! beyond the buffer growing. The worker drops every incoming field for which
//! `is_forwarding_header` is true and calls `write_host` and `write_forwarding` instead.

mod host;
mod xff;

pub use host::{write_host, InvalidHost};
pub use xff::{is_forwarding_header, write_forwarding, ForwardedError, MAX_FORWARDED};

use crate::http::{Target, TargetForm};

/// The host to route on: an absolute-form authority wins over the Host field (RFC 9112
/// §3.2.2: the Host field is ignored when the target is absolute-form).
pub fn routing_host<'a>(host: Option<&'a [u8]>, target: &Target<'a>) -> Option<&'a [u8]> {
    match target.form {
        TargetForm::Absolute => target.authority,
        _ => host,
    }
}

/// A field value free of control characters (RFC 9110 §5.5 allows HTAB and nothing else below
/// SP, and no DEL): what may be written between `: ` and CRLF.
fn clean(value: &[u8]) -> bool {
    // The same byte class as the classifier's VALUE; its scan is the one to use.
    crate::desync::all_value(value)
}

#[cfg(test)]
pub(crate) mod tests {
    /// `out` is whole header lines, each `Name: value\r\n` with a name from `names` and no CR,
    /// LF or other control character in the value, and the lines parse back as a head.
    pub(crate) fn assert_header_lines(out: &[u8], names: &[&[u8]]) {
        assert!(out.ends_with(b"\r\n"), "{:?}", String::from_utf8_lossy(out));
        for line in out[..out.len() - 2].split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let colon = line.iter().position(|&b| b == b':').expect("a colon");
            assert!(
                names.contains(&&line[..colon]),
                "{:?}",
                String::from_utf8_lossy(line)
            );
            assert!(line[colon..].starts_with(b": "));
            assert!(super::clean(&line[colon + 2..]));
        }
        assert_eq!(
            out.iter().filter(|&&b| b == b'\n').count(),
            out.split(|&b| b == b'\r').count() - 1
        );
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        head.extend_from_slice(out);
        head.extend_from_slice(b"\r\n");
        let parsed = crate::http::parse_request(&head, &Default::default());
        assert!(
            matches!(parsed, Ok(Some(_))),
            "{:?}",
            String::from_utf8_lossy(out)
        );
    }

    #[test]
    fn the_absolute_form_authority_wins_over_host_for_routing() {
        let abs = crate::http::split_target(b"http://dns_name/index.html");
        assert_eq!(
            super::routing_host(Some(b"example.com"), &abs),
            Some(&b"dns_name"[..])
        );
        let origin = crate::http::split_target(b"/index.html");
        assert_eq!(
            super::routing_host(Some(b"example.com"), &origin),
            Some(&b"example.com"[..])
        );
        assert_eq!(super::routing_host(None, &origin), None);
    }

    /// The obvious way, byte by byte.
    fn clean_by_bytes(value: &[u8]) -> bool {
        value
            .iter()
            .all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f))
    }

    #[test]
    fn clean_agrees_with_a_byte_by_byte_check_at_every_position_and_length() {
        let bytes = [
            0u8, b'\t', b'\n', b'\r', 0x1f, b' ', b'a', 0x7e, 0x7f, 0x80, 0xff,
        ];
        for len in 0..=24 {
            for at in 0..len {
                for &b in &bytes {
                    let mut value = vec![b'x'; len];
                    value[at] = b;
                    assert_eq!(super::clean(&value), clean_by_bytes(&value), "{value:?}");
                    value[len - 1 - at / 2] = b'\t';
                    assert_eq!(super::clean(&value), clean_by_bytes(&value), "{value:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn clean_is_the_byte_by_byte_check(
            value in proptest::collection::vec(
                proptest::prop_oneof![0x20u8..0x7f, proptest::num::u8::ANY, proptest::sample::select(vec![b'\t', 0x7f, 0x1f, 0x80])],
                0..40,
            ),
        ) {
            proptest::prop_assert_eq!(super::clean(&value), clean_by_bytes(&value));
        }
    }

    #[test]
    fn clean_refuses_controls_but_allows_tab_space_and_obs_text() {
        assert!(super::clean(b"a b\tc\x80\xff"));
        for bad in [&b"\r"[..], b"\n", b"\0", b"\x1f", b"\x7f"] {
            assert!(!super::clean(bad));
        }
    }
}
