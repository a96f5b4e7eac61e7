"""The compiled graph as a picture (SVG or PNG), drawn offline, conditional edges dashed.

The layout is done by `graphviz-pure` (the `notebook` extra), a self-contained port of
Graphviz's `dot` that pip installs as a program: no system Graphviz, browser or web service.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
from functools import partial
from typing import Literal, Protocol

from langchain_core.runnables.graph import Graph

from emostage.errors import ConfigError

RENDERER = "graphviz-pure"


class Drawable(Protocol):
    """A compiled LangGraph graph, or anything else with `get_graph()`."""

    def get_graph(self) -> Graph:
        """The graph's nodes and edges."""
        ...


def graph_dot(graph: Graph) -> str:
    """The graph in Graphviz's DOT language.

    Args:
        graph: Nodes and edges, as `compiled.get_graph()` returns them.

    Returns:
        A `digraph`: entry and exit as ovals, the nodes as boxes, conditional edges dashed.
    """
    q = partial(json.dumps, ensure_ascii=False)  # a DOT string: "text", with \" and \\
    ends = {node.id for node in (graph.first_node(), graph.last_node()) if node is not None}
    lines = [
        "digraph {",
        '  graph [rankdir=TB, nodesep=0.3, ranksep=0.45, fontname="Arimo"];',
        '  node [shape=box, style="rounded,filled", fillcolor="#f2f0ff", color="#9370db",'
        ' fontname="Arimo", fontsize=12];',
        '  edge [color="#555555", arrowsize=0.7];',
    ]
    for node in graph.nodes.values():
        shape = ', shape=oval, fillcolor="#bfb6fc"' if node.id in ends else ""
        lines.append(f"  {q(node.id)} [label={q(node.name)}{shape}];")
    for edge in graph.edges:
        style = " [style=dashed]" if edge.conditional else ""
        lines.append(f"  {q(edge.source)} -> {q(edge.target)}{style};")
    return "\n".join([*lines, "}\n"])


def find_renderer(search_path: str | None = None) -> str:
    """The path of the `graphviz-pure` program.

    Args:
        search_path: Directories to look in (`os.pathsep`-separated). Default: this
            interpreter's scripts directory, then `PATH`.

    Raises:
        ConfigError: the program is not installed.
    """
    if search_path is None:
        search_path = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    program = shutil.which(RENDERER, path=search_path)
    if program is None:
        raise ConfigError(
            f"Cannot draw the graph without {RENDERER}: pip install {RENDERER} (notebook extra)."
        )
    return program


def render_graph(graph: Drawable | Graph, fmt: Literal["svg", "png"] = "svg") -> bytes:
    """Draw a graph with `graphviz-pure`.

    Args:
        graph: A compiled graph (e.g. `build_graph()`) or the `Graph` it gives.
        fmt: `svg` (text, scales) or `png`.

    Returns:
        The picture's bytes; show them with `IPython.display.SVG` or `Image`.

    Raises:
        ConfigError: `graphviz-pure` is not installed, or `fmt` is unknown.
        RuntimeError: `graphviz-pure` failed.
    """
    if fmt not in ("svg", "png"):
        raise ConfigError(f"Unknown picture format {fmt!r}; use 'svg' or 'png'.")
    dot = graph_dot(graph if isinstance(graph, Graph) else graph.get_graph()).encode()
    run = subprocess.run([find_renderer(), f"-T{fmt}"], input=dot, capture_output=True, timeout=60)
    if run.returncode != 0:
        problem = (run.stderr.decode(errors="replace").strip().splitlines() or ["?"])[0]
        raise RuntimeError(f"{RENDERER} failed (exit {run.returncode}): {problem}")
    return run.stdout
