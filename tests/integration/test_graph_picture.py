"""The graph picture, drawn by `graphviz-pure` in a process of its own; importing emostage
does not load the picture module. (Its errors: tests/unit/test_graph_picture.py.)"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from langchain_core.runnables.graph import Graph

from emostage import build_graph
from emostage.graph_picture import graph_dot, render_graph

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("taxonomy", ["ivey", "hill"])
def test_svg_shows_every_node_and_dashes_the_conditional_edges(taxonomy: str) -> None:
    compiled = build_graph(taxonomy=taxonomy)
    graph = compiled.get_graph()
    root = ET.fromstring(render_graph(compiled, "svg"))
    assert root.tag == f"{SVG}svg"
    labels = {"".join(text.itertext()) for text in root.iter(f"{SVG}text")}
    assert {node.name for node in graph.nodes.values()} <= labels
    edges = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edge"]
    dashed = [g for g in edges if any(p.get("stroke-dasharray") for p in g.iter(f"{SVG}path"))]
    assert len(edges) == len(graph.edges)
    assert len(dashed) == sum(edge.conditional for edge in graph.edges) > 0


def test_png_is_a_png() -> None:
    picture = render_graph(build_graph(), "png")
    assert picture.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(picture) > 10_000


def test_names_are_quoted_for_dot() -> None:
    graph = Graph()
    first = graph.add_node(None, 'say "hi" \\ ノード')
    last = graph.add_node(None, "b")
    graph.add_edge(first, last, conditional=True)
    dot = graph_dot(graph)
    assert '"say \\"hi\\" \\\\ ノード" -> "b" [style=dashed];' in dot
    labels = {"".join(t.itertext()) for t in ET.fromstring(render_graph(graph)).iter(f"{SVG}text")}
    assert labels == {'say "hi" \\ ノード', "b"}


def test_importing_emostage_does_not_load_the_picture_module() -> None:
    probe = "import sys, emostage; print('emostage.graph_picture' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
