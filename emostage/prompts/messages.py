"""Turning a dialogue into model messages.

Every call of a turn starts with the same two messages: the standing instructions (the
persona and both analysis tasks, the same on every turn) and the transcript. Only a short
request follows, naming the call's task (with the draft's strategy and analysis). So a
model server, or llama.cpp's one cache, reuses the whole prompt of the turn before up to
its new messages, and each call of a turn pays only for its request. Client
text only ever travels as message content: it is joined into the transcript, never used
as, or formatted into, a template.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar, cast

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from emostage.analysis import NEED_CODE_OF, Perspective, PhaseAssessment
from emostage.context import Context
from emostage.conversation import Turn, require_client_last
from emostage.languages import Language, detect_language
from emostage.prompts import PromptSet, load_prompts
from emostage.prompts.phases import Taxonomy

T = TypeVar("T")


def transcript(turns: Sequence[Turn], prompts: PromptSet, context: Context) -> str:
    r"""The windowed dialogue, one labelled line per turn, the turn's text quoted.

    Each text is a JSON string literal: a newline becomes `\n` and a quote `\"`, so no
    text can end its own line or quote and start a line that looks like another speaker's.
    Every line that begins with a label is a real turn. Built once per dialogue and window:
    every call of a turn starts with it.
    """
    spoken = tuple((turn.role, turn.content) for turn in turns)
    key = (spoken, id(prompts), context.opening_turns, context.recent_turns, context.max_turn_chars)
    with _BUILT_LOCK:
        if (built := _BUILT.get(key)) is not None and built[0] is prompts:
            return built[1]
    text = _transcript(spoken, prompts, context)
    with _BUILT_LOCK:
        _BUILT[key] = (prompts, text)
        while len(_BUILT) > _BUILT_KEPT:
            _BUILT.pop(next(iter(_BUILT)))
    return text


# The last few transcripts built: a turn's calls (phase, perspective, draft) share one.
_BUILT: dict[tuple[object, ...], tuple[PromptSet, str]] = {}
_BUILT_KEPT = 16
_BUILT_LOCK = threading.Lock()


def _transcript(spoken: Sequence[tuple[str, str]], prompts: PromptSet, context: Context) -> str:
    opening, recent, max_chars = (
        context.opening_turns,
        context.recent_turns,
        context.max_turn_chars,
    )
    kept, omitted = window(spoken, opening, recent, step=max(1, recent // 2))
    lines = [prompts.transcript_header, ""]
    for index, (role, content) in enumerate(kept):
        if omitted and index == opening:
            lines.append(prompts.omitted_turns.format(count=omitted))
        label = getattr(prompts.labels, role)
        lines.append(label + ": " + quoted(shorten(content, max_chars)))
    return "\n".join(lines)


def window(turns: Sequence[T], opening: int, recent: int, step: int = 1) -> tuple[list[T], int]:
    """Keep the opening and at least `recent` of the latest turns of a long dialogue.

    The cut moves forward `step` turns at a time, so it stays put while the session grows
    by up to `step` turns: the transcript's start, and so the prefix a model server has
    cached, is the same from one turn to the next. At most `recent + step - 1` recent
    turns are kept.

    Returns:
        The kept turns and how many turns were left out between them.
    """
    if len(turns) <= opening + recent:
        return list(turns), 0
    omitted = (len(turns) - opening - recent) // step * step
    if omitted == 0:
        return list(turns), 0
    return [*turns[:opening], *turns[opening + omitted :]], omitted


def shorten(text: str, limit: int) -> str:
    """Cut the middle out of an over-long message, keeping its start and end."""
    if len(text) <= limit:
        return text
    half = (limit - 3) // 2
    return f"{text[:half]} … {text[-half:]}"


# JSON leaves these unescaped, but Unicode (and so a reader) breaks lines at them.
_LINE_SEPARATORS = str.maketrans({c: f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"})


def quoted(text: str) -> str:
    """`text` as a JSON string literal on one line, non-ASCII kept readable."""
    return json.dumps(text, ensure_ascii=False).translate(_LINE_SEPARATORS)


def one_line(text: str) -> str:
    """Model output joined into a list line: its own line breaks cannot start new items."""
    return " ".join(text.split())


def standing_instructions(prompts: PromptSet, taxonomy: Taxonomy, language: Language) -> str:
    """The persona and both analysis tasks: the start of every call, on every turn."""
    return "\n\n".join(
        [
            prompts.persona,
            prompts.standing_tasks,
            phase_instruction(taxonomy, prompts, language),
            perspective_instruction(prompts),
        ]
    )


def phase_instruction(taxonomy: Taxonomy, prompts: PromptSet, language: Language) -> str:
    """Ask for the current phase, listing the taxonomy's phases."""
    lines = []
    for phase in taxonomy.phases:
        text = phase.text(language)
        lines.append(f"- {phase.id} ({text.name}): {text.definition}")
    return prompts.recognize_phase.format(phases="\n".join(lines))


