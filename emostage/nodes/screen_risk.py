"""Risk screening: the deterministic layer, with no model call, in parallel with the analysis."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from emostage.calls import NodeRun
from emostage.context import Context, resolve_context
from emostage.messages import TurnView
from emostage.safety import screen_risk as screen
from emostage.state import State


def screen_risk(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Screen the client's latest turn; the model's own judgment joins in `plan_reply`."""
    view = TurnView.of(state.dialogue, resolve_context(runtime.context))
    run = NodeRun("screen_risk", view.number)
    return {"risk": screen(view.turns[-1].content, view.language), "reports": run.report()}
