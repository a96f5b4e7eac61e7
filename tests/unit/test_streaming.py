"""The stream cleaner: whatever a model writes, however it arrives, what is shown is clean."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from emostage.streaming import (
    HOLD_LIMIT_CHARS,
    ReplyDelta,
    StreamCleaner,
    clean_reply,
    sentence_chunks,
    shown_text,
)

LABELS = ("Counselor", "Client")
# Pieces a model's answer is made of, the awkward ones included.
PARTS = st.sampled_from(
    [
        "Counselor:",
        "Client：",
        " ",
        "\n",
        '"',
        "「",
        "」",
        "<think>",
        "</think>",
        "<thi",
        "I hear you.",
        " That sounds hard!",
        "眠れないんですね。",
        "你辛苦了。",
        "ok",
        "Couns",
        "...",
    ]
)


def streamed(pieces: list[str]) -> tuple[list[ReplyDelta], str]:
    deltas: list[ReplyDelta] = []
    cleaner = StreamCleaner(LABELS, deltas.append)
    for piece in pieces:
        cleaner.feed(piece)
    return deltas, cleaner.finish()


@settings(max_examples=400)
@given(st.lists(PARTS, max_size=14), st.data())
def test_what_is_shown_is_the_clean_answer_however_it_arrives(
    parts: list[str], data: st.DataObject
) -> None:
    answer = "".join(parts)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(answer)), max_size=8)))
    pieces = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)], strict=True)]
    deltas, final = streamed(pieces)
    assert final == clean_reply(answer, LABELS) == shown_text(deltas)


def test_a_clean_answer_is_shown_by_sentence_and_never_replaced() -> None:
    answer = 'Counselor: "That sounds exhausting. What has been the hardest part?"'
    deltas, final = streamed([answer[i : i + 3] for i in range(0, len(answer), 3)])
    assert final == "That sounds exhausting. What has been the hardest part?"
    assert [d.text for d in deltas] == [
        "That sounds exhausting. ",
        "What has been the hardest part?",
    ]
    assert not any(d.replaces for d in deltas)


def test_thinking_is_never_shown_even_while_it_is_written() -> None:
    deltas, final = streamed(
        ["<think>The client. ", "Is sad. ", "</think>", "I hear you. ", "Yes."]
    )
    assert all("client" not in d.text and "sad" not in d.text for d in deltas)
    assert final == "I hear you. Yes."


def test_a_quote_that_does_not_close_is_put_back_by_a_replacement() -> None:
    deltas, final = streamed(['"No" is ', "a full answer. ", "Take your time."])
    assert final == '"No" is a full answer. Take your time.'
    assert deltas[-1] == ReplyDelta(final, replaces=True)


def test_the_look_ahead_is_bounded_in_unbroken_text() -> None:
    deltas: list[ReplyDelta] = []
    cleaner = StreamCleaner(LABELS, deltas.append)
    for _ in range(HOLD_LIMIT_CHARS + 2):
        cleaner.feed("あ")
        held = len("".join(d.text for d in deltas))
        assert cleaner.length - held <= HOLD_LIMIT_CHARS + 1
    assert deltas  # shown before the end, though no sentence ended


def test_settling_appends_or_replaces() -> None:
    deltas: list[ReplyDelta] = []
    cleaner = StreamCleaner(LABELS, deltas.append)
    cleaner.settle("Fallback. Take your time.")
    assert [d.text for d in deltas] == sentence_chunks("Fallback. Take your time.")
    cleaner.settle("Other.")
    assert deltas[-1] == ReplyDelta("Other.", replaces=True) and cleaner.replaced


def test_an_answer_that_arrives_in_one_piece_is_still_sent_by_sentence() -> None:
    answer = "眠れないんですね。それはつらいですね。どんなことが一番気になりますか？"
    deltas, final = streamed([answer])
    assert [d.text for d in deltas] == sentence_chunks(answer) and len(deltas) == 3
    assert final == answer
    deltas, _ = streamed(["I hear you. ", "That is a lot. And then? Tell me."])
    assert [d.text for d in deltas] == ["I hear you. ", "That is a lot. ", "And then? ", "Tell me."]
