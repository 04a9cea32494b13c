//! X-Forwarded-For, X-Forwarded-Proto and X-Forwarded-Port (DESIGN.md §3.5, ALB's
//! `routing.http.xff_header_processing.mode` and `routing.http.xff_client_port.enabled`).
//!
//! - append: the incoming X-Forwarded-For fields, combined in order (RFC 9110 §5.3), then the
//!   client address, with `:port` when client-port is on (`[v6]:port` for IPv6).
//! - preserve: every incoming X-Forwarded-For field goes through byte for byte.
//! - remove: no X-Forwarded-For at all.
//!
//! ALB's client-port attribute only matters in append mode. X-Forwarded-Proto and
//! X-Forwarded-Port are always set by the balancer: ALB "stores" the listener's protocol and
//! port in them, so what a client sent is dropped, never passed on (a client cannot claim
//! https). More than 30 addresses in the received X-Forwarded-For is ALB's 463.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::clean;
use crate::config::XffMode;
use crate::http::{encode, trim_ows, Known};

/// ALB: "The upper limit for IP addresses is 30."
pub const MAX_FORWARDED: usize = 30;

/// Why the forwarding headers could not be written. The client side failed; nothing was sent
/// to a target, so there is nothing to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedError {
    /// The received X-Forwarded-For holds more than [`MAX_FORWARDED`] addresses: 463.
    TooMany,
    /// A received X-Forwarded-For value holds a control character: 400. The parser refuses
    /// these first; this keeps the encoder from ever writing one.
    Invalid,
}

impl ForwardedError {
    pub fn status(self) -> u16 {
        match self {
            ForwardedError::TooMany => 463,
            ForwardedError::Invalid => 400,
        }
    }
}

/// Whether the worker must leave an incoming field out of the forwarded head because
/// [`write_forwarding`] or [`super::write_host`] writes it. The same in every mode: preserve
/// re-emits X-Forwarded-For itself. Takes the parser's id of the name (`Header::known`).
pub fn is_forwarding_header(name: Known) -> bool {
    matches!(
        name,
        Known::Host | Known::XForwardedFor | Known::XForwardedPort | Known::XForwardedProto
    )
}

/// Appends X-Forwarded-For (per `mode`), X-Forwarded-Proto and X-Forwarded-Port.
///
/// `incoming_xff` are the values of the request's X-Forwarded-For fields in order. `client` is
/// the peer address of the client connection; an IPv4-mapped IPv6 address (a dual-stack
/// listener's view of an IPv4 client) is written as IPv4. On error nothing is appended.
pub fn write_forwarding<'a>(
    out: &mut Vec<u8>,
    incoming_xff: impl IntoIterator<Item = &'a [u8]>,
    client: SocketAddr,
    listener_port: u16,
    mode: XffMode,
    client_port: bool,
) -> Result<(), ForwardedError> {
    let start = out.len();
    let opened = match write_incoming(out, incoming_xff, mode) {
        Ok(opened) => opened,
        Err(e) => {
            out.truncate(start);
            return Err(e);
        }
    };
    // What follows the incoming addresses is a few short pieces: built on the stack and
    // appended with one copy.
    let mut tail = encode::Scratch::<TAIL>::new();
    if mode == XffMode::Append {
        tail.push(if opened { b", " } else { b"X-Forwarded-For: " });
        push_client(&mut tail, client, client_port);
        tail.push(b"\r\n");
    }
    // ringway has no TLS listener yet.
    tail.push(b"X-Forwarded-Proto: http\r\nX-Forwarded-Port: ");
    tail.decimal(u64::from(listener_port));
    tail.push(b"\r\n");
    out.extend_from_slice(tail.as_bytes());
    Ok(())
}

/// The most [`write_forwarding`] writes after the incoming addresses: `X-Forwarded-For: `,
/// the longest client (`[` 45-byte IPv6 text `]:65535`), CRLF, then X-Forwarded-Proto and
/// X-Forwarded-Port.
const TAIL: usize = 17 + CLIENT + 2 + 43 + 5 + 2;

/// The room [`push_client`] needs: the longest text `Display` gives an `Ipv6Addr`
/// (`ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`), brackets, a colon and a port.
const CLIENT: usize = 45 + 2 + 1 + 5;

