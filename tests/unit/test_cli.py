"""The CLI in this process, on the scripted backend: replies, one-line errors, the graph, chat.

(As a real process: tests/integration/test_cli.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emostage import EmoStage, InputError

from ..conftest import EXAMPLES, emostage, one_error_line

JA_EXAMPLE = EXAMPLES / "ja_work_stress.json"
pytestmark = pytest.mark.usefixtures("scripted_cli")


def test_respond_json_prints_a_full_reply() -> None:
    result = emostage("respond", "--json", JA_EXAMPLE)
    assert result.exit_code == 0, result.output
    reply = json.loads(result.stdout)
    assert reply["language"] == "ja"
    assert reply["phase"] == "exploration"
    assert reply["perspective"]["support_needs"] == ["being_heard"]
    assert {n["node"] for n in reply["diagnostics"]["nodes"]} == {
        "screen_risk",
        "recognize_phase",
        "take_perspective",
        "draft_exploration",
    }


def test_respond_reads_stdin_and_honours_ablation_flags() -> None:
    dialogue = json.dumps([{"role": "client", "content": "hello"}])
    result = emostage("respond", "-", "--json", "--no-phase", "--no-perspective", input=dialogue)
    assert result.exit_code == 0, result.output
    reply = json.loads(result.stdout)
    assert reply["phase"] is None and reply["perspective"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["respond", "missing.json"], "Cannot read 'missing.json'"),
        (["respond", str(JA_EXAMPLE), "--language", "fr"], "Unknown language 'fr'"),
        (["respond", str(JA_EXAMPLE), "--backend", "cloud"], "Unknown backend 'cloud'"),
        (["respond", str(JA_EXAMPLE), "--taxonomy", "nope.yaml"], "Cannot read taxonomy"),
        (["graph", "--taxonomy", "nope.yaml"], "Cannot read taxonomy"),
        (["respond", "{bad_json}"], "is not valid JSON (line 1"),
        (["respond", "{unknown_format}"], "Unknown dialogue format"),
        (["respond", "{empty}"], "The dialogue is empty"),
        (["respond", "{counselor_last}"], "must end with a client turn"),
        (["respond", "{huge}"], "is over 16 MiB, the limit for an input"),
        (["respond", "{binary}"], "is not valid UTF-8 (byte 0)"),
        (["respond", str(JA_EXAMPLE), "--backend", "openai"], "needs --base-url"),
        (
            ["respond", str(JA_EXAMPLE), "--backend", "llamacpp", "--model-path", "x.gguf"],
            "No GGUF",
        ),
        (["respond", str(JA_EXAMPLE), "--mode", "fast"], "Unknown mode 'fast'"),
        (["sessions", "delete", "nobody"], "No session named 'nobody'"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    files = {
        "bad_json": '{"dialogue": [',
        "unknown_format": '{"turns": []}',
        "empty": '{"dialogue": []}',
        "counselor_last": '[{"role": "counselor", "content": "Hello."}]',
    }
    for name, text in files.items():
        (tmp_path / f"{name}.json").write_text(text, "utf-8")
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    with (tmp_path / "huge.json").open("wb") as huge:
        huge.truncate(17 * 2**20)  # sparse: the size check must come before reading
    args = [
        a.format(**{k: tmp_path / f"{k}.json" for k in [*files, "binary", "huge"]}) for a in args
    ]
    assert message in one_error_line(emostage(*args))


def test_debug_shows_the_traceback() -> None:
    result = emostage("respond", "missing.json", "--debug")
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)


def test_an_oversized_dialogue_is_refused_by_the_api() -> None:
    with pytest.raises(InputError, match="too long"):
        EmoStage(max_input_chars=1_000).respond([{"role": "client", "content": "x" * 1_001}])


def test_graph_prints_the_fan_out_router_and_five_draft_nodes() -> None:
    result = emostage("graph")
    assert result.exit_code == 0
    for line in (
        "read_messages -.-> recognize_phase",
        "read_messages -.-> take_perspective",
        "plan_reply -.-> draft_closing",
    ):
        assert line in result.stdout
    assert (
        sum(
            f"draft_{p}(" in result.stdout
            for p in ("rapport", "exploration", "goal_setting", "intervention", "closing")
        )
        == 5
    )


def test_chat_persists_and_resumes_a_session(tmp_path: Path) -> None:
    first = emostage("chat", "--session", "s1", input="I feel lost.\n/quit\n")
    assert first.exit_code == 0, first.output
    assert "That sounds really hard" in first.stdout
    second = emostage("chat", "--session", "s1", input="")
    assert "I feel lost." in second.stdout  # the earlier turn is shown again
    store = tmp_path / "emostage" / "sessions.sqlite"
    assert store.stat().st_mode & 0o777 == 0o600
