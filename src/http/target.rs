//! The request-target (RFC 9112 §3.2): which of the four forms it has, the authority it names,
//! and the origin-form a gateway sends on to the target; and `host[:port]` split in two. One
//! reading of both, shared by routing, the classifier and the forwarder, so that they never
//! disagree about which host a request names.

/// The four request-target forms of RFC 9112 §3.2, and what fits none of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetForm {
    /// `/path?query` (§3.2.1), the usual form.
    Origin,
    /// `scheme://authority/path?query` (§3.2.2).
    Absolute,
    /// `host:port` (§3.2.3), CONNECT only.
    Authority,
    /// `*` (§3.2.4), OPTIONS only.
    Asterisk,
    /// None of the above, or an absolute-form whose host is empty (RFC 9110 §4.2.1: such a URI
    /// is invalid): the caller answers 400.
    Invalid,
}

/// A request-target split without copying: every slice borrows the target bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub form: TargetForm,
    /// The authority of an absolute-form or authority-form target, userinfo removed.
    pub authority: Option<&'a [u8]>,
    /// An absolute-form authority carried userinfo (`user@host`). RFC 9110 §4.2.4 says a
    /// recipient SHOULD treat that as an error; the caller decides, the Host rule ignores it.
    pub userinfo: bool,
    /// The path to forward and route on: `/` when an absolute-form has none (RFC 9112 §3.2.1),
    /// the whole target for authority-form, asterisk-form and invalid targets.
    pub path: &'a [u8],
    /// The query with its `?`, or empty. A fragment (never valid in a request) is dropped.
    pub query: &'a [u8],
}

/// Splits a request-target. The origin-form sent to the target is `path` then `query`: an
/// absolute-form is rewritten to origin-form because ringway is a gateway, and RFC 9112 §3.2.1
/// has a request to an origin server (which the target is) carry origin-form.
pub fn split_target(target: &[u8]) -> Target<'_> {
    let whole = Target {
        form: TargetForm::Invalid,
        authority: None,
        userinfo: false,
        path: target,
        query: b"",
    };
    match target.first() {
        Some(b'/') => {
            let (path, query) = split_query(target);
            Target {
                form: TargetForm::Origin,
                path,
                query,
                ..whole
            }
        }
        Some(b'*') if target.len() == 1 => Target {
            form: TargetForm::Asterisk,
            ..whole
        },
        _ => match scheme_len(target) {
            Some(n) => absolute(&target[n + 3..]).unwrap_or(whole),
            None if is_authority_form(target) => Target {
                form: TargetForm::Authority,
                authority: Some(target),
                ..whole
            },
            None => whole,
        },
    }
}

/// `rest` is what follows `scheme://`.
fn absolute(rest: &[u8]) -> Option<Target<'_>> {
    // RFC 3986 §3.2: the authority ends at the first `/`, `?` or `#`.
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    let (authority, userinfo) = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => (&authority[at + 1..], true),
        None => (authority, false),
    };
    if split_port(authority).0.is_empty() {
        return None;
    }
    let after = match after.iter().position(|&b| b == b'#') {
        Some(hash) => &after[..hash],
        None => after,
    };
    let (path, query) = split_query(after);
    Some(Target {
        form: TargetForm::Absolute,
        authority: Some(authority),
        userinfo,
        path: if path.is_empty() { b"/" } else { path },
        query,
    })
}

/// Splits `host[:port]` into the host and the port after the colon (`Some(b"")` for a bare
/// trailing colon). An IPv6 literal keeps its brackets: `[::1]:8080` is `([::1], 8080)`. An
/// unbracketed value with several colons is not a valid Host; it is taken as a host without a
/// port rather than cut at an arbitrary colon.
pub fn split_port(value: &[u8]) -> (&[u8], Option<&[u8]>) {
    if value.first() == Some(&b'[') {
        return match value.iter().position(|&b| b == b']') {
            Some(end) => match &value[end + 1..] {
                [b':', port @ ..] => (&value[..=end], Some(port)),
                _ => (value, None),
            },
            None => (value, None),
        };
    }
    // One colon: the last one (a port is short, so found soon from the end) is also the
    // first. Together the two searches read each byte once. `contains` goes through core's
    // memchr, which cost twice this loop on a host name's few bytes in a profile.
    #[allow(clippy::manual_contains)]
    match value.iter().rposition(|&b| b == b':') {
        Some(i) if !value[..i].iter().any(|&b| b == b':') => (&value[..i], Some(&value[i + 1..])),
        _ => (value, None),
    }
}

fn split_query(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == b'?') {
        Some(q) => s.split_at(q),
        None => (s, b""),
    }
}

/// The length of `scheme` when `s` starts with `scheme://` (RFC 3986 §3.1:
/// `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`).
fn scheme_len(s: &[u8]) -> Option<usize> {
    let n = s
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')))?;
    let ok = n > 0 && s[0].is_ascii_alphabetic() && s[n..].starts_with(b"://");
    ok.then_some(n)
}

