//! Tiers and reason codes. The 26 reasons of aws/http-desync-guardian keep its names (ALB writes
//! them to the `classification_reason` access-log field, and people's log tooling matches on
//! them); ringway adds its own for the RFC 9112 MUSTs the guardian leaves out (SPEC §6, §10).

/// How risky a request is, ALB's four tiers in rising order (SPEC §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Compliant,
    Acceptable,
    Ambiguous,
    Severe,
}

impl Tier {
    pub const ALL: [Tier; 4] = [
        Tier::Compliant,
        Tier::Acceptable,
        Tier::Ambiguous,
        Tier::Severe,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tier::Compliant => "Compliant",
            Tier::Acceptable => "Acceptable",
            Tier::Ambiguous => "Ambiguous",
            Tier::Severe => "Severe",
        }
    }
}

/// Why a request got its tier. Each reason has one tier (`Reason::tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Compliant,
    // Acceptable (guardian).
    NonCompliantHeader,
    SpaceInUri,
    NonCompliantVersion,
    GetHeadZeroContentLength,
    NonCrLfLineTermination,
    // Ambiguous (guardian).
    EmptyHeader,
    AmbiguousUri,
    UndefinedContentLengthSemantics,
    UndefinedTransferEncodingSemantics,
    DuplicateContentLength,
    BothTeClPresent,
    SuspiciousHeader,
    /// Guardian raw mode only; ringway reports a fold as `ObsFold`.
    MultilineHeader,
    /// Guardian raw mode only; `tokenize` waits for a complete head instead.
    PartialHeaderLine,
    /// Guardian raw mode only; `tokenize` waits for a complete head instead.
    MissingLastEmptyLine,
    /// Severe in ringway (the guardian: Ambiguous): the line cannot be read as a field.
    MissingHeaderColon,
    /// Severe in ringway (the guardian: Ambiguous): there is no request-target to forward.
    MissingUri,
    // Severe (guardian).
    BadHeader,
    BadUri,
    BadVersion,
    BadMethod,
    MultipleContentLength,
    BadContentLength,
    MultipleTransferEncodingChunked,
    BadTransferEncoding,
    // ringway's own, where RFC 9112 requires more than the guardian checks.
    /// An HTTP/1.1 request without Host (RFC 9112 §3.2: 400).
    MissingHost,
    /// More than one Host line (RFC 9112 §3.2: 400).
    MultipleHost,
    /// A Host value that is not `uri-host [":" port]` (RFC 9112 §3.2: 400).
    BadHost,
    /// An absolute-form target whose authority differs from Host (RFC 9112 §3.2.2).
    AbsoluteFormHostMismatch,
    /// Transfer-Encoding whose final coding is not chunked, or chunked twice (RFC 9112 §6.3
    /// rule 4, §6.1: 400 and close).
    TeChunkedNotLast,
    /// `Content-Length:` with no digits (RFC 9110 §8.6: `1*DIGIT`).
    EmptyContentLength,
    /// SP or HT between a field name and its colon (RFC 9112 §5.1: MUST reject with 400).
    WhitespaceBeforeColon,
    /// A folded header line anywhere, Content-Type included (RFC 9112 §5.2).
    ObsFold,
    /// A request-target in none of the four forms, or in a form its method may not use
    /// (RFC 9112 §3.2).
    InvalidTargetForm,
}

