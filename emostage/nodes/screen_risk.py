"""Risk screening: the deterministic layer, with no model call, in parallel with the analysis."""

from __future__ import annotations

from typing import Any

from emostage.nodes import SCREEN_RISK, Step, node
from emostage.safety import screen_risk as screen
from emostage.state import State


@node(SCREEN_RISK)
def screen_risk(state: State, step: Step) -> dict[str, Any]:
    """Screen the client's latest turn with every language's lexicon.

    The session's language does not narrow the screen: a client may write in another
    language than the one detected or forced. The model's judgment joins in `plan_reply`.
    """
    return {"risk": screen(step.view.turns[-1].content)}
