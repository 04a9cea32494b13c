//! Which well-known field a header name is. The parser decides it once per header, so the
//! many later lookups by name (framing, Connection options, what is forwarded) compare one
//! byte instead of folding the name's letters to lower case on every pass.

/// A field name ringway looks up on the request path, or `Other`. Field names are
/// case-insensitive (RFC 9110 §5.1), and so is this: `HOST` is `Host`. Names looked up
/// rarely (the log's User-Agent, a hash balancer's configured header) stay `Other` and are
/// compared by their bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum Known {
    #[default]
    Other,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    Te,
    Trailer,
    Upgrade,
    Expect,
    XForwardedFor,
    XForwardedPort,
    XForwardedProto,
}

impl Known {
    /// The known field `name` is, ignoring ASCII case. The length picks the one or two
    /// candidates, so most names cost a compare of their length and nothing more. Always
    /// inlined: out of line, the call saved and restored six registers per header, as much
    /// again as the compare.
    #[inline(always)]
    pub fn of(name: &[u8]) -> Known {
        let is = |lower: &[u8]| is_named(name, lower);
        match name.len() {
            2 if is(b"te") => Known::Te,
            4 if is(b"host") => Known::Host,
            6 if is(b"expect") => Known::Expect,
            7 if is(b"trailer") => Known::Trailer,
            7 if is(b"upgrade") => Known::Upgrade,
            10 if is(b"connection") => Known::Connection,
            10 if is(b"keep-alive") => Known::KeepAlive,
            14 if is(b"content-length") => Known::ContentLength,
            15 if is(b"x-forwarded-for") => Known::XForwardedFor,
            16 if is(b"proxy-connection") => Known::ProxyConnection,
            16 if is(b"x-forwarded-port") => Known::XForwardedPort,
            17 if is(b"transfer-encoding") => Known::TransferEncoding,
            17 if is(b"x-forwarded-proto") => Known::XForwardedProto,
            _ => Known::Other,
        }
    }

    /// Fields that describe one connection and are never forwarded (RFC 9110 §7.6.1, plus
    /// Keep-Alive and Proxy-Connection from RFC 2068 era clients). Transfer-Encoding and
    /// Content-Length are framing, which the worker rewrites itself; fields named in
    /// Connection are the caller's to drop as well.
    #[inline]
    pub fn is_hop_by_hop(self) -> bool {
        matches!(
            self,
            Known::Connection
                | Known::KeepAlive
                | Known::ProxyConnection
                | Known::Te
                | Known::Trailer
                | Known::Upgrade
        )
    }
}

/// `name.eq_ignore_ascii_case(lower)` for `lower` of lower-case letters and `-`, without a
/// branch per byte: a byte matches a letter when it equals it after setting 0x20, and matches
/// `-` only when equal (`(l >> 1) & 0x20` is 0x20 for a-z, 0 for `-`). The bytes are taken
/// eight or four at a time, the last word overlapping the one before, so a 14-byte name costs
/// two word compares instead of fourteen byte steps; the shift moves only bit 0 of a byte into
/// bit 7 of its neighbour, which the 0x20 mask drops, so each byte is judged on its own.
#[inline(always)]
pub(crate) fn is_named(name: &[u8], lower: &[u8]) -> bool {
    const CASE: u64 = 0x2020_2020_2020_2020;
    let n = lower.len();
    if name.len() != n {
        return false;
    }
    let differs = |a: u64, l: u64| (a | ((l >> 1) & CASE)) ^ l;
    let mut d = 0;
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            d |= differs(word8(name, i), word8(lower, i));
            i += 8;
        }
        d |= differs(word8(name, n - 8), word8(lower, n - 8));
    } else if n >= 4 {
        d |= differs(word4(name, 0), word4(lower, 0));
        d |= differs(word4(name, n - 4), word4(lower, n - 4));
    } else {
        for (&b, &l) in name.iter().zip(lower) {
            d |= differs(u64::from(b), u64::from(l));
        }
    }
    d == 0
}

