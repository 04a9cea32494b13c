//! The proxy's one error type and the one function that turns it into a synthetic response.
//!
//! Every failure the balancer answers itself is a [`Cause`]: which side failed, why, and the
//! status it gets in each `upstream_error_style` (DESIGN.md §5). Retry safety depends on what was
//! already sent, so the worker decides it where it knows that (`worker::relay::Relayed`).

use crate::config::ErrorStyle;
use crate::http::encode;

/// Which side of the proxy a failure came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Target,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// A malformed request, or one that cannot be forwarded with unambiguous framing.
    BadRequest,
    /// The desync mitigation mode blocks requests of this classification (DESIGN.md §3).
    DesyncBlocked,
    /// More than 30 addresses in X-Forwarded-For (ALB's 463).
    TooManyForwardedFor,
    /// The request-target is over the line limit.
    UriTooLong,
    /// A header line, the header count or the head is over its limit.
    HeadersTooLarge,
    /// An HTTP version other than 1.0 and 1.1.
    VersionNotSupported,
    /// The client did not send a whole head in time.
    HeaderTimeout,
    /// Every connect attempt was refused: the origin is down.
    ConnectRefused,
    /// A connect attempt got no answer in time (packets dropped).
    ConnectTimeout,
    /// The host or network of the target is unreachable.
    Unreachable,
    /// The target sent no response within the idle timeout.
    ResponseTimeout,
    /// The target closed, reset, or sent something that is not a valid response.
    InvalidResponse,
    /// The target group has no registered or routable target.
    NoTarget,
}

impl Cause {
    pub const ALL: [Cause; 13] = [
        Cause::BadRequest,
        Cause::DesyncBlocked,
        Cause::TooManyForwardedFor,
        Cause::UriTooLong,
        Cause::HeadersTooLarge,
        Cause::VersionNotSupported,
        Cause::HeaderTimeout,
        Cause::ConnectRefused,
        Cause::ConnectTimeout,
        Cause::Unreachable,
        Cause::ResponseTimeout,
        Cause::InvalidResponse,
        Cause::NoTarget,
    ];

    /// The status of DESIGN.md §5's table for this cause in the given style.
    pub fn status(self, style: ErrorStyle) -> u16 {
        let cloudflare = style == ErrorStyle::Cloudflare;
        match self {
            Cause::BadRequest | Cause::DesyncBlocked => 400,
            Cause::TooManyForwardedFor => 463,
            Cause::UriTooLong => 414,
            Cause::HeadersTooLarge => 431,
            Cause::VersionNotSupported => 505,
            Cause::HeaderTimeout => 408,
            Cause::ConnectRefused if cloudflare => 521,
            Cause::ConnectRefused => 502,
            Cause::ConnectTimeout if cloudflare => 522,
            Cause::ConnectTimeout => 504,
            Cause::Unreachable if cloudflare => 523,
            Cause::Unreachable => 502,
            Cause::ResponseTimeout if cloudflare => 524,
            Cause::ResponseTimeout => 504,
            Cause::InvalidResponse if cloudflare => 520,
            Cause::InvalidResponse => 502,
            Cause::NoTarget => 503,
        }
    }

    /// The value of the `X-Ringway-Error` header and of the `cause` metric label.
    pub fn name(self) -> &'static str {
        match self {
            Cause::BadRequest => "bad-request",
            Cause::DesyncBlocked => "desync-blocked",
            Cause::TooManyForwardedFor => "too-many-forwarded-for",
            Cause::UriTooLong => "uri-too-long",
            Cause::HeadersTooLarge => "headers-too-large",
            Cause::VersionNotSupported => "version-not-supported",
            Cause::HeaderTimeout => "header-timeout",
            Cause::ConnectRefused => "connect-refused",
            Cause::ConnectTimeout => "connect-timeout",
            Cause::Unreachable => "unreachable",
            Cause::ResponseTimeout => "response-timeout",
            Cause::InvalidResponse => "invalid-response",
            Cause::NoTarget => "no-target",
        }
    }

    /// One sentence for the synthetic body.
    pub fn description(self) -> &'static str {
        match self {
            Cause::BadRequest => "the request is malformed or ambiguous",
            Cause::DesyncBlocked => "the request's framing is ambiguous or malformed",
            Cause::TooManyForwardedFor => "X-Forwarded-For lists more than 30 addresses",
            Cause::UriTooLong => "the request-target is too long",
            Cause::HeadersTooLarge => "the request head is too large",
            Cause::VersionNotSupported => "only HTTP/1.0 and HTTP/1.1 are served here",
            Cause::HeaderTimeout => "the request head did not arrive in time",
            Cause::ConnectRefused => "every target refused the connection",
            Cause::ConnectTimeout => "connecting to the target timed out",
            Cause::Unreachable => "the target's host or network is unreachable",
            Cause::ResponseTimeout => "the target did not respond in time",
            Cause::InvalidResponse => "the target closed, reset or sent an invalid response",
            Cause::NoTarget => "the target group has no available target",
        }
    }

    pub fn side(self) -> Side {
        match self {
            Cause::BadRequest
            | Cause::DesyncBlocked
            | Cause::TooManyForwardedFor
            | Cause::UriTooLong
            | Cause::HeadersTooLarge
            | Cause::VersionNotSupported
            | Cause::HeaderTimeout => Side::Client,
            Cause::ConnectRefused
            | Cause::ConnectTimeout
            | Cause::Unreachable
            | Cause::ResponseTimeout
            | Cause::InvalidResponse => Side::Target,
            Cause::NoTarget => Side::Internal,
        }
    }
}

