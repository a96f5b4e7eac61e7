"""The README's install commands, run as written, into a fresh venv without the dev extras.

`make test` fills `build/wheelhouse` first (`make wheelhouse`), so pip runs offline here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from emostage.testing.ollama_server import FakeOllama

from ..conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.real_model

WHEELHOUSE = ROOT / "build" / "wheelhouse"
# README.md's marker, word for word (it names where this test lived when it was written).
MARKER = "<!-- install: tests/integration/test_install.py runs these lines as written -->"


def readme_install_lines() -> list[str]:
    """The command lines of the README's tested install block, comments removed."""
    readme = (ROOT / "README.md").read_text("utf-8")
    block = re.search(re.escape(MARKER) + r"\s*```bash\n(.*?)```", readme, re.DOTALL)
    assert block, "the README lost its tested install block"
    lines = [line.split("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


class Shell:
    """Runs lines in one bash environment: a home of its own, pip offline on the wheelhouse."""

    def __init__(self, home: Path) -> None:
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            # The llama.cpp wheel and the embedded model are cached per user: keep that cache.
            "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache"),
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(WHEELHOUSE),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_QUIET": "1",
        }
        self.lines: list[str] = []

    def run(self, *lines: str, **env: str) -> str:
        """Run `lines` after every line run before (so `activate` holds), and return stdout."""
        script = "\n".join(["set -euo pipefail", *self.lines, *lines])
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=self.env | env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{lines}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def keep(self, *lines: str) -> None:
        """Run `lines` now, and again before every later `run` (they set up the shell)."""
        self.run(*lines)
        self.lines += lines


@pytest.fixture(scope="module")
def ollama() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


def test_the_readme_install_lines_work_in_a_fresh_venv(tmp_path: Path, ollama: FakeOllama) -> None:
    assert WHEELHOUSE.is_dir(), "run `make wheelhouse` first (make test does)"
    lines = readme_install_lines()
    build, venv, core, local = lines  # the README's four steps, in order
    shell = Shell(tmp_path)
    shell.run(build)
    shell.keep(venv)
    shell.keep(core)
    example = str(EXAMPLES / "en_breakup.json")

    # Without the local and eval extras: the library imports, the CLI works.
    assert shell.run("emostage --version").strip() == "emostage 0.1.0"
    assert "graph TD" in shell.run("emostage graph")
    missing = "import importlib.util as u; print([m for m in ('llama_cpp','sacrebleu','pytest')"
    assert shell.run(f'python -c "{missing} if u.find_spec(m)])"').strip() == "[]"
    shell.run('python -c "import emostage, emostage.cli"')
    scripted = json.loads(
        shell.run(f"emostage respond --json {example}", EMOSTAGE_BACKEND="scripted")
    )
    assert scripted["response"].startswith("(scripted test reply)")
    served = shell.run(f"emostage respond --backend ollama {example}", OLLAMA_HOST=ollama.url)
    assert served.strip()
    assert any(r.get("format") for r in ollama.requests), "the analysis went to the test server"

    # With the local extra: the embedded model answers in-process.
    shell.keep(local)
    reply = json.loads(
        shell.run(f"emostage respond --json --backend llamacpp {example}", EMOSTAGE_MAX_TOKENS="32")
    )
    assert reply["diagnostics"]["model"].startswith("llamacpp:")
    assert reply["response"].strip()