/// Checks and counts the incoming X-Forwarded-For values; writes them in preserve mode, and
/// in append mode as the start of the combined line. True when that line was opened.
fn write_incoming<'a>(
    out: &mut Vec<u8>,
    incoming: impl IntoIterator<Item = &'a [u8]>,
    mode: XffMode,
) -> Result<bool, ForwardedError> {
    // The limit is on what ALB "received", so it is counted in every mode. Empty list elements
    // (`a,,b`) are not addresses: RFC 9110 §5.6.1 lets a recipient ignore them.
    let mut count = 0;
    let mut opened = false;
    for value in incoming {
        if !clean(value) {
            return Err(ForwardedError::Invalid);
        }
        if mode == XffMode::Preserve {
            encode::header(out, b"X-Forwarded-For", value);
        }
        for element in value.split(|&b| b == b',').map(trim_ows) {
            if element.is_empty() {
                continue;
            }
            count += 1;
            // Stop at the 31st: a hostile 64 KiB list is not scanned or copied further.
            if count > MAX_FORWARDED {
                return Err(ForwardedError::TooMany);
            }
            if mode == XffMode::Append {
                out.extend_from_slice(if opened { b", " } else { b"X-Forwarded-For: " });
                out.extend_from_slice(element);
                opened = true;
            }
        }
    }
    Ok(opened)
}

