//! Listener rules (DESIGN.md §2): the first rule, by ascending priority, whose host and path
//! conditions both match names the target group; otherwise the listener's default group.

use crate::config::{Listener, Rule};

/// The rules of one listener, ready to match.
#[derive(Debug, Clone)]
pub struct Router {
    rules: Vec<Rule>,
    default_group: usize,
}

impl Router {
    pub fn new(listener: &Listener) -> Self {
        let mut rules = listener.rules.clone();
        rules.sort_by_key(|r| r.priority);
        Router {
            rules,
            default_group: listener.default_target_group,
        }
    }

    /// The target group for a request. `host` is the Host header value (or the absolute-form
    /// authority), `path` the request path without the query.
    pub fn route(&self, host: Option<&[u8]>, path: &[u8]) -> usize {
        let host = host.map(strip_port);
        for rule in &self.rules {
            let host_ok = rule.hosts.is_empty()
                || host
                    .is_some_and(|h| rule.hosts.iter().any(|p| glob_match(p.as_bytes(), h, true)));
            let path_ok = rule.paths.is_empty()
                || rule
                    .paths
                    .iter()
                    .any(|p| glob_match(p.as_bytes(), path, false));
            if host_ok && path_ok {
                return rule.target_group;
            }
        }
        self.default_group
    }
}

/// `example.com:8080` -> `example.com`; `[::1]:80` -> `[::1]` (`http::split_port`).
pub fn strip_port(host: &[u8]) -> &[u8] {
    crate::http::split_port(host).0
}

/// The path of a request-target without its query: origin-form `/a?b` -> `/a`; absolute-form
/// `http://h/a?b` -> `/a` (and `/` when it has no path); asterisk-form and authority-form as is
/// (`http::split_target`).
pub fn request_path(target: &[u8]) -> &[u8] {
    crate::http::split_target(target).path
}

/// ALB's wildcard match: `*` matches any run of bytes (also empty), `?` exactly one byte.
/// Iterative with one backtrack point, so it is linear in practice and never recurses.
pub fn glob_match(pattern: &[u8], text: &[u8], ignore_case: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len()
            && (pattern[p] == b'?' || (pattern[p] != b'*' && eq(pattern[p], text[t])))
        {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn rule(priority: u32, hosts: &[&str], paths: &[&str], group: usize) -> Rule {
        Rule {
            priority,
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            paths: paths.iter().map(|s| s.to_string()).collect(),
            target_group: group,
        }
    }

    fn router(rules: Vec<Rule>) -> Router {
        Router::new(&Listener {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 80,
            default_target_group: 0,
            rules,
        })
    }

    #[test]
    fn lowest_priority_matching_rule_wins_whatever_the_file_order() {
        let r = router(vec![
            rule(20, &[], &["/api/*"], 2),
            rule(10, &["api.example.com"], &[], 1),
        ]);
        assert_eq!(r.route(Some(b"api.example.com"), b"/api/x"), 1);
        assert_eq!(r.route(Some(b"www.example.com"), b"/api/x"), 2);
        assert_eq!(r.route(Some(b"www.example.com"), b"/other"), 0);
    }

    #[test]
    fn host_and_path_must_both_match_when_both_are_given() {
        let r = router(vec![rule(1, &["*.example.com"], &["/api/*"], 1)]);
        assert_eq!(r.route(Some(b"a.example.com"), b"/api/v1"), 1);
        assert_eq!(r.route(Some(b"a.example.com"), b"/web"), 0);
        assert_eq!(r.route(Some(b"example.org"), b"/api/v1"), 0);
        assert_eq!(r.route(None, b"/api/v1"), 0);
    }

    #[test]
    fn host_match_ignores_case_and_port() {
        let r = router(vec![rule(1, &["api.example.com"], &[], 1)]);
        assert_eq!(r.route(Some(b"API.Example.COM:8080"), b"/"), 1);
    }

    #[test]
    fn path_match_is_case_sensitive() {
        let r = router(vec![rule(1, &[], &["/API/*"], 1)]);
        assert_eq!(r.route(None, b"/api/x"), 0);
        assert_eq!(r.route(None, b"/API/x"), 1);
    }

    #[test]
    fn glob_handles_stars_and_question_marks() {
        assert!(glob_match(b"*", b"", false));
        assert!(glob_match(b"/a*b?d", b"/axxbcd", false));
        assert!(!glob_match(b"/a*b?d", b"/axxbd", false));
        assert!(glob_match(b"*.example.com", b"a.b.example.com", true));
        assert!(!glob_match(b"*.example.com", b"example.com", true));
        assert!(glob_match(b"/img/*.png", b"/img/a/b.png", false));
    }

    #[test]
    fn request_path_drops_query_and_authority() {
        assert_eq!(request_path(b"/a/b?x=1"), b"/a/b");
        assert_eq!(request_path(b"http://h:1/a?b"), b"/a");
        assert_eq!(request_path(b"http://h?q"), b"/");
        assert_eq!(request_path(b"*"), b"*");
    }

    #[test]
    fn strip_port_keeps_ipv6_literals_whole() {
        assert_eq!(strip_port(b"[::1]:8080"), b"[::1]");
        assert_eq!(strip_port(b"[::1]"), b"[::1]");
        assert_eq!(strip_port(b"h:80"), b"h");
        assert_eq!(strip_port(b"h"), b"h");
    }
}
