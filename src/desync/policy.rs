//! What each mode does with each tier: DESIGN.md §3's table, in one place (SPEC §1).

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
