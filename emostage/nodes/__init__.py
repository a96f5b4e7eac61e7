"""Graph nodes, one per file. Each `make_*` returns the node function for `build_graph`."""

from collections.abc import Callable
from typing import Any

# A node takes the State (and, if it declares it, the Runtime) and returns a state update.
Node = Callable[..., dict[str, Any]]
