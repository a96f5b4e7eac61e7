"""Graph state and the pydantic schemas that flow through it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from pydantic import BaseModel, Field

from emostage.analysis import Emotion, Perspective
from emostage.conversation import Turn, append_turns, chat_messages
from emostage.review import ReviewRecord, ReviewRequest
from emostage.safety import Resource, RiskAssessment
from emostage.safety.watch import SafetyWatch


class NodeReport(BaseModel):
    """What one node did in one turn."""

    node: str
    turn: int = Field(description="Number of client turns seen; tells turns of a thread apart.")
    latency_ms: float = 0.0
    model_calls: int = 0
    fallback: str | None = Field(default=None, description="Why a safe default was used.")
    skipped: bool = False


class Diagnostics(BaseModel):
    """Per-turn bookkeeping: which model, how long each node took, what fell back."""

    model: str
    nodes: list[NodeReport]
    fallbacks: list[str]


class Reply(BaseModel):
    """The counselor's next turn and the analysis behind it."""

    response: str = Field(description="The delivered reply; empty while awaiting review.")
    status: Literal["delivered", "awaiting_review"] = "delivered"
    thread_id: str = ""
    pending_review: ReviewRequest | None = Field(
        default=None, description="While awaiting review: what the reviewer must decide on."
    )
    review: ReviewRecord | None = Field(default=None, description="The reviewer's decision.")
    holding: str = Field(
        default="",
        description="A client audience's held turn: the message the client was shown meanwhile.",
    )
    changes: list[str] = Field(
        default_factory=list, description="A rewrite's changes to the counselor's draft."
    )
    candidates: list[str] = Field(
        default_factory=list, description="Every draft, when the turn drafted several."
    )
    phase: str | None
    phase_rationale: str
    perspective: Perspective | None
    language: str
    mode: str
    risk: RiskAssessment = Field(description="Danger signalled, for a host app to hand over.")
    diagnostics: Diagnostics


def merge_reports(
    left: dict[str, NodeReport], right: dict[str, NodeReport]
) -> dict[str, NodeReport]:
    """Reducer: collect node reports of the current turn, dropping earlier turns' reports."""
    incoming = {name: NodeReport.model_validate(r) for name, r in right.items()}
    turns = {r.turn for r in incoming.values()}
    kept = {name: r for name, r in left.items() if r.turn in turns}
    return {**kept, **incoming}


# State fields are described with pydantic's `Field` in `Annotated`, which is what reaches
# the JSON schemas that Studio's forms show. A reducer goes last: LangGraph reads it there.


# In the input and the output: what a chat front end sends and reads.
ChatMessages = Annotated[
    list[AnyMessage],
    Field(
        description="The conversation as chat messages (user/human is the client, "
        "assistant/ai the counselor); each reply is appended as an AI message."
    ),
    chat_messages,
]


class TurnFailure(BaseModel):
    """What the thread keeps of a turn that failed."""

    turn: int = Field(description="The client turn that got no reply (1 for the first).")
    error: str = Field(description="The error's type, e.g. ModelUnavailableError.")
    message: str = Field(description="The error's one line, as the developer saw it.")


@dataclass(kw_only=True)
class InputState:
    """What a caller sends: the conversation so far, ending with the client's turn.

    Send it as `dialogue` or as chat `messages` (see `emostage.conversation`); in a
    thread, send only the new turns.
    """

    dialogue: Annotated[
        list[Turn],
        Field(description="Turns {role: client|counselor, content}; or send messages."),
        append_turns,
    ] = field(default_factory=list)
    messages: ChatMessages = field(default_factory=list)
    counselor_draft: Annotated[
        str,
        Field(
            description=(
                "The counselor's own draft of the next message: the turn rewrites it "
                "(kept close, improved for empathy and the phase) instead of drafting one."
            )
        ),
    ] = ""


