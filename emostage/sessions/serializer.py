"""EmoStage's state classes in any checkpointer: registered, never imposed on a host.

LangGraph's default serializer loads any class from a checkpoint but warns about each one
not on an allowlist, and says a future version will block them; a strict serializer
(`LANGGRAPH_STRICT_MSGPACK=true`, or an explicit allowlist) blocks them now. So every run
of the EmoStage graph reads and writes through `with_state_types(checkpointer)`: a shallow
clone of whatever checkpointer runs it (given to `build_graph`, or lent by a parent graph)
whose serializer also allows EmoStage's classes. The host's checkpointer and serializer
stay exactly as they were, so the host's own types load as before.
"""

from __future__ import annotations

import copy
from typing import TypeVar

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from emostage.state import CHECKPOINT_TYPES

SaverT = TypeVar("SaverT", bound=BaseCheckpointSaver[str])


def state_serializer() -> JsonPlusSerializer:
    """A strict serializer for checkpointers EmoStage makes: LangChain's and EmoStage's types."""
    return JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_TYPES)


def with_state_types(checkpointer: SaverT) -> SaverT:
    """A clone of `checkpointer` that loads EmoStage's classes with no warning.

    A strict serializer gets EmoStage's classes added to its allowlist. LangGraph's
    permissive default is replaced, in the clone only, by `state_serializer()`: EmoStage's
    threads hold only its own and LangChain's types. Encryption is kept.
    """
    derived = _derived(checkpointer.serde)
    if derived is checkpointer.serde:
        return checkpointer
    clone = copy.copy(checkpointer)
    clone.serde = derived
    return clone


def _derived(serde: SerializerProtocol) -> SerializerProtocol:
    if isinstance(serde, EncryptedSerializer):
        inner = _derived(serde.serde)
        return serde if inner is serde.serde else EncryptedSerializer(serde.cipher, inner)
    if not isinstance(serde, JsonPlusSerializer):
        return serde  # a serializer of the host's own making: it knows what it loads
    if getattr(serde, "_allowed_msgpack_modules", None) is True:  # the permissive default
        return state_serializer()
    return serde.with_msgpack_allowlist(CHECKPOINT_TYPES)
