"""The CLI as a real process: the exit code and stderr are exactly what a user sees."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import EXAMPLES, emostage

JA_EXAMPLE = EXAMPLES / "ja_work_stress.json"


def test_without_ollama_respond_prints_the_preflight_line(tmp_path: Path) -> None:
    # Loopback port 9 is closed.
    env = {"OLLAMA_HOST": "127.0.0.1:9", "HOME": str(tmp_path)}
    done = emostage("respond", JA_EXAMPLE, env=env, process=True, timeout=60)
    assert done.exit_code == 2
    assert done.stderr.strip() == (
        "error: Cannot reach Ollama at http://127.0.0.1:9. Start it with `ollama serve` "
        "(or set OLLAMA_HOST to where it runs)."
    )


def test_an_unknown_locale_is_one_warning_line_and_the_default_numbers(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "EMOSTAGE_BACKEND": "scripted", "EMOSTAGE_LOCALE": "en-NZ"}
    crisis = tmp_path / "crisis.json"
    crisis.write_text('[{"role": "client", "content": "I want to kill myself."}]', "utf-8")
    done = emostage("respond", "--json", crisis, env=env, process=True, timeout=60)
    assert done.exit_code == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert any("locale 'en-NZ': crisis replies will show the default table" in w for w in warnings)
    assert any("locale 'en-NZ': showing the en default, en-US" in w for w in warnings)
    assert "Traceback" not in done.stderr and "crisis_resources(" not in done.stderr
    assert "988" in json.loads(done.stdout)["response"]
