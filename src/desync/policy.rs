//! What each mode does with each tier: DESIGN.md §3's table, in one place (SPEC §1).

use super::classify::Verdict;
use super::reason::Tier;
use crate::config::DesyncMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Forward,
    /// Forward, then close both the client and the target connection.
    ForwardThenClose,
    /// Answer 400 and close the client connection.
    Block,
}

/// (mode, tier) -> action.
pub fn action(mode: DesyncMode, tier: Tier) -> Action {
    use Action::*;
    match (mode, tier) {
        (DesyncMode::Monitor, _) => Forward,
        (_, Tier::Compliant) => Forward,
        (DesyncMode::Defensive, Tier::Acceptable) => Forward,
        (DesyncMode::Defensive, Tier::Ambiguous) => ForwardThenClose,
        (DesyncMode::Defensive, Tier::Severe) => Block,
        (DesyncMode::Strictest, _) => Block,
    }
}

impl Verdict {
    /// `action(mode, self.tier)`, except that a request ringway cannot frame or whose request
    /// line it cannot write is blocked in every mode: there is nothing safe to forward.
    pub fn action(&self, mode: DesyncMode) -> Action {
        if self.framing.is_err() || self.forward_version.is_none() {
            return Action::Block;
        }
        action(mode, self.tier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desync::Reason;
    use crate::http::{BodyFraming, FramingError, Version};

    #[test]
    fn the_table_matches_design_section_3() {
        use Action::*;
        use DesyncMode::*;
        let expect = [
            (Monitor, [Forward, Forward, Forward, Forward]),
            (Defensive, [Forward, Forward, ForwardThenClose, Block]),
            (Strictest, [Forward, Block, Block, Block]),
        ];
        for (mode, row) in expect {
            for (tier, want) in Tier::ALL.into_iter().zip(row) {
                assert_eq!(action(mode, tier), want, "{mode:?} {tier:?}");
            }
        }
    }

    #[test]
    fn an_unframeable_request_is_blocked_even_in_monitor_mode() {
        let v = Verdict {
            tier: Tier::Severe,
            reason: Reason::MultipleContentLength,
            framing: Err(FramingError("x")),
            forward_version: Some(Version::Http11),
        };
        assert_eq!(v.action(DesyncMode::Monitor), Action::Block);
        let ok = Verdict {
            framing: Ok(BodyFraming::None),
            ..v
        };
        assert_eq!(ok.action(DesyncMode::Monitor), Action::Forward);
    }
}
