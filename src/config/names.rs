//! The file's spelling of each config enum: `name()`, `from_name()` and `NAMES`, so that
//! parsing, rendering and error messages share one list.

use super::types::{Algorithm, DesyncMode, ErrorStyle, XffMode};

macro_rules! named {
    ($ty:ty { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every accepted spelling, in documentation order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The name the config file uses.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            /// Parses the config file's name (exact, lower-case).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

named!(DesyncMode {
    Monitor = "monitor",
    Defensive = "defensive",
    Strictest = "strictest",
});

named!(XffMode {
    Append = "append",
    Preserve = "preserve",
    Remove = "remove",
});

named!(ErrorStyle {
    Standard = "standard",
    Cloudflare = "cloudflare",
});

named!(Algorithm {
    RoundRobin = "round_robin",
    LeastOutstandingRequests = "least_outstanding_requests",
    WeightedRandom = "weighted_random",
    P2cLeastOutstanding = "p2c_least_outstanding",
    ConsistentHash = "consistent_hash",
});

/// `"a" | "b" | "c"`, for error messages.
pub(crate) fn one_of(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_a_variant_with_that_name() {
        for &n in DesyncMode::NAMES {
            assert_eq!(DesyncMode::from_name(n).map(DesyncMode::name), Some(n));
        }
        for &n in XffMode::NAMES {
            assert_eq!(XffMode::from_name(n).map(XffMode::name), Some(n));
        }
        for &n in ErrorStyle::NAMES {
            assert_eq!(ErrorStyle::from_name(n).map(ErrorStyle::name), Some(n));
        }
        for &n in Algorithm::NAMES {
            assert_eq!(Algorithm::from_name(n).map(Algorithm::name), Some(n));
        }
    }

    #[test]
    fn names_are_case_sensitive() {
        assert_eq!(DesyncMode::from_name("Defensive"), None);
    }
}
