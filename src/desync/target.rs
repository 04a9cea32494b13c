//! The request-target's form and the Host value (RFC 9112 §3.2, RFC 3986 §3.2.2-3.2.3), the
//! checks the guardian leaves out (SPEC §6).

use super::chars::{all, all_host_name, is, REG_NAME, REG_PLAIN};
use crate::http::{split_target, Target, TargetForm};

/// The form of a request-target (RFC 9112 §3.2), with the authority when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Form<'a> {
    /// `/path?query`.
    Origin,
    /// `scheme://authority/...`; the authority without userinfo.
    Absolute(&'a [u8]),
    /// `host:port`, CONNECT only.
    Authority,
    /// `*`, OPTIONS only.
    Asterisk,
    /// None of the forms, or a form this method may not use.
    Invalid,
}

/// The form of `target` for a request with `method`. CONNECT must use authority-form and only
/// CONNECT may (RFC 9110 §9.3.6, RFC 9112 §3.2.3); `*` only with OPTIONS (§3.2.4).
pub(super) fn form<'a>(method: &[u8], target: &'a [u8]) -> Form<'a> {
    let connect = method == b"CONNECT";
    if connect {
        return if host_port(target, true) {
            Form::Authority
        } else {
            Form::Invalid
        };
    }
    match target.first() {
        Some(b'/') => Form::Origin,
        Some(b'*') if target.len() == 1 => {
            if method == b"OPTIONS" {
                Form::Asterisk
            } else {
                Form::Invalid
            }
        }
        // The same reading of an absolute-form target as routing and forwarding use, so the
        // authority checked here is the one the request is routed on.
        Some(_) => match split_target(target) {
            Target {
                form: TargetForm::Absolute,
                authority: Some(a),
                ..
            } if host_port(a, false) => Form::Absolute(a),
            _ => Form::Invalid,
        },
        None => Form::Invalid,
    }
}

/// `uri-host [":" port]` (RFC 3986 §3.2.2-3.2.3): a non-empty reg-name (IPv4 is a reg-name
/// by syntax), or `[IPv6]` / `[vFuture]`; a port of digits up to 65535. With `need_port`
/// the port must be there and non-empty (authority-form).
#[inline(always)]
pub(super) fn host_port(v: &[u8], need_port: bool) -> bool {
    // The common case, a name without a port, in one wide check.
    if !need_port && !v.is_empty() && all_host_name(v) {
        return true;
    }
    // The next most common, `name:port`, without a byte loop over the name.
    if let Some((host, port)) = plain_port(v) {
        if all_host_name(host) {
            return port <= 65535;
        }
    }
    host_port_bytes(v, need_port)
}

/// `host_port` read from the start, byte class by byte class: what its fast paths shortcut.
#[inline]
fn host_port_bytes(v: &[u8], need_port: bool) -> bool {
    let (host_ok, rest) = if v.first() == Some(&b'[') {
        match v.iter().position(|&b| b == b']') {
            Some(close) => (ip_literal(&v[1..close]), &v[close + 1..]),
            None => return false,
        }
    } else {
        // Nearly every host is reg-name bytes without `%`, then perhaps `:port`.
        let plain = v.iter().position(|&b| !is(b, REG_PLAIN)).unwrap_or(v.len());
        if v.get(plain).is_none_or(|&b| b == b':') {
            (plain > 0, &v[plain..])
        } else {
            let end = v.iter().position(|&b| b == b':').unwrap_or(v.len());
            (end > 0 && reg_name(&v[..end]), &v[end..])
        }
    };
    if !host_ok {
        return false;
    }
    match rest.split_first() {
        None => !need_port,
        Some((b':', port)) => {
            if port.is_empty() {
                // RFC 3986: `port = *DIGIT`, so `host:` is valid and means the default port.
                return !need_port;
            }
            port.len() <= 5
                && port.iter().all(u8::is_ascii_digit)
                && port.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')) <= 65535
        }
        Some(_) => false,
    }
}

