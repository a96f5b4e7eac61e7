"""The graph picture's errors and renderer lookup, none of which runs the renderer.

(Pictures drawn by the renderer, a process: tests/integration/test_graph_picture.py.)
"""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from emostage import ConfigError, build_graph
from emostage.graph_picture import find_renderer, render_graph


def test_a_missing_renderer_is_a_config_error_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="pip install graphviz-pure"):
        find_renderer(str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sysconfig, "get_path", lambda name: str(tmp_path))
    with pytest.raises(ConfigError, match="pip install graphviz-pure") as raised:
        render_graph(build_graph())
    assert "\n" not in str(raised.value)


def test_an_unknown_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'svg' or 'png'"):
        render_graph(build_graph(), "pdf")  # type: ignore[arg-type]


def test_the_renderer_is_found_without_the_venv_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a kernel started without `activate`
    assert Path(find_renderer()).parent == Path(sysconfig.get_path("scripts"))