/// Bytes `at..at + 8` as a little-endian word; callers keep `at + 8 <= bytes.len()`.
#[inline(always)]
fn word8(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Bytes `at..at + 4` as a little-endian word; callers keep `at + 4 <= bytes.len()`.
#[inline(always)]
fn word4(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0; 4];
    w.copy_from_slice(&bytes[at..at + 4]);
    u64::from(u32::from_le_bytes(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every known field with its name; the test below keeps it complete.
    const TABLE: [(Known, &str); 13] = [
        (Known::Host, "host"),
        (Known::ContentLength, "content-length"),
        (Known::TransferEncoding, "transfer-encoding"),
        (Known::Connection, "connection"),
        (Known::KeepAlive, "keep-alive"),
        (Known::ProxyConnection, "proxy-connection"),
        (Known::Te, "te"),
        (Known::Trailer, "trailer"),
        (Known::Upgrade, "upgrade"),
        (Known::Expect, "expect"),
        (Known::XForwardedFor, "x-forwarded-for"),
        (Known::XForwardedPort, "x-forwarded-port"),
        (Known::XForwardedProto, "x-forwarded-proto"),
    ];

    /// What `Known::of` must say: the table entry equal to `name` ignoring ASCII case.
    fn model(name: &[u8]) -> Known {
        TABLE
            .iter()
            .find(|(_, n)| n.as_bytes().eq_ignore_ascii_case(name))
            .map_or(Known::Other, |&(k, _)| k)
    }

    #[test]
    fn the_table_names_every_variant_once() {
        let mut seen = [false; TABLE.len() + 1];
        for (k, _) in TABLE {
            assert!(!seen[k as usize], "{k:?} twice");
            seen[k as usize] = true;
        }
        // `Other` is 0 and the only variant the table leaves out.
        assert_eq!(seen, [&[false][..], &[true; TABLE.len()]].concat()[..]);
    }

    #[test]
    fn every_known_name_is_found_in_any_case() {
        for (k, name) in TABLE {
            let upper = name.to_ascii_uppercase();
            let title: String = name
                .split('-')
                .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
                .collect::<Vec<_>>()
                .join("-");
            let alternating: String = name
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            for n in [name, &upper, &title, &alternating] {
                assert_eq!(Known::of(n.as_bytes()), k, "{n}");
            }
        }
    }

    #[test]
    fn near_misses_are_other() {
        for n in [
            "",
            "t",
            "tee",
            "hosts",
            "hos",
            "host ",
            " host",
            "host:",
            "content_length",
            "content-lengt",
            "content-lengthx",
            "transfer-encodinG ",
            "transfer_encoding",
            "connectio",
            "keep_alive",
            "keepalive",
            "x-forwarded-fo",
            "x-forwarded-forx",
            "x-forwarded_port",
            "Trailers",
            "upgrades",
            "expects",
            "proxy-connectioN-",
            // `-` is 0x2D and CR is 0x0D: folding the dash like a letter would match them.
            "keep\ralive",
            "x\rforwarded-for",
            "content\rlength",
            "transfer\rencoding",
        ] {
            assert_eq!(Known::of(n.as_bytes()), Known::Other, "{n:?}");
        }
    }

    #[test]
    fn only_the_six_hop_by_hop_fields_are_hop_by_hop() {
        let hop: Vec<_> = TABLE
            .iter()
            .filter(|(k, _)| k.is_hop_by_hop())
            .map(|&(_, n)| n)
            .collect();
        assert_eq!(
            hop,
            [
                "connection",
                "keep-alive",
                "proxy-connection",
                "te",
                "trailer",
                "upgrade"
            ]
        );
        assert!(!Known::Other.is_hop_by_hop());
    }

    #[test]
    fn is_named_is_eq_ignore_ascii_case_for_every_byte_at_every_position() {
        for (_, lower) in TABLE {
            let lower = lower.as_bytes();
            for at in 0..lower.len() {
                for b in 0..=255u8 {
                    let mut n = lower.to_vec();
                    n[at] = b;
                    assert_eq!(is_named(&n, lower), n.eq_ignore_ascii_case(lower), "{n:?}");
                    assert_eq!(Known::of(&n), model(&n), "{n:?}");
                }
            }
            assert!(!is_named(&lower[1..], lower));
        }
    }

    /// A known name with each byte's case flipped or not, and at most one byte replaced.
    fn near_known() -> impl Strategy<Value = Vec<u8>> {
        (0..TABLE.len(), any::<u32>(), any::<Option<(usize, u8)>>()).prop_map(
            |(i, flips, replace)| {
                let mut n = TABLE[i].1.as_bytes().to_vec();
                for (j, b) in n.iter_mut().enumerate() {
                    if flips >> (j % 32) & 1 == 1 {
                        *b ^= 0x20 * u8::from(b.is_ascii_alphabetic());
                    }
                }
                if let Some((at, b)) = replace {
                    let at = at % n.len();
                    n[at] = b;
                }
                n
            },
        )
    }

    /// The byte-at-a-time `is_named` the word version replaced.
    fn bytewise_is_named(name: &[u8], lower: &[u8]) -> bool {
        name.len() == lower.len()
            && name
                .iter()
                .zip(lower)
                .fold(0u8, |d, (&b, &l)| d | ((b | ((l >> 1) & 0x20)) ^ l))
                == 0
    }

    /// A lower-case name of letters and `-` of any length up to 40, and a name that is that
    /// one with bytes case-flipped, replaced or cut.
    fn name_pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        (
            proptest::collection::vec(prop_oneof![b'a'..=b'z', Just(b'-')], 0..40),
            any::<u64>(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            any::<bool>(),
        )
            .prop_map(|(lower, flips, replace, cut)| {
                let mut name = lower.clone();
                for (j, b) in name.iter_mut().enumerate() {
                    if flips >> (j % 64) & 1 == 1 {
                        *b ^= 0x20 * u8::from(b.is_ascii_alphabetic());
                    }
                }
                for (at, b) in replace {
                    if !name.is_empty() {
                        let at = at % name.len();
                        name[at] = b;
                    }
                }
                if cut {
                    name.pop();
                }
                (name, lower)
            })
    }

    proptest! {
        #[test]
        fn word_is_named_agrees_with_the_bytewise_one((name, lower) in name_pair()) {
            prop_assert_eq!(is_named(&name, &lower), bytewise_is_named(&name, &lower));
            prop_assert_eq!(is_named(&name, &lower), name.eq_ignore_ascii_case(&lower));
        }

        #[test]
        fn of_agrees_with_eq_ignore_ascii_case(
            name in prop_oneof![near_known(), proptest::collection::vec(any::<u8>(), 0..20)],
        ) {
            prop_assert_eq!(Known::of(&name), model(&name));
        }
    }
}