/// `v` as `host ":" port` with a non-empty host and a port of one to five digits, read from
/// the end (a port is short, a name need not be): the host and the port's value. None for
/// any other shape, which `host_port` then reads from the start.
#[inline(always)]
fn plain_port(v: &[u8]) -> Option<(&[u8], u32)> {
    let mut i = v.len();
    let (mut port, mut scale) = (0u32, 1u32);
    while i > 0 && v.len() - i < 5 {
        let digit = v[i - 1].wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        port += u32::from(digit) * scale;
        scale *= 10;
        i -= 1;
    }
    if i == v.len() || i < 2 || v[i - 1] != b':' {
        return None;
    }
    Some((&v[..i - 1], port))
}

/// `*( unreserved / pct-encoded / sub-delims )`.
#[inline]
fn reg_name(s: &[u8]) -> bool {
    if all(s, REG_NAME) && !s.contains(&b'%') {
        return true;
    }
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if !is(b, REG_NAME) {
            return false;
        }
        if b == b'%' {
            let hex = |j: usize| s.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 2;
        }
        i += 1;
    }
    true
}

/// The inside of `[...]`: an IPv6 address (no zone) or `v HEXDIG+ "." 1*(unreserved /
/// sub-delims / ":")`.
fn ip_literal(s: &[u8]) -> bool {
    if let Some(rest) = s.strip_prefix(b"v").or_else(|| s.strip_prefix(b"V")) {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        return dot > 0
            && rest[..dot].iter().all(u8::is_ascii_hexdigit)
            && dot + 1 < rest.len()
            && rest[dot + 1..]
                .iter()
                .all(|&b| b == b':' || (b != b'%' && is(b, REG_NAME)));
    }
    // Ipv6Addr's parser reads the RFC 4291 text forms, embedded IPv4 included.
    std::str::from_utf8(s).is_ok_and(|t| t.parse::<std::net::Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fast paths of `host_port` shortcut the byte-class reading, never change it.
        #[test]
        fn host_port_is_its_byte_class_reading(
            v in prop::collection::vec(prop::sample::select(b"a.-:09[]%_@ 7F".to_vec()), 0..14),
            need_port: bool,
        ) {
            prop_assert_eq!(host_port(&v, need_port), host_port_bytes(&v, need_port));
        }
    }

    #[test]
    fn hosts_are_names_or_addresses_with_an_optional_port() {
        for ok in [
            &b"example.com"[..],
            b"example.com:8080",
            b"a",
            b"10.0.0.1:80",
            b"[::1]",
            b"[::1]:443",
            b"[2001:db8::192.0.2.1]",
            b"[v1.fe:x]",
            b"ex%41mple",
            b"a:",
            b"a:65535",
        ] {
            assert!(host_port(ok, false), "{}", String::from_utf8_lossy(ok));
        }
    }

    #[test]
    fn malformed_hosts_are_rejected() {
        for bad in [
            &b""[..],
            b":80",
            b"a:65536",
            b"a:8x",
            b"a b",
            b"a/b",
            b"a@b",
            b"[::1",
            b"[::g]",
            b"[fe80::1%25eth0]",
            b"a:80:80",
            b"%4",
            b"a:000080",
        ] {
            assert!(!host_port(bad, false), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn each_method_gets_only_its_target_forms() {
        assert_eq!(form(b"GET", b"/a?b"), Form::Origin);
        assert_eq!(form(b"OPTIONS", b"*"), Form::Asterisk);
        assert_eq!(form(b"GET", b"*"), Form::Invalid);
        assert_eq!(form(b"CONNECT", b"a.example:443"), Form::Authority);
        assert_eq!(form(b"CONNECT", b"a.example"), Form::Invalid);
        assert_eq!(form(b"CONNECT", b"/"), Form::Invalid);
        assert_eq!(form(b"GET", b"a.example:443"), Form::Invalid);
        assert_eq!(form(b"GET", b""), Form::Invalid);
        assert_eq!(form(b"GET", b"foo"), Form::Invalid);
    }

    #[test]
    fn absolute_form_yields_its_authority_without_userinfo() {
        assert_eq!(
            form(b"GET", b"http://u:p@h.example:81/x"),
            Form::Absolute(b"h.example:81")
        );
        assert_eq!(form(b"GET", b"https://h?q"), Form::Absolute(b"h"));
        assert_eq!(form(b"GET", b"http:///x"), Form::Invalid);
        assert_eq!(form(b"GET", b"1http://h/"), Form::Invalid);
    }
}
