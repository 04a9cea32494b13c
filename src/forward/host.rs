//! The Host header the target receives (DESIGN.md §3.4, ALB's
//! `routing.http.preserve_host_header.enabled`).
//!
//! Without the attribute ALB normalises the port: on listener ports 80 and 443 any port in Host
//! is removed, on other ports the listener port is appended unless Host has one. With it, Host
//! goes through unchanged. For an absolute-form request-target the target's authority is used
//! instead of the Host field in both cases: RFC 9112 §3.2.2 makes a proxy replace Host with
//! the target's host information, and ringway routes on that authority, so forwarding a
//! different Host would let the target see a host the listener rules never matched. ALB's own
//! table keeps the client's Host here when the attribute is on; ringway follows the RFC.

use super::clean;
use crate::http::encode;

/// A Host value (or absolute-form authority) holds a control character: the caller answers 400.
/// The parser and classifier reject these first; this keeps the encoder from ever writing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidHost;

/// Appends the `Host:` line for the target, or nothing when the request has neither a Host
/// field nor an absolute-form authority (an HTTP/1.0 request may lack both).
///
/// `host` is the client's Host value, `absolute_authority` the authority of an absolute-form
/// request-target with userinfo removed (`Target::authority` when `form` is `Absolute`).
pub fn write_host(
    out: &mut Vec<u8>,
    host: Option<&[u8]>,
    absolute_authority: Option<&[u8]>,
    listener_port: u16,
    preserve: bool,
) -> Result<(), InvalidHost> {
    // RFC 9112 §3.2.2: the request-target's authority replaces a received Host.
    let Some(value) = absolute_authority.or(host) else {
        return Ok(());
    };
    if !clean(value) {
        return Err(InvalidHost);
    }
    let (name, port) = crate::http::split_port(value);
    if preserve || name.is_empty() {
        encode::header(out, b"Host", value);
        return Ok(());
    }
    if listener_port == 80 || listener_port == 443 {
        encode::header(out, b"Host", name);
    } else if port.is_some_and(|p| !p.is_empty()) {
        encode::header(out, b"Host", value);
    } else {
        // `name:port`, written in place: no temporary buffer for the name.
        let mut port = encode::Scratch::<8>::new();
        port.push_byte(b':');
        port.decimal(u64::from(listener_port));
        port.push(b"\r\n");
        out.reserve(6 + name.len() + port.as_bytes().len());
        out.extend_from_slice(b"Host: ");
        out.extend_from_slice(name);
        out.extend_from_slice(port.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the target receives, as the value of its Host line (`None`: no line).
    fn sent(
        host: Option<&str>,
        absolute: Option<&str>,
        port: u16,
        preserve: bool,
    ) -> Option<String> {
        let mut out = b"prefix".to_vec();
        write_host(
            &mut out,
            host.map(str::as_bytes),
            absolute.map(str::as_bytes),
            port,
            preserve,
        )
        .unwrap();
        let line = String::from_utf8(out.split_off(6)).unwrap();
        if line.is_empty() {
            return None;
        }
        let value = line
            .strip_prefix("Host: ")
            .unwrap()
            .strip_suffix("\r\n")
            .unwrap();
        Some(value.to_string())
    }

    fn target_host(request_target: &str, host: &str, port: u16, preserve: bool) -> String {
        let t = crate::http::split_target(request_target.as_bytes());
        let mut out = Vec::new();
        write_host(&mut out, Some(host.as_bytes()), t.authority, port, preserve).unwrap();
        let line = String::from_utf8(out).unwrap();
        line["Host: ".len()..line.len() - 2].to_string()
    }

    // The rows of ALB's table "how Application Load Balancers treat host headers in the HTTP
    // request based on listener port", section "Host header preservation" of
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html
    // (columns: listener port, example request, Host in the request, preservation disabled,
    // preservation enabled).

    /// "Request is sent on default HTTP/HTTPS listener. | GET /index.html HTTP/1.1 Host:
    /// example.com | example.com | example.com | example.com"
    #[test]
    fn alb_row_default_listener_keeps_a_host_without_port() {
        for port in [80, 443] {
            assert_eq!(
                target_host("/index.html", "example.com", port, false),
                "example.com"
            );
            assert_eq!(
                target_host("/index.html", "example.com", port, true),
                "example.com"
            );
        }
    }

    /// "Request is sent on default HTTP listener and host header has a port (80 or 443). | GET
    /// /index.html HTTP/1.1 Host: example.com:80 | example.com:80 | example.com |
    /// example.com:80"
    #[test]
    fn alb_row_default_listener_drops_the_port_unless_preserved() {
        for port in [80, 443] {
            assert_eq!(
                target_host("/index.html", "example.com:80", port, false),
                "example.com"
            );
            assert_eq!(
                target_host("/index.html", "example.com:80", port, true),
                "example.com:80"
            );
        }
        assert_eq!(
            target_host("/", "example.com:443", 80, false),
            "example.com"
        );
        assert_eq!(
            target_host("/", "example.com:8080", 443, false),
            "example.com"
        );
    }

    /// "Request has an absolute path. | GET https://dns_name/index.html HTTP/1.1 Host:
    /// example.com | example.com | dns_name | example.com". ringway sends dns_name in both
    /// columns: RFC 9112 §3.2.2 (see the module comment).
    #[test]
    fn alb_row_absolute_form_authority_replaces_host() {
        let target = "https://dns_name/index.html";
        assert_eq!(target_host(target, "example.com", 443, false), "dns_name");
        assert_eq!(target_host(target, "example.com", 443, true), "dns_name");
    }

    /// "Request is sent on a non-default listener port and host header has port (for example,
    /// 8080). | GET /index.html HTTP/1.1 Host: example.com | example.com | example.com:8080 |
    /// example.com"
    #[test]
    fn alb_row_non_default_listener_appends_its_port_unless_preserved() {
        assert_eq!(
            target_host("/index.html", "example.com", 8080, false),
            "example.com:8080"
        );
        assert_eq!(
            target_host("/index.html", "example.com", 8080, true),
            "example.com"
        );
    }

    /// The prose above the table: on a non-default port ALB appends the port "if it isn't
    /// already appended by the client".
    #[test]
    fn non_default_listener_keeps_a_port_the_client_sent() {
        assert_eq!(
            sent(Some("example.com:9000"), None, 8080, false).unwrap(),
            "example.com:9000"
        );
        assert_eq!(
            sent(Some("example.com:8080"), None, 8080, true).unwrap(),
            "example.com:8080"
        );
    }

    #[test]
    fn absolute_form_authority_gets_the_same_port_rules() {
        assert_eq!(
            target_host("http://dns_name/", "x", 8080, false),
            "dns_name:8080"
        );
        assert_eq!(
            target_host("http://dns_name:81/", "x", 8080, false),
            "dns_name:81"
        );
        assert_eq!(
            target_host("http://dns_name:8080/", "x", 80, false),
            "dns_name"
        );
        assert_eq!(
            target_host("http://dns_name:81/", "x", 80, true),
            "dns_name:81"
        );
        assert_eq!(
            target_host("http://u:p@dns_name/", "x", 80, true),
            "dns_name"
        );
    }

    #[test]
    fn absolute_form_without_a_host_field_still_sends_the_authority() {
        assert_eq!(sent(None, Some("dns_name"), 80, false).unwrap(), "dns_name");
    }

    #[test]
    fn ipv6_literals_keep_their_brackets() {
        assert_eq!(
            sent(Some("[2001:db8::1]"), None, 8080, false).unwrap(),
            "[2001:db8::1]:8080"
        );
        assert_eq!(
            sent(Some("[2001:db8::1]:80"), None, 80, false).unwrap(),
            "[2001:db8::1]"
        );
        assert_eq!(
            sent(Some("[2001:db8::1]:81"), None, 8080, false).unwrap(),
            "[2001:db8::1]:81"
        );
        assert_eq!(sent(Some("[::1]:80"), None, 443, true).unwrap(), "[::1]:80");
    }

    #[test]
    fn no_host_and_no_absolute_form_means_no_host_line() {
        // An HTTP/1.0 request may come without Host (RFC 9112 §3.2 requires it of 1.1 only).
        for preserve in [false, true] {
            assert_eq!(sent(None, None, 8080, preserve), None);
        }
    }

    #[test]
    fn an_empty_host_goes_through_empty() {
        // RFC 9112 §3.2: an empty Host is what a client sends for a URI without authority.
        assert_eq!(sent(Some(""), None, 8080, false).unwrap(), "");
        assert_eq!(sent(Some(""), None, 80, false).unwrap(), "");
    }

    #[test]
    fn a_bare_trailing_colon_is_treated_as_no_port() {
        assert_eq!(
            sent(Some("example.com:"), None, 8080, false).unwrap(),
            "example.com:8080"
        );
        assert_eq!(
            sent(Some("example.com:"), None, 80, false).unwrap(),
            "example.com"
        );
        assert_eq!(
            sent(Some("example.com:"), None, 80, true).unwrap(),
            "example.com:"
        );
    }

    #[test]
    fn odd_hosts_are_never_cut_at_a_guessed_colon() {
        assert_eq!(sent(Some("::1"), None, 8080, false).unwrap(), "::1:8080");
        assert_eq!(sent(Some("[::1"), None, 80, false).unwrap(), "[::1");
        assert_eq!(sent(Some("[::1]x"), None, 80, false).unwrap(), "[::1]x");
        assert_eq!(sent(Some("a b"), None, 80, false).unwrap(), "a b");
    }

    #[test]
    fn every_listener_port_digit_count_is_written() {
        for port in [1u16, 9, 10, 99, 100, 999, 1000, 8080, 10000, 65535] {
            assert_eq!(
                sent(Some("h"), None, port, false).unwrap(),
                format!("h:{port}")
            );
        }
    }

    #[test]
    fn control_characters_are_refused_not_written() {
        for bad in [&b"a\r\nX: y"[..], b"a\nb", b"a\0", b"\x7f"] {
            let mut out = Vec::new();
            assert_eq!(
                write_host(&mut out, Some(bad), None, 80, true),
                Err(InvalidHost)
            );
            assert_eq!(
                write_host(&mut out, None, Some(bad), 8080, false),
                Err(InvalidHost)
            );
            assert!(out.is_empty());
        }
    }

    proptest::proptest! {
        #[test]
        fn write_host_never_panics_and_writes_one_clean_line(
            host in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
            abs in proptest::option::of(proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
            port in proptest::num::u16::ANY,
            preserve in proptest::bool::ANY,
        ) {
            let mut out = Vec::new();
            let r = write_host(&mut out, host.as_deref(), abs.as_deref(), port, preserve);
            if r.is_err() || (host.is_none() && abs.is_none()) {
                proptest::prop_assert!(out.is_empty());
            } else {
                crate::forward::tests::assert_header_lines(&out, &[b"Host"]);
            }
        }

        #[test]
        fn printable_hosts_always_give_one_host_line(
            host in proptest::option::of("[ -~]{0,30}"),
            target in "[ -~]{0,30}",
            port in proptest::num::u16::ANY,
            preserve in proptest::bool::ANY,
        ) {
            let t = crate::http::split_target(target.as_bytes());
            let mut out = Vec::new();
            write_host(&mut out, host.as_deref().map(str::as_bytes), t.authority, port, preserve).unwrap();
            if host.is_some() || t.authority.is_some() {
                crate::forward::tests::assert_header_lines(&out, &[b"Host"]);
            } else {
                proptest::prop_assert!(out.is_empty());
            }
        }
    }
}