def perspective_instruction(prompts: PromptSet) -> str:
    """Ask for the client's perspective, listing the allowed support needs by their codes."""
    options = ", ".join(
        f"{NEED_CODE_OF[key]} ({name})" for key, name in prompts.support_needs.items()
    )
    return prompts.take_perspective.format(support_needs=options)


def draft_instruction(
    prompts: PromptSet,
    *,
    taxonomy: Taxonomy,
    language: Language,
    phase: str | None,
    assessment: PhaseAssessment | None,
    perspective: Perspective | None,
) -> str:
    """The drafting instruction: the phase strategy, the analysis, then the rules."""
    strategy = phase_strategy(prompts, taxonomy, language, phase)
    return with_analysis(strategy, prompts, assessment, perspective, prompts.draft_rules)


def phase_strategy(
    prompts: PromptSet, taxonomy: Taxonomy, language: Language, phase: str | None
) -> str:
    """What fits now and what to avoid in `phase`; the phase-neutral strategy for None."""
    if phase is None:
        return prompts.draft_general
    text = taxonomy.phase(phase).text(language)
    return prompts.draft.format(
        phase_name=text.name,
        phase_definition=text.definition,
        fits=_bullets(text.fits),
        avoid=_bullets(text.avoid),
    )


def with_analysis(
    strategy: str,
    prompts: PromptSet,
    assessment: PhaseAssessment | None,
    perspective: Perspective | None,
    task: str,
) -> str:
    """A strategy, the turn's analysis, then the task: a drafting call's request."""
    # Analysis is model output and may quote the client, so it is joined, not formatted.
    analysis = _analysis_lines(prompts, assessment, perspective)
    parts = [strategy.rstrip(), *(["\n".join(analysis)] if analysis else []), task]
    return "\n\n".join(parts)


def _analysis_lines(
    prompts: PromptSet, assessment: PhaseAssessment | None, perspective: Perspective | None
) -> list[str]:
    lines: list[str] = []
    if assessment and assessment.rationale:
        lines.append(f"- {prompts.phase_label}: " + one_line(assessment.rationale))
    if perspective and not perspective.is_empty():
        names = prompts.perspective_labels
        feelings = ", ".join(f"{e.name} ({e.intensity}/5)" for e in perspective.emotions)
        needs = ", ".join(prompts.support_needs[n] for n in perspective.support_needs)
        for label, value in (
            (names.emotions, feelings),
            (names.situation, perspective.situation),
            (names.thoughts, perspective.thoughts),
            (names.support_needs, needs),
            (names.unspoken_needs, perspective.unspoken_needs),
        ):
            if value:
                lines.append(f"- {label}: " + one_line(value))
    return [prompts.analysis_header, *lines] if lines else []


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items) or "-"


def baseline_messages(
    turns: Sequence[Turn], prompts: PromptSet, context: Context
) -> list[BaseMessage]:
    """The baseline's single call: a plain persona, the transcript and a plain instruction."""
    return [
        SystemMessage(prompts.baseline_persona),
        HumanMessage(transcript(turns, prompts, context)),
        HumanMessage(prompts.baseline_instruction),
    ]


@dataclass(frozen=True)
class DialogueView:
    """What every node reads from the state: the dialogue, its language and prompts."""

    turns: list[Turn]
    language: Language
    prompts: PromptSet
    number: int
    context: Context
    taxonomy: Taxonomy | None = None
    """The phases the standing instructions list; needed only by `ask`."""

    @classmethod
    def of(
        cls, dialogue: Sequence[Turn], context: Context, taxonomy: Taxonomy | None = None
    ) -> DialogueView:
        """Validate the dialogue and pick its language and prompts.

        Raises:
            InputError: the dialogue is empty or does not end with the client.
        """
        turns = list(dialogue)
        require_client_last(turns)
        language = cast(Language, context.language) if context.language else detect_language(turns)
        return cls(
            turns=turns,
            language=language,
            prompts=load_prompts(language),
            number=sum(t.role == "client" for t in turns),
            context=context,
            taxonomy=taxonomy,
        )

    @cached_property
    def prefix(self) -> list[BaseMessage]:
        """Standing instructions and transcript, identical for every call of a turn."""
        if self.taxonomy is None:
            raise RuntimeError("a node that asks the model needs node(..., taxonomy=...)")
        return [
            SystemMessage(standing_instructions(self.prompts, self.taxonomy, self.language)),
            HumanMessage(transcript(self.turns, self.prompts, self.context)),
        ]

    def ask(self, request: str) -> list[BaseMessage]:
        """The messages of one call: the shared prefix, then the call's own request."""
        return [*self.prefix, HumanMessage(request)]

    @property
    def labels(self) -> tuple[str, ...]:
        """Speaker labels a model may wrongly put in front of its reply."""
        return (self.prompts.labels.counselor, self.prompts.labels.client)