/// `uri-host ":" port` (RFC 9112 §3.2.3), loosely: a non-empty host, a colon, digits.
fn is_authority_form(s: &[u8]) -> bool {
    let (host, port) = split_port(s);
    !host.is_empty()
        && port.is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit))
        && !host.iter().any(|&b| matches!(b, b'/' | b'?' | b'#' | b'@'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_form_splits_path_and_query() {
        let t = split_target(b"/a/b?x=1&y");
        assert_eq!(t.form, TargetForm::Origin);
        assert_eq!((t.path, t.query), (&b"/a/b"[..], &b"?x=1&y"[..]));
        assert_eq!(t.authority, None);
    }

    #[test]
    fn absolute_form_becomes_origin_form_with_its_authority() {
        let t = split_target(b"https://dns_name/index.html");
        assert_eq!(t.form, TargetForm::Absolute);
        assert_eq!(t.authority, Some(&b"dns_name"[..]));
        assert_eq!((t.path, t.query), (&b"/index.html"[..], &b""[..]));
    }

    #[test]
    fn an_absolute_form_without_a_path_forwards_slash() {
        let t = split_target(b"http://example.com");
        assert_eq!((t.path, t.query), (&b"/"[..], &b""[..]));
        let t = split_target(b"http://example.com:8080?q=1");
        assert_eq!(t.authority, Some(&b"example.com:8080"[..]));
        assert_eq!((t.path, t.query), (&b"/"[..], &b"?q=1"[..]));
    }

    #[test]
    fn userinfo_is_stripped_from_the_authority_and_reported() {
        let t = split_target(b"http://user:pa@ss@example.com:81/p");
        assert_eq!(t.authority, Some(&b"example.com:81"[..]));
        assert!(t.userinfo);
        assert!(!split_target(b"http://example.com/p").userinfo);
    }

    #[test]
    fn an_ipv6_literal_authority_stays_whole() {
        let t = split_target(b"http://[2001:db8::1]:8080/x?y");
        assert_eq!(t.authority, Some(&b"[2001:db8::1]:8080"[..]));
        assert_eq!((t.path, t.query), (&b"/x"[..], &b"?y"[..]));
    }

    #[test]
    fn a_fragment_is_not_forwarded() {
        let t = split_target(b"http://h/p?q#frag");
        assert_eq!((t.path, t.query), (&b"/p"[..], &b"?q"[..]));
    }

    #[test]
    fn an_absolute_form_with_an_empty_host_is_invalid() {
        for target in [
            &b"http:///p"[..],
            b"http://",
            b"http://user@/p",
            b"http://:80/",
        ] {
            assert_eq!(split_target(target).form, TargetForm::Invalid, "{target:?}");
        }
    }

    #[test]
    fn asterisk_and_authority_forms_are_recognised() {
        assert_eq!(split_target(b"*").form, TargetForm::Asterisk);
        let t = split_target(b"example.com:443");
        assert_eq!(t.form, TargetForm::Authority);
        assert_eq!(t.authority, Some(&b"example.com:443"[..]));
        assert_eq!(split_target(b"[::1]:443").form, TargetForm::Authority);
    }

    #[test]
    fn anything_else_is_invalid() {
        for target in [
            &b""[..],
            b"**",
            b"example.com",
            b"h:",
            b"h:8x",
            b"urn:isbn:1",
            b"1http://h/",
        ] {
            assert_eq!(split_target(target).form, TargetForm::Invalid, "{target:?}");
        }
    }

    /// The obvious way: a port after the only colon, or after `]` of a bracketed literal.
    fn split_port_by_counting(value: &[u8]) -> (&[u8], Option<&[u8]>) {
        if value.first() == Some(&b'[') {
            return split_port(value);
        }
        let colons: Vec<usize> = (0..value.len()).filter(|&i| value[i] == b':').collect();
        match colons[..] {
            [i] => (&value[..i], Some(&value[i + 1..])),
            _ => (value, None),
        }
    }

    proptest::proptest! {
        #[test]
        fn split_port_cuts_at_the_only_colon(value in "[a-z0-9:.]{0,12}") {
            let value = value.as_bytes();
            proptest::prop_assert_eq!(split_port(value), split_port_by_counting(value));
        }
    }

    #[test]
    fn split_port_handles_each_shape() {
        assert_eq!(split_port(b"h:80"), (&b"h"[..], Some(&b"80"[..])));
        assert_eq!(split_port(b"h"), (&b"h"[..], None));
        assert_eq!(split_port(b"[::1]:80"), (&b"[::1]"[..], Some(&b"80"[..])));
        assert_eq!(split_port(b"[::1]"), (&b"[::1]"[..], None));
        assert_eq!(split_port(b"::1"), (&b"::1"[..], None));
        assert_eq!(split_port(b""), (&b""[..], None));
    }
}