/// Appends the synthetic response for `cause` to `out`: a short text body naming the status and
/// cause, `X-Ringway-Error`, and `Connection: close` when `close` is set.
pub fn synthetic_response(out: &mut Vec<u8>, cause: Cause, style: ErrorStyle, close: bool) {
    let status = cause.status(style);
    let reason = reason_for(status);
    let body_len = 3 + 1 + reason.len() + 2 + cause.description().len() + 1;
    encode::status_line(out, crate::http::Version::Http11, status, reason);
    encode::header(out, b"Content-Type", b"text/plain; charset=utf-8");
    encode::content_length(out, body_len as u64);
    encode::header(out, b"X-Ringway-Error", cause.name().as_bytes());
    if close {
        encode::header(out, b"Connection", b"close");
    }
    encode::end_head(out);
    let start = out.len();
    out.extend_from_slice(status_digits(status).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason);
    out.extend_from_slice(b": ");
    out.extend_from_slice(cause.description().as_bytes());
    out.push(b'\n');
    debug_assert_eq!(out.len() - start, body_len);
}

/// ALB's 463 and Cloudflare's 52x codes have no registered phrase; name them as their owners
/// describe them.
fn reason_for(status: u16) -> &'static [u8] {
    match status {
        463 => b"Too Many Forwarded Addresses",
        520 => b"Web Server Returned an Unknown Error",
        521 => b"Web Server Is Down",
        522 => b"Connection Timed Out",
        523 => b"Origin Is Unreachable",
        524 => b"A Timeout Occurred",
        other => encode::reason_phrase(other),
    }
}

fn status_digits(status: u16) -> String {
    status.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(cause: Cause, style: ErrorStyle, close: bool) -> String {
        let mut out = Vec::new();
        synthetic_response(&mut out, cause, style, close);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn statuses_follow_the_design_table_in_both_styles() {
        use Cause::*;
        use ErrorStyle::*;
        let table = [
            (ConnectRefused, 502, 521),
            (ConnectTimeout, 504, 522),
            (Unreachable, 502, 523),
            (ResponseTimeout, 504, 524),
            (InvalidResponse, 502, 520),
            (NoTarget, 503, 503),
            (BadRequest, 400, 400),
            (DesyncBlocked, 400, 400),
            (TooManyForwardedFor, 463, 463),
        ];
        for (cause, standard, cloudflare) in table {
            assert_eq!(cause.status(Standard), standard, "{cause:?}");
            assert_eq!(cause.status(Cloudflare), cloudflare, "{cause:?}");
        }
    }

    #[test]
    fn synthetic_response_names_status_and_cause_and_has_an_exact_length() {
        for cause in Cause::ALL {
            for style in [ErrorStyle::Standard, ErrorStyle::Cloudflare] {
                let text = render(cause, style, true);
                let (head, body) = text.split_once("\r\n\r\n").unwrap();
                let status = cause.status(style);
                assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
                assert!(head.contains(&format!("\r\nX-Ringway-Error: {}", cause.name())));
                assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
                assert!(head.contains("\r\nConnection: close"));
                assert!(body.starts_with(&status.to_string()), "{body}");
            }
        }
    }

    #[test]
    fn keep_alive_synthetic_response_has_no_connection_header() {
        let text = render(Cause::NoTarget, ErrorStyle::Standard, false);
        assert!(!text.contains("Connection:"));
    }

    #[test]
    fn cause_names_are_unique() {
        let mut names: Vec<_> = Cause::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Cause::ALL.len());
    }
}