@dataclass(kw_only=True)
class OutputState:
    """What a turn produces: the reply, as text and as a chat message, and its analysis."""

    messages: ChatMessages = field(default_factory=list)
    response: Annotated[str, Field(description="The delivered reply.")] = ""
    phase: Annotated[str | None, Field(description="The session's phase (a taxonomy id).")] = None
    phase_rationale: Annotated[str, Field(description="Why the model chose that phase.")] = ""
    perspective: Annotated[
        Perspective | None, Field(description="What the client likely feels, thinks and needs.")
    ] = None
    risk: Annotated[
        RiskAssessment | None, Field(description="Danger signalled, for a host app to hand over.")
    ] = None
    language: Annotated[str, Field(description="The reply's language.")] = ""
    safety_watch: Annotated[
        SafetyWatch | None, Field(description="Risk carried over from earlier turns.")
    ] = None
    review: Annotated[
        ReviewRecord | None, Field(description="A reviewer's decision on this reply.")
    ] = None
    candidates: Annotated[
        list[str],
        Field(description="Every draft of the turn when it drafted several (a reviewer's choice)."),
    ] = field(default_factory=list)
    changes: Annotated[
        list[str], Field(description="What a rewrite changed in the counselor's draft, and why.")
    ] = field(default_factory=list)
    failure: Annotated[
        TurnFailure | None, Field(description="Why the last turn got no reply, if it failed.")
    ] = None
    reports: Annotated[
        dict[str, NodeReport],
        Field(description="Per node: time taken, model calls and any fallback."),
        merge_reports,
    ] = field(default_factory=dict)


@dataclass(kw_only=True)
class ClientOutputState:
    """What a client-audience graph produces: the reply, as text and as a chat message.

    Everything else stays in the checkpoint, for staff (see `emostage.audience`).
    """

    messages: ChatMessages = field(default_factory=list)
    response: Annotated[str, Field(description="The delivered reply.")] = ""


@dataclass(kw_only=True)
class State(InputState, OutputState):
    """The full working state of one turn."""

    strategy: Annotated[str, Field(description="Draft node chosen by the router.")] = ""
    guard_risk: Annotated[
        RiskAssessment | None, Field(description="The guard model's verdict, when one is set.")
    ] = None
    draft: Annotated[str, Field(description="The drafted message, undelivered.")] = ""
    draft_appendix: Annotated[str, Field(description="Crisis resources appended to the draft.")] = (
        ""
    )
    draft_shown: Annotated[
        bool, Field(description="The draft was shown to the client as it was written.")
    ] = False
    draft_id: Annotated[
        str, Field(description="The id the shown draft was streamed under, kept by the reply.")
    ] = ""
    draft_resources: Annotated[
        list[Resource], Field(description="The crisis resources in the appendix, as data.")
    ] = field(default_factory=list)
    # `read_messages` keeps the two views of the conversation in step: these count what
    # each already holds of the other.
    messages_read: Annotated[int, Field(description="Messages already in the dialogue.")] = 0
    turns_shown: Annotated[int, Field(description="Dialogue turns already in the messages.")] = 0
    last_turn_shown: Annotated[
        str, Field(description="The last of those turns' text, as the messages show it.")
    ] = ""
    # A client-audience turn held for review (`emostage.audience`): what the reviewer
    # decides on, and their decision, which staff send as a state update.
    awaiting_review: Annotated[
        ReviewRequest | None, Field(description="The held turn's review request.")
    ] = None
    review_decision: Annotated[
        Any, Field(description="A reviewer's decision on the held turn (staff only).")
    ] = None


# What every turn's end clears, delivered or failed: the draft and the counselor's draft.
TURN_ENDED: dict[str, Any] = {
    "counselor_draft": "",
    "draft": "",
    "draft_appendix": "",
    "draft_shown": False,
    "draft_id": "",
    "draft_resources": [],
    "awaiting_review": None,
    "review_decision": None,
}

# Classes stored in checkpoints, registered with the checkpointer by `build_graph`.
CHECKPOINT_TYPES: tuple[type, ...] = (
    InputState,
    Turn,
    Emotion,
    Perspective,
    NodeReport,
    RiskAssessment,
    Resource,
    SafetyWatch,
    ReviewRecord,
    ReviewRequest,
    TurnFailure,
)
