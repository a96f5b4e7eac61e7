"""What a node body gets: `Step`, its settings, view of the dialogue, report and model calls.

A node body (see `emostage.nodes`) asks the model through its step: `step.text(...)` for a
chat message, `step.drafts(...)` for the turn's candidate drafts, `step.structured(...)`
for an analysis. Each returns a generator of model calls that the node's runner carries
out (`emostage.models.invoke`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import BaseMessage
from langgraph.runtime import Runtime

from emostage.context import Context
from emostage.models.ask import NodeRun, SchemaT, structured_call, text_call
from emostage.models.invoke import ANALYSIS_SHARE, Asking, CallPolicy, Together
from emostage.models.source import ModelSource
from emostage.prompts.messages import DialogueView
from emostage.streaming import StreamCleaner


@dataclass
class Step:
    """What a node body works with: settings, the dialogue as this turn sees it, its report.

    Its `text` and `structured` ask the model (`emostage.models.ask`): a bad answer is
    retried, then replaced by the fallback, and the report says so.
    """

    context: Context
    view: DialogueView
    run: NodeRun
    runtime: Runtime[Context]
    models: ModelSource
    reply: StreamCleaner | None = None
    """The client's view of the reply, for a draft node that shows it as it is written."""

    def text(
        self,
        messages: Sequence[BaseMessage],
        *,
        fallback: str,
        settings: Context | None = None,
        labels: Sequence[str] | None = None,
        share: float = 1.0,
    ) -> Asking[str]:
        """Ask for a chat message; `fallback` after too many bad answers.

        A draft node's answer is shown to the client as it is written (`reply`).

        Args:
            messages: What to send.
            fallback: The text used when every answer was unusable.
            settings: Which model (default: the turn's drafting model).
            labels: Speaker labels to strip from the answer (default: the transcript's).
            share: The share of the turn's remaining time the call may take.
        """
        return text_call(
            self.run,
            self.models.get(settings or self.context),
            messages,
            policy=CallPolicy.of(self.context, turn_share=share),
            labels=self.view.labels if labels is None else labels,
            fallback=fallback,
            stream=self.reply,
        )

    def _draft(self, messages: Sequence[BaseMessage], fallback: str, shown: bool) -> Asking[str]:
        return text_call(
            self.run,
            self.models.get(self.context),
            messages,
            policy=CallPolicy.of(self.context),
            labels=self.view.labels,
            fallback=fallback,
            stream=self.reply if shown else None,
        )

    def drafts(self, messages: Sequence[BaseMessage], *, fallback: str) -> Asking[list[str]]:
        """`context.candidates` chat messages, asked for at once; the first is shown.

        Each is cleaned, and falls back on its own (`text`). Only the first is shown to the
        client as it is written (`reply`): the others are for a reviewer to choose from.
        """
        count = self.context.candidates
        if count == 1:
            return [(yield from self._draft(messages, fallback, shown=True))]
        askings = [self._draft(messages, fallback, shown=index == 0) for index in range(count)]
        drafts: list[str] = yield Together(askings)
        return drafts

    def structured(
        self,
        schema: type[SchemaT],
        messages: Sequence[BaseMessage],
        *,
        default: SchemaT,
        drafting: bool = False,
    ) -> Asking[SchemaT]:
        """Ask the analysis model for `schema`; `default` after too many bad answers.

        An analysis call takes at most its share of the turn (`ANALYSIS_SHARE`), so that a
        slow server still leaves the draft its time. With `drafting`, the drafting model
        answers instead, with the rest of the turn (a rewrite of the counselor's draft).
        """
        settings = self.context if drafting else self.context.for_analysis()
        return structured_call(
            self.run,
            self.models.structured(settings, schema),
            schema,
            messages,
            policy=CallPolicy.of(self.context, turn_share=1.0 if drafting else ANALYSIS_SHARE),
            default=default,
        )
