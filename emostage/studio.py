"""The graph LangGraph Studio and `langgraph dev` serve (see langgraph.json).

Its own module, so that importing `emostage` builds no graph and reads no environment
variable: the taxonomy (`EMOSTAGE_TAXONOMY`), the review policy (`EMOSTAGE_REVIEW`: `off`,
`crisis` or `always`) and the audience (`EMOSTAGE_AUDIENCE`: `counselor`, the default, or
`client`: see `emostage.audience`) are read only when Studio loads this file. With a review
policy, a paused turn shows its draft in Studio; resume it with `approve`, or
`{"action": "edit" | "replace", "response": "..."}`.
The model is built per turn from the run's context (the assistant's configuration).
"""

from __future__ import annotations

import os

from emostage.graph import build_graph

graph = build_graph(
    taxonomy=os.environ.get("EMOSTAGE_TAXONOMY", "ivey"),
    review=os.environ.get("EMOSTAGE_REVIEW", "off"),  # type: ignore[arg-type]  # checked
    audience=os.environ.get("EMOSTAGE_AUDIENCE", "counselor"),  # type: ignore[arg-type]
)