impl Reason {
    pub const ALL: [Reason; 35] = [
        Reason::Compliant,
        Reason::NonCompliantHeader,
        Reason::SpaceInUri,
        Reason::NonCompliantVersion,
        Reason::GetHeadZeroContentLength,
        Reason::NonCrLfLineTermination,
        Reason::EmptyHeader,
        Reason::AmbiguousUri,
        Reason::UndefinedContentLengthSemantics,
        Reason::UndefinedTransferEncodingSemantics,
        Reason::DuplicateContentLength,
        Reason::BothTeClPresent,
        Reason::SuspiciousHeader,
        Reason::MultilineHeader,
        Reason::PartialHeaderLine,
        Reason::MissingLastEmptyLine,
        Reason::MissingHeaderColon,
        Reason::MissingUri,
        Reason::BadHeader,
        Reason::BadUri,
        Reason::BadVersion,
        Reason::BadMethod,
        Reason::MultipleContentLength,
        Reason::BadContentLength,
        Reason::MultipleTransferEncodingChunked,
        Reason::BadTransferEncoding,
        Reason::MissingHost,
        Reason::MultipleHost,
        Reason::BadHost,
        Reason::AbsoluteFormHostMismatch,
        Reason::TeChunkedNotLast,
        Reason::EmptyContentLength,
        Reason::WhitespaceBeforeColon,
        Reason::ObsFold,
        Reason::InvalidTargetForm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Reason::Compliant => "Compliant",
            Reason::NonCompliantHeader => "NonCompliantHeader",
            Reason::SpaceInUri => "SpaceInUri",
            Reason::NonCompliantVersion => "NonCompliantVersion",
            Reason::GetHeadZeroContentLength => "GetHeadZeroContentLength",
            Reason::NonCrLfLineTermination => "NonCrLfLineTermination",
            Reason::EmptyHeader => "EmptyHeader",
            Reason::AmbiguousUri => "AmbiguousUri",
            Reason::UndefinedContentLengthSemantics => "UndefinedContentLengthSemantics",
            Reason::UndefinedTransferEncodingSemantics => "UndefinedTransferEncodingSemantics",
            Reason::DuplicateContentLength => "DuplicateContentLength",
            Reason::BothTeClPresent => "BothTeClPresent",
            Reason::SuspiciousHeader => "SuspiciousHeader",
            Reason::MultilineHeader => "MultilineHeader",
            Reason::PartialHeaderLine => "PartialHeaderLine",
            Reason::MissingLastEmptyLine => "MissingLastEmptyLine",
            Reason::MissingHeaderColon => "MissingHeaderColon",
            Reason::MissingUri => "MissingUri",
            Reason::BadHeader => "BadHeader",
            Reason::BadUri => "BadUri",
            Reason::BadVersion => "BadVersion",
            Reason::BadMethod => "BadMethod",
            Reason::MultipleContentLength => "MultipleContentLength",
            Reason::BadContentLength => "BadContentLength",
            Reason::MultipleTransferEncodingChunked => "MultipleTransferEncodingChunked",
            Reason::BadTransferEncoding => "BadTransferEncoding",
            Reason::MissingHost => "MissingHost",
            Reason::MultipleHost => "MultipleHost",
            Reason::BadHost => "BadHost",
            Reason::AbsoluteFormHostMismatch => "AbsoluteFormHostMismatch",
            Reason::TeChunkedNotLast => "TeChunkedNotLast",
            Reason::EmptyContentLength => "EmptyContentLength",
            Reason::WhitespaceBeforeColon => "WhitespaceBeforeColon",
            Reason::ObsFold => "ObsFold",
            Reason::InvalidTargetForm => "InvalidTargetForm",
        }
    }

    /// The reason whose `name` is `name`, for tests and log tooling.
    pub fn from_name(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.name() == name)
    }

    /// One of the guardian's 26 codes (ALB's), as opposed to ringway's own.
    pub fn is_alb(self) -> bool {
        !matches!(
            self,
            Reason::MissingHost
                | Reason::MultipleHost
                | Reason::BadHost
                | Reason::AbsoluteFormHostMismatch
                | Reason::TeChunkedNotLast
                | Reason::EmptyContentLength
                | Reason::WhitespaceBeforeColon
                | Reason::ObsFold
                | Reason::InvalidTargetForm
        )
    }

    /// The tier a request gets for this reason. The same as the guardian's for every ALB code
    /// except the two raw-mode ones ringway holds stricter (MissingHeaderColon, MissingUri).
    pub fn tier(self) -> Tier {
        use Reason::*;
        match self {
            Compliant => Tier::Compliant,
            NonCompliantHeader
            | SpaceInUri
            | NonCompliantVersion
            | GetHeadZeroContentLength
            | NonCrLfLineTermination => Tier::Acceptable,
            EmptyHeader
            | AmbiguousUri
            | UndefinedContentLengthSemantics
            | UndefinedTransferEncodingSemantics
            | DuplicateContentLength
            | BothTeClPresent
            | SuspiciousHeader
            | MultilineHeader
            | PartialHeaderLine
            | MissingLastEmptyLine
            | AbsoluteFormHostMismatch => Tier::Ambiguous,
            MissingHeaderColon
            | MissingUri
            | BadHeader
            | BadUri
            | BadVersion
            | BadMethod
            | MultipleContentLength
            | BadContentLength
            | MultipleTransferEncodingChunked
            | BadTransferEncoding
            | MissingHost
            | MultipleHost
            | BadHost
            | TeChunkedNotLast
            | EmptyContentLength
            | WhitespaceBeforeColon
            | ObsFold
            | InvalidTargetForm => Tier::Severe,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_listed_once_and_named_after_itself() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(format!("{r:?}"), r.name());
            assert_eq!(Reason::from_name(r.name()), Some(*r));
            assert!(!Reason::ALL[..i].contains(r));
        }
    }

    #[test]
    fn the_guardian_has_26_reasons_and_ringway_adds_9() {
        assert_eq!(Reason::ALL.iter().filter(|r| r.is_alb()).count(), 26);
        assert_eq!(Reason::ALL.iter().filter(|r| !r.is_alb()).count(), 9);
    }

    #[test]
    fn tiers_are_ordered_and_named() {
        assert!(Tier::ALL.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Tier::Ambiguous.name(), "Ambiguous");
    }

    #[test]
    fn only_compliant_has_the_compliant_tier() {
        for r in Reason::ALL {
            assert_eq!(r.tier() == Tier::Compliant, r == Reason::Compliant);
        }
    }
}