/// `203.0.113.7`, `2001:db8::1`; with the port `203.0.113.7:8080`, `[2001:db8::1]:8080`
/// (ALB's forms). Writes at most [`CLIENT`] bytes.
fn push_client<const N: usize>(out: &mut encode::Scratch<N>, client: SocketAddr, with_port: bool) {
    let ip = match client.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        // The common case by hand: Display goes through the formatting machinery, which cost
        // more than the rest of the X-Forwarded-* work together in a profile under load.
        IpAddr::V4(v4) => out.ipv4(v4),
        IpAddr::V6(v6) => {
            if with_port {
                out.push_byte(b'[');
            }
            // `CLIENT` leaves room for the longest text; Display allocates nothing.
            let _ = write!(out, "{v6}");
            if with_port {
                out.push_byte(b']');
            }
        }
    }
    if with_port {
        out.push_byte(b':');
        out.decimal(u64::from(client.port()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_text(addr: SocketAddr, with_port: bool) -> String {
        let mut out = encode::Scratch::<CLIENT>::new();
        push_client(&mut out, addr, with_port);
        String::from_utf8(out.as_bytes().to_vec()).unwrap()
    }

    /// The obvious way: `Display`, an IPv4-mapped address as IPv4, `[v6]:port` with a port.
    fn client_by_display(addr: SocketAddr, with_port: bool) -> String {
        let ip = match addr.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match (with_port, ip) {
            (false, ip) => ip.to_string(),
            (true, IpAddr::V4(v4)) => format!("{v4}:{}", addr.port()),
            (true, IpAddr::V6(v6)) => format!("[{v6}]:{}", addr.port()),
        }
    }

    #[test]
    fn a_client_is_written_as_display_writes_it() {
        for ip in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.100.9",
            "192.168.1.20",
            "1.22.133.4",
            "9.99.100.199",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
            "::ffff:ffff:ffff",
            "1:0:0:1:0:0:0:1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            for port in [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535] {
                for with_port in [false, true] {
                    let addr = SocketAddr::new(ip, port);
                    assert_eq!(
                        client_text(addr, with_port),
                        client_by_display(addr, with_port)
                    );
                }
            }
        }
    }

    #[test]
    fn the_longest_tail_fits() {
        let addr: SocketAddr = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"
            .parse()
            .unwrap();
        let mut out = Vec::new();
        write_forwarding(&mut out, [], addr, 65535, XffMode::Append, true).unwrap();
        assert!(out.len() <= TAIL);
    }

    fn client(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// The X-Forwarded-For lines the target receives (each value), and the whole output.
    fn run(
        incoming: &[&str],
        peer: &str,
        mode: XffMode,
        client_port: bool,
    ) -> Result<Vec<String>, ForwardedError> {
        let mut out = Vec::new();
        write_forwarding(
            &mut out,
            incoming.iter().map(|s| s.as_bytes()),
            client(peer),
            8080,
            mode,
            client_port,
        )?;
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with("X-Forwarded-Proto: http\r\nX-Forwarded-Port: 8080\r\n"),
            "{text}"
        );
        Ok(text
            .split("\r\n")
            .filter_map(|l| l.strip_prefix("X-Forwarded-For: "))
            .map(str::to_string)
            .collect())
    }

    fn xff(incoming: &[&str], peer: &str, mode: XffMode, client_port: bool) -> Vec<String> {
        run(incoming, peer, mode, client_port).unwrap()
    }

    // The rows of ALB's table of "the X-Forwarded-For header that the target receives" in
    // append, preserve and remove mode, "the IP address of the last hop is 127.0.0.1":
    // https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html

    /// "Request is sent with no XFF header | GET /index.html HTTP/1.1 Host: example.com |
    /// X-Forwarded-For: 127.0.0.1 | Not present | Not present"
    #[test]
    fn alb_row_no_xff_header() {
        for client_port in [false, true] {
            assert_eq!(
                xff(&[], "127.0.0.1:5000", XffMode::Preserve, client_port),
                [""; 0]
            );
            assert_eq!(
                xff(&[], "127.0.0.1:5000", XffMode::Remove, client_port),
                [""; 0]
            );
        }
        assert_eq!(
            xff(&[], "127.0.0.1:5000", XffMode::Append, false),
            ["127.0.0.1"]
        );
    }

    /// "Request is sent with an XFF header and a client IP address. | ... X-Forwarded-For:
    /// 127.0.0.4 | X-Forwarded-For: 127.0.0.4, 127.0.0.1 | X-Forwarded-For: 127.0.0.4 | Not
    /// present"
    #[test]
    fn alb_row_xff_with_one_address() {
        let inc = ["127.0.0.4"];
        assert_eq!(
            xff(&inc, "127.0.0.1:5000", XffMode::Append, false),
            ["127.0.0.4, 127.0.0.1"]
        );
        assert_eq!(
            xff(&inc, "127.0.0.1:5000", XffMode::Preserve, false),
            ["127.0.0.4"]
        );
        assert_eq!(xff(&inc, "127.0.0.1:5000", XffMode::Remove, false), [""; 0]);
    }

    /// "Request is sent with an XFF header with multiple client IP addresses. | ...
    /// X-Forwarded-For: 127.0.0.4, 127.0.0.8 | X-Forwarded-For: 127.0.0.4, 127.0.0.8, 127.0.0.1
    /// | X-Forwarded-For: 127.0.0.4, 127.0.0.8 | Not present"
    #[test]
    fn alb_row_xff_with_several_addresses() {
        let inc = ["127.0.0.4, 127.0.0.8"];
        let appended = "127.0.0.4, 127.0.0.8, 127.0.0.1";
        assert_eq!(
            xff(&inc, "127.0.0.1:5000", XffMode::Append, false),
            [appended]
        );
        assert_eq!(
            xff(&inc, "127.0.0.1:5000", XffMode::Preserve, false),
            ["127.0.0.4, 127.0.0.8"]
        );
        assert_eq!(xff(&inc, "127.0.0.1:5000", XffMode::Remove, false), [""; 0]);
    }

    /// "X-Forwarded-For: 203.0.113.7" for a client with IPv4 address 203.0.113.7.
    #[test]
    fn alb_example_ipv4_client() {
        assert_eq!(
            xff(&[], "203.0.113.7:1234", XffMode::Append, false),
            ["203.0.113.7"]
        );
    }

    /// "X-Forwarded-For: 2001:DB8::21f:5bff:febf:ce22:8a2e" for an IPv6 client: unbracketed
    /// without the port. ringway writes RFC 5952's canonical text: lower case, and `::` never
    /// stands for a single zero group, so ALB's example address comes out with its `:0:`.
    #[test]
    fn alb_example_ipv6_client_without_port() {
        let peer = "[2001:DB8::21f:5bff:febf:ce22:8a2e]:1234";
        assert_eq!(
            xff(&[], peer, XffMode::Append, false),
            ["2001:db8:0:21f:5bff:febf:ce22:8a2e"]
        );
        assert_eq!(
            xff(&[], "[2001:db8::1]:1234", XffMode::Append, false),
            ["2001:db8::1"]
        );
    }

    /// "X-Forwarded-For: 12.34.56.78:8080" with `routing.http.xff_client_port.enabled`.
    #[test]
    fn alb_example_ipv4_client_with_port() {
        assert_eq!(
            xff(&[], "12.34.56.78:8080", XffMode::Append, true),
            ["12.34.56.78:8080"]
        );
    }

    /// "X-Forwarded-For: [2001:db8:85a3:8d3:1319:8a2e:370:7348]:8080" with the client port on.
    #[test]
    fn alb_example_ipv6_client_with_port_is_bracketed() {
        let peer = "[2001:db8:85a3:8d3:1319:8a2e:370:7348]:8080";
        assert_eq!(
            xff(&["198.51.100.1"], peer, XffMode::Append, true),
            ["198.51.100.1, [2001:db8:85a3:8d3:1319:8a2e:370:7348]:8080"]
        );
    }

    /// ALB's note: with the client port on and preserve or remove mode, "the Application Load
    /// Balancer overrides the client port preservation attribute".
    #[test]
    fn client_port_does_nothing_in_preserve_or_remove_mode() {
        let inc = ["127.0.0.4"];
        assert_eq!(
            xff(&inc, "127.0.0.1:5000", XffMode::Preserve, true),
            ["127.0.0.4"]
        );
        assert_eq!(xff(&inc, "127.0.0.1:5000", XffMode::Remove, true), [""; 0]);
    }

    #[test]
    fn an_ipv4_mapped_client_is_written_as_ipv4() {
        assert_eq!(
            xff(&[], "[::ffff:192.0.2.9]:7", XffMode::Append, false),
            ["192.0.2.9"]
        );
        assert_eq!(
            xff(&[], "[::ffff:192.0.2.9]:7", XffMode::Append, true),
            ["192.0.2.9:7"]
        );
    }

    #[test]
    fn several_incoming_fields_are_combined_in_order_when_appending() {
        let inc = ["192.0.2.1", "192.0.2.2, 192.0.2.3"];
        assert_eq!(
            xff(&inc, "127.0.0.1:1", XffMode::Append, false),
            ["192.0.2.1, 192.0.2.2, 192.0.2.3, 127.0.0.1"]
        );
    }

    #[test]
    fn several_incoming_fields_are_preserved_field_by_field() {
        let inc = ["192.0.2.1", " 192.0.2.2 ,,192.0.2.3"];
        assert_eq!(xff(&inc, "127.0.0.1:1", XffMode::Preserve, false), inc);
    }

    #[test]
    fn append_drops_empty_elements_and_whitespace() {
        let inc = ["", " ,, ", " 192.0.2.1 ,\t,192.0.2.2\t"];
        assert_eq!(
            xff(&inc, "127.0.0.1:1", XffMode::Append, false),
            ["192.0.2.1, 192.0.2.2, 127.0.0.1"]
        );
        assert_eq!(
            xff(&[",,"], "127.0.0.1:1", XffMode::Append, false),
            ["127.0.0.1"]
        );
    }

    #[test]
    fn append_passes_non_address_elements_through() {
        // ALB counts and keeps what it received; whether an element is an address is the
        // target's business (and `unknown` is common).
        let inc = ["unknown, 198.51.100.7:4000, [2001:db8::1]:80"];
        assert_eq!(
            xff(&inc, "127.0.0.1:1", XffMode::Append, false),
            ["unknown, 198.51.100.7:4000, [2001:db8::1]:80, 127.0.0.1"]
        );
    }

    fn addresses(n: usize) -> String {
        (0..n)
            .map(|i| format!("10.0.0.{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// ALB's HTTP 463: "The load balancer received an X-Forwarded-For request header with too
    /// many IP addresses. The upper limit for IP addresses is 30." (troubleshooting page,
    /// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-troubleshooting.html)
    /// The limit is on what was received: 30 received pass and become 31 after appending.
    #[test]
    fn thirty_received_addresses_pass_and_thirty_one_are_463() {
        let thirty = addresses(30);
        let out = xff(&[&thirty], "127.0.0.1:1", XffMode::Append, false);
        assert_eq!(out[0].split(", ").count(), 31);
        let thirty_one = addresses(31);
        for mode in [XffMode::Append, XffMode::Preserve, XffMode::Remove] {
            let err = run(&[&thirty_one], "127.0.0.1:1", mode, false).unwrap_err();
            assert_eq!(err, ForwardedError::TooMany);
            assert_eq!(err.status(), 463);
        }
    }

    #[test]
    fn the_limit_counts_across_fields_and_ignores_empty_elements() {
        let a = addresses(15);
        let padded = format!("{a},,, ,");
        assert!(run(&[&padded, &padded], "127.0.0.1:1", XffMode::Append, false).is_ok());
        let err = run(
            &[&a, &a, "192.0.2.1"],
            "127.0.0.1:1",
            XffMode::Append,
            false,
        );
        assert_eq!(err, Err(ForwardedError::TooMany));
    }

    #[test]
    fn nothing_is_appended_on_error() {
        let mut out = b"kept".to_vec();
        let many = addresses(31);
        let r = write_forwarding(
            &mut out,
            [many.as_bytes()],
            client("127.0.0.1:1"),
            80,
            XffMode::Append,
            false,
        );
        assert!(r.is_err());
        assert_eq!(out, b"kept");
        let r = write_forwarding(
            &mut out,
            [&b"1.2.3.4"[..], b"a\r\nb"],
            client("127.0.0.1:1"),
            80,
            XffMode::Preserve,
            false,
        );
        assert_eq!(r, Err(ForwardedError::Invalid));
        assert_eq!(ForwardedError::Invalid.status(), 400);
        assert_eq!(out, b"kept");
    }

    #[test]
    fn proto_and_port_are_the_listeners_in_every_mode() {
        for mode in [XffMode::Append, XffMode::Preserve, XffMode::Remove] {
            let mut out = Vec::new();
            write_forwarding(&mut out, [], client("127.0.0.1:1"), 443, mode, false).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.ends_with("X-Forwarded-Proto: http\r\nX-Forwarded-Port: 443\r\n"));
        }
    }

    #[test]
    fn forwarding_headers_are_recognised_in_any_case_and_nothing_else() {
        for name in [
            "Host",
            "X-FORWARDED-FOR",
            "x-forwarded-proto",
            "X-Forwarded-Port",
        ] {
            assert!(is_forwarding_header(Known::of(name.as_bytes())), "{name}");
        }
        for name in [
            "Forwarded",
            "X-Forwarded-Host",
            "X-Real-IP",
            "Hostname",
            "hos",
            "",
        ] {
            assert!(!is_forwarding_header(Known::of(name.as_bytes())), "{name}");
        }
    }

    proptest::proptest! {
        #[test]
        fn push_client_writes_what_display_writes(
            ip in proptest::num::u128::ANY,
            form in 0..3u8,
            port in proptest::num::u16::ANY,
            with_port in proptest::bool::ANY,
        ) {
            let ip = match form {
                0 => IpAddr::from(std::net::Ipv4Addr::from(ip as u32)),
                1 => IpAddr::from(std::net::Ipv4Addr::from(ip as u32).to_ipv6_mapped()),
                _ => IpAddr::from(std::net::Ipv6Addr::from(ip)),
            };
            let addr = SocketAddr::new(ip, port);
            proptest::prop_assert_eq!(client_text(addr, with_port), client_by_display(addr, with_port));
        }

        #[test]
        fn write_forwarding_never_panics_and_writes_clean_lines(
            values in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..60), 0..5),
            ip in proptest::num::u128::ANY,
            v4 in proptest::bool::ANY,
            port in proptest::num::u16::ANY,
            listener in proptest::num::u16::ANY,
            mode in proptest::sample::select(vec![XffMode::Append, XffMode::Preserve, XffMode::Remove]),
            client_port in proptest::bool::ANY,
        ) {
            let addr = if v4 {
                SocketAddr::from((std::net::Ipv4Addr::from(ip as u32), port))
            } else {
                SocketAddr::from((std::net::Ipv6Addr::from(ip), port))
            };
            let mut out = Vec::new();
            let r = write_forwarding(&mut out, values.iter().map(Vec::as_slice), addr, listener, mode, client_port);
            if r.is_err() {
                proptest::prop_assert!(out.is_empty());
            } else {
                crate::forward::tests::assert_header_lines(
                    &out,
                    &[b"X-Forwarded-For", b"X-Forwarded-Proto", b"X-Forwarded-Port"],
                );
            }
        }

        #[test]
        fn printable_values_are_written_and_counted(
            values in proptest::collection::vec("[ -~\t]{0,40}", 0..5),
            mode in proptest::sample::select(vec![XffMode::Append, XffMode::Preserve, XffMode::Remove]),
            client_port in proptest::bool::ANY,
        ) {
            let count = values
                .iter()
                .flat_map(|v| v.split(','))
                .filter(|e| !e.trim_matches([' ', '\t']).is_empty())
                .count();
            let mut out = Vec::new();
            let r = write_forwarding(
                &mut out,
                values.iter().map(|v| v.as_bytes()),
                client("[2001:db8::1]:9"),
                80,
                mode,
                client_port,
            );
            if count > MAX_FORWARDED {
                proptest::prop_assert_eq!(r, Err(ForwardedError::TooMany));
            } else {
                proptest::prop_assert!(r.is_ok());
                crate::forward::tests::assert_header_lines(
                    &out,
                    &[b"X-Forwarded-For", b"X-Forwarded-Proto", b"X-Forwarded-Port"],
                );
            }
        }
    }
}
