"""Bad input that needs a server or a real process: one line and exit 2, or a warned fallback."""

from __future__ import annotations

import pytest

from emostage.testing.ollama_server import FakeOllama

from ..conftest import EXAMPLES, emostage, one_error_line

EXAMPLE = EXAMPLES / "en_breakup.json"


def test_an_explicit_backend_flag_beats_the_environment() -> None:
    with FakeOllama(fault="refuse") as closed:  # its url is a port nobody listens on
        env = {"EMOSTAGE_BACKEND": "scripted", "OLLAMA_HOST": closed.url}
        doctor = emostage("doctor", "--backend", "ollama", env=env)
        respond = emostage("respond", EXAMPLE, "--backend", "ollama", env=env)
    assert "Cannot reach Ollama" in one_error_line(doctor)
    assert "Cannot reach Ollama" in one_error_line(respond) and respond.stdout == ""


@pytest.mark.timeout(60)
def test_stdin_is_read_only_up_to_the_limit() -> None:
    with open("/dev/zero", "rb") as zeros:
        result = emostage(
            "respond", "-", "--backend", "scripted", process=True, stdin=zeros, timeout=60
        )
    assert result.exit_code == 2 and "over 16 MiB" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_fallback_reply_is_announced_on_stderr() -> None:
    with FakeOllama(fault="not_json") as server:
        result = emostage("respond", EXAMPLE, env={"OLLAMA_HOST": server.url})
    assert result.exit_code == 0 and result.stdout.strip()
    assert "warning: fallback used" in result.stderr
