"""Join point of the analysis: picks the drafting strategy the router will follow."""

from __future__ import annotations

from typing import Any

from emostage.nodes import Node
from emostage.phases import Taxonomy
from emostage.state import State

GENERAL_STRATEGY = "draft_general"


def make_plan_reply(taxonomy: Taxonomy) -> Node:
    """A node that maps the recognized phase to its draft node."""

    def plan_reply(state: State) -> dict[str, Any]:
        # No phase (ablation or an id edited out of the taxonomy): phase-neutral drafting.
        if state.phase in taxonomy.ids:
            return {"strategy": f"draft_{state.phase}"}
        return {"strategy": GENERAL_STRATEGY}

    return plan_reply
