"""The graph LangGraph Studio and `langgraph dev` serve (see langgraph.json).

Its own module, so that importing `emostage` builds no graph and reads no environment
variable: the taxonomy is read from `EMOSTAGE_TAXONOMY` only when Studio loads this file.
The model is built per turn from the run's context (the assistant's configuration).
"""

from __future__ import annotations

import os

from emostage.graph import build_graph

graph = build_graph(taxonomy=os.environ.get("EMOSTAGE_TAXONOMY", "ivey"))
