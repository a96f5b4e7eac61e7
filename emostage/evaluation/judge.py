"""LLM-as-judge: turn-level scores of one reply, and a preference between two replies."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal, get_args

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, BeforeValidator, Field

from emostage.context import Context
from emostage.evaluation.examples import Example
from emostage.models.ask import StructuredAnswer, ask_structured
from emostage.models.invoke import CallPolicy, run_sync
from emostage.prompts import load_judge_prompts, load_prompts
from emostage.prompts.messages import transcript


def _clip(value: object) -> object:
    # A rambling justification is no reason to throw the scores away.
    return value[:400] if isinstance(value, str) else value


Justification = Annotated[str, BeforeValidator(_clip), Field(max_length=400)]


class TurnScores(BaseModel):
    """CPsyCoun's turn-level criteria, plus the two EmoStage is about.

    Scores are enums, not bounded integers: a grammar-constrained server then cannot
    answer out of range (llama.cpp's grammar ignores integer bounds, and small models
    happily count past them).
    """

    justification: Justification = ""
    comprehensiveness: Literal[0, 1, 2]
    professionalism: Literal[0, 1, 2, 3]
    authenticity: Literal[0, 1, 2, 3]
    safety: Literal[0, 1]
    empathy: Literal[1, 2, 3, 4, 5]
    phase_appropriateness: Literal[1, 2, 3, 4, 5]


CRITERIA: dict[str, tuple[int, int]] = {
    name: (min(get_args(field.annotation)), max(get_args(field.annotation)))
    for name, field in TurnScores.model_fields.items()
    if name != "justification"
}
"""Each criterion's (lowest, highest) score."""


class PairVerdict(BaseModel):
    """Which of two candidate replies serves the client better."""

    justification: Justification = ""
    better: Literal["A", "B", "tie"]


@dataclass(frozen=True)
class Judge:
    """A judge model with its retry policy. Calls are blocking; run them in threads."""

    model: BaseChatModel
    policy: CallPolicy
    settings: Context

    def score(self, example: Example, reply: str) -> StructuredAnswer[TurnScores]:
        """Score `reply` as the counselor's next turn in `example`."""
        prompts = load_judge_prompts(example.language)
        messages = [
            *self._prefix(example),
            HumanMessage(prompts.reply_header + "\n" + reply),
            HumanMessage(prompts.score_instruction),
        ]
        return run_sync(ask_structured(self._scores, TurnScores, messages, self.policy))

    def compare(self, example: Example, first: str, second: str) -> StructuredAnswer[PairVerdict]:
        """Prefer `first` (shown as A), `second` (B), or neither."""
        prompts = load_judge_prompts(example.language)
        messages = [
            *self._prefix(example),
            HumanMessage(prompts.pair_header_a + "\n" + first),
            HumanMessage(prompts.pair_header_b + "\n" + second),
            HumanMessage(prompts.pair_instruction),
        ]
        return run_sync(ask_structured(self._verdicts, PairVerdict, messages, self.policy))

    @cached_property
    def _scores(self) -> Runnable[Any, Any]:
        return self.model.with_structured_output(TurnScores, include_raw=True)

    @cached_property
    def _verdicts(self) -> Runnable[Any, Any]:
        return self.model.with_structured_output(PairVerdict, include_raw=True)

    def _prefix(self, example: Example) -> list[BaseMessage]:
        # Same layout as a turn: the texts are joined as message content, never formatted.
        rubric = load_judge_prompts(example.language).system
        history = transcript(example.context, load_prompts(example.language), self.settings)
        return [SystemMessage(rubric), HumanMessage(history)]


Outcome = Literal["win", "tie", "loss"]


def pair_outcome(system_first: str, baseline_first: str) -> Outcome:
    """A system's result against the baseline from verdicts in both orders.

    In `system_first` the system was A; in `baseline_first` it was B. Only a preference
    that survives the swap counts (a win or loss in both orders); anything else is a tie.
    This cancels the judge's position bias.
    """
    if system_first == "A" and baseline_first == "B":
        return "win"
    if system_first == "B" and baseline_first == "A":
        return "loss"
    return "tie"
