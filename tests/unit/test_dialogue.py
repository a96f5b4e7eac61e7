from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from emostage import InputError, detect_language, load_dialogue, parse_dialogue
from emostage.conversation import Turn, merge_turns
from emostage.prompts.messages import shorten, window

from ..conftest import EXAMPLES


def turns(*pairs: tuple[str, str]) -> list[Turn]:
    return [Turn(role=role, content=text) for role, text in pairs]


def test_merges_consecutive_messages_of_one_speaker() -> None:
    merged = merge_turns(
        turns(("client", "hi"), ("client", "I am sad"), ("counselor", "I see"), ("counselor", " "))
    )
    assert merged == turns(("client", "hi\nI am sad"), ("counselor", "I see"))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("仕事がつらくて、夜も眠れないんです。", "ja"),
        ("最近工作压力很大，晚上睡不着。", "zh"),
        ("Work is wearing me down and I can't sleep.", "en"),
        ("東京大学", "zh"),  # Han only: no kana, so read as Chinese
        ("OK、わかりました", "ja"),
        ("12345 !!!", "en"),
    ],
)
def test_detects_language_from_the_client(text: str, language: str) -> None:
    dialogue = turns(("counselor", "Hello, how are you today?"), ("client", text))
    assert detect_language(dialogue) == language


def test_windowing_keeps_the_opening_and_the_recent_turns() -> None:
    dialogue = [Turn(role="client" if i % 2 else "counselor", content=str(i)) for i in range(50)]
    kept, omitted = window(dialogue, opening=2, recent=10)
    assert [t.content for t in kept] == ["0", "1", *map(str, range(40, 50))]
    assert omitted == 38
    assert window(dialogue[:12], opening=2, recent=10) == (dialogue[:12], 0)


def test_the_window_moves_in_steps_so_the_prompt_start_stays_put() -> None:
    dialogue = [Turn(role="client" if i % 2 else "counselor", content=str(i)) for i in range(80)]
    cuts = []
    for length in range(13, 80):
        kept, omitted = window(dialogue[:length], opening=2, recent=10, step=5)
        assert 10 <= len(kept) - 2 < 15 or omitted == 0
        assert kept[-1] is dialogue[length - 1] and len(kept) + omitted == length
        cuts.append(omitted)
    # The cut changes once every 5 turns: a session's prompt keeps its start meanwhile.
    assert cuts == sorted(cuts) and all(cut % 5 == 0 for cut in cuts)
    assert sum(a != b for a, b in pairwise(cuts)) == len(set(cuts)) - 1
    assert len(set(cuts)) == len(cuts) // 5 + 1


def test_shorten_cuts_the_middle() -> None:
    text = "a" * 500 + "b" * 500
    short = shorten(text, 101)
    assert len(short) <= 101 and short.startswith("a") and short.endswith("b")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_examples_load_and_end_with_the_client(path: Path) -> None:
    dialogue = load_dialogue(path)
    assert dialogue[-1].role == "client"
    assert all(a.role != b.role for a, b in pairwise(dialogue))
    assert detect_language(dialogue) == path.name[:2]


def test_reads_kokorochat_format_in_every_language(kokorochat_dir: Path) -> None:
    for language in ("ja", "zh", "en"):
        files = sorted((kokorochat_dir / language).glob("*.json"))
        assert files
        for path in files:
            dialogue = load_dialogue(path)
            assert all(a.role != b.role for a, b in pairwise(dialogue))
            raw = json.loads(path.read_text("utf-8"))["dialogue"]
            assert len(dialogue) <= len(raw)
            client = [t for t in dialogue if t.role == "client"]
            assert detect_language(client) == language, path.name


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"turns": []}, "Unknown dialogue format"),
        ({"messages": []}, "empty"),
        ([], "empty"),
        ([{"role": "therapist", "content": "x"}], "unknown role 'therapist'"),
        ([{"content": "x"}], "needs 'role'"),
        (["just a string"], "not an object"),
    ],
)
def test_bad_documents_raise_one_clear_input_error(document: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_dialogue(document)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Cannot read"):
        load_dialogue(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", "utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_dialogue(broken)
