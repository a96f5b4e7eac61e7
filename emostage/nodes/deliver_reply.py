"""The end of every turn: the one place where the reply's final text is decided and sent.

Drafting nodes leave a draft (the message, and crisis resources to append). A draft no
reviewer has to see first was already shown as it was written (`draft_shown`, see
`emostage.streaming`); here its appendix follows as the last chunk. When the review policy
covers this turn (`emostage.review`), nothing was shown: the graph pauses with LangGraph's
`interrupt()`, sending LangChain's human-in-the-loop request, until a reviewer approves,
edits or replaces it, and the decided text is sent now. For a client audience, the turn
ends instead with a holding message (sent and stored as such, never as the reply), and
staff's decision runs this node again
(`emostage.audience`). Either way the text sent on
LangGraph's custom stream, which every client reads (`EmoStage.stream`, the CLI, a raw
`graph.stream(..., stream_mode="custom")`), adds up to exactly the text stored
(`response`, and the dialogue).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from emostage.audience import REVIEW_DECISION, Audience, held_text, held_update
from emostage.context import Context
from emostage.conversation import Turn, reply_message
from emostage.errors import InputError
from emostage.models.shown import show_more
from emostage.nodes import DRAFT_CRISIS, REWRITE_DRAFT, Node
from emostage.review import (
    ReviewDecision,
    ReviewPolicy,
    joined_reply,
    needs_review,
    review_interrupt,
    review_record,
    review_request,
    reviewed_reply,
)
from emostage.safety import RiskAssessment
from emostage.state import TURN_ENDED, State
from emostage.streaming import ReplyDelta, ReplyWriter, sentence_chunks


def make_deliver_reply(review: ReviewPolicy, audience: Audience = "counselor") -> Node:
    """A node that delivers the draft, after a reviewer's decision when `review` asks."""

    def deliver_reply(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
        reply = joined_reply(state.draft, state.draft_appendix)
        record = None
        # A rewrite is the counselor's own draft: they have reviewed it.
        rewrite = state.strategy == REWRITE_DRAFT
        if state.review_decision is not None and state.awaiting_review is None:
            raise InputError(f"No turn of this thread awaits review; {REVIEW_DECISION} is unused.")
        if not rewrite and needs_review(review, crisis_turn=state.strategy == DRAFT_CRISIS):
            request = state.awaiting_review or review_request(
                turn=sum(t.role == "client" for t in state.dialogue),
                message=state.draft,
                appendix=state.draft_appendix,
                risk=state.risk or RiskAssessment(),
                resources=state.draft_resources,
                policy=review,
                candidates=state.candidates,
            )
            if audience == "client" and state.review_decision is None:
                held = held_update(request, state.dialogue, state.language)
                # What the client is shown instead of the reply, on every stream.
                ReplyWriter(runtime.stream_writer)(ReplyDelta(held_text(held)))
                return {**held, "messages_read": len(state.messages) + 1}
            # Pauses the run; on resume, LangGraph runs this node again and `interrupt`
            # returns the reviewer's decision. Nothing was sent to the client before.
            answer = state.review_decision or interrupt(review_interrupt(request))
            decision = ReviewDecision.parse(answer, state.draft_appendix, state.draft)
            reply = reviewed_reply(state.draft, state.draft_appendix, decision, state.candidates)
            record = review_record(request, decision, reply)
        send = ReplyWriter(runtime.stream_writer)
        if record is None and state.draft_shown:
            if rest := reply[len(state.draft) :]:  # the crisis resources, as the last chunk
                send(ReplyDelta(rest))
                show_more([rest], state.draft_id)
        else:
            for chunk in sentence_chunks(reply):
                send(ReplyDelta(chunk))
        # The same text goes into both views of the conversation, which stay in step.
        known = {message.id for message in state.messages}
        return {
            "response": reply,
            "dialogue": [Turn(role="counselor", content=reply)],
            "messages": [reply_message(reply, _metadata(state, audience), state.draft_id or None)],
            # One more message, unless the draft's own message (same id) is completed.
            "messages_read": len(state.messages) + (state.draft_id not in known),
            "turns_shown": len(state.dialogue) + 1,
            "last_turn_shown": reply,
            "review": record,
            "failure": None,
            **TURN_ENDED,
        }

    return deliver_reply


def _metadata(state: State, audience: Audience) -> dict[str, Any]:
    """What the reply message carries besides its text: for counselors, the analysis."""
    if audience == "client":
        return {"language": state.language}
    return {
        "phase": state.phase,
        "risk": state.risk.model_dump(mode="json") if state.risk else None,
        "perspective": state.perspective.model_dump(mode="json") if state.perspective else None,
        "language": state.language,
    }
