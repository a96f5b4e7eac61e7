"""Fuzzing the CLI's inputs: whatever arrives, the answer is a reply or one clear line.

Each property feeds generated input to the real command (in-process, scripted model, no
network) and holds it to the contract: exit 0 with a reply, or exit 2 with exactly one
`error:` line on stderr; never a traceback, never another exit code.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..conftest import EXAMPLES, SCRIPTED, Ran, emostage, one_error_line

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=30,
)
turn_like = st.fixed_dictionaries(
    {"role": st.sampled_from(["client", "counselor", "system", "", 3]), "content": json_values}
)
dialogue_like = (
    json_values
    | st.lists(turn_like, max_size=6)
    | st.fixed_dictionaries({"dialogue": st.lists(turn_like, max_size=6)})
)


def holds_the_contract(result: Ran) -> None:
    # `emostage` itself asserts that no traceback was printed.
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    if result.exit_code == 2:
        one_error_line(result)
    else:
        assert result.stdout.strip()


@FUZZ
@given(document=dialogue_like)
def test_any_json_document(document: Any, tmp_path: Path) -> None:
    path = tmp_path / "dialogue.json"
    path.write_text(json.dumps(document), "utf-8")
    holds_the_contract(emostage("respond", path, env=SCRIPTED))


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes_on_stdin_or_in_a_file(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bytes.json"
    path.write_bytes(data)
    holds_the_contract(emostage("respond", path, env=SCRIPTED))
    holds_the_contract(emostage("respond", "-", input=data, env=SCRIPTED))


@FUZZ
@given(name=st.text(max_size=30))
def test_any_session_or_taxonomy_name(name: str, tmp_path: Path) -> None:
    deleted = emostage("sessions", "delete", name, "--yes", env=SCRIPTED, data_home=tmp_path)
    assert deleted.exit_code == 2
    assert len(deleted.stderr.strip().splitlines()) == 1
    graph = emostage("graph", "--taxonomy", name or "''", env=SCRIPTED, data_home=tmp_path)
    assert graph.exit_code in (0, 2)


numbers = st.one_of(
    st.text(alphabet=string.digits + ".-+eEinfa ", max_size=8),
    st.integers(-(10**12), 10**12).map(str),
    st.floats().map(str),
)


@FUZZ
@given(
    variable=st.sampled_from(
        [
            "EMOSTAGE_TIMEOUT",
            "EMOSTAGE_TURN_TIMEOUT",
            "EMOSTAGE_MAX_TOKENS",
            "EMOSTAGE_MODEL_ATTEMPTS",
            "EMOSTAGE_N_CTX",
            "EMOSTAGE_TEMPERATURE",
            "EMOSTAGE_SAFETY_FOLLOWUP_TURNS",
            "EMOSTAGE_MAX_RESPONSE_BYTES",
        ]
    ),
    value=numbers,
)
def test_any_number_in_the_environment(variable: str, value: str) -> None:
    result = emostage("respond", EXAMPLES / "en_breakup.json", env=SCRIPTED | {variable: value})
    holds_the_contract(result)


@FUZZ
@given(
    variable=st.sampled_from(
        [
            "OLLAMA_HOST",
            "EMOSTAGE_LANGUAGE",
            "EMOSTAGE_LOCALE",
            "EMOSTAGE_MODE",
            "EMOSTAGE_ALLOW_TRACING",
            "EMOSTAGE_CRISIS_RESOURCES",
            "EMOSTAGE_SAFETY_MODEL",
        ]
    ),
    value=st.text(max_size=30).filter(lambda v: "\x00" not in v),
)
def test_any_text_in_the_environment(variable: str, value: str) -> None:
    result = emostage("respond", EXAMPLES / "en_breakup.json", env=SCRIPTED | {variable: value})
    holds_the_contract(result)
    holds_the_contract(emostage("graph", env={variable: value}))
