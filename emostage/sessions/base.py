"""What every session store offers, whichever database holds it.

A session store is a LangGraph checkpointer that also:
- serializes the turns of a thread across processes and machines (`turn_lock`): the
  graph takes it on every run (`emostage.run`), so two turns of one session never
  interleave, whoever runs them;
- lets one process hold a session for a whole chat (`hold`), refusing a second;
- lists and erases sessions;
- runs the async checkpointer methods on a worker thread, so `arespond` and `astream`
  work with the same store (database I/O only: model calls never take a thread).

The word is "thread", LangGraph's: a conversation kept by a checkpointer, named by its
`thread_id`. The CLI calls a thread a session (`--session NAME` is the thread id), and
the stores speak of sessions in what they show. `thread_config` is the one place a
thread's run config is built.
"""

from __future__ import annotations

import asyncio
import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

from emostage.errors import InputError, StoreError


def thread_config(thread_id: str) -> RunnableConfig:
    """The config of a run, or a state read, of thread `thread_id`: built here only."""
    return {"configurable": {"thread_id": thread_id}}


def thread_of(config: Any) -> str | None:
    """The thread a run's config names, if any."""
    thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
    return None if thread_id is None else str(thread_id)


@dataclass(frozen=True)
class SessionInfo:
    """A stored session, as `emostage sessions list` shows it."""

    name: str
    turns: int
    updated: str


class TurnLock(ABC):
    """A lock on one thread's turns, held from a turn's start to its end."""

    @abstractmethod
    def acquire(self, wait_s: float) -> None:
        """Wait up to `wait_s` seconds for the thread.

        Raises:
            StoreError: another turn of the thread still runs after `wait_s`.
        """

    @abstractmethod
    def release(self) -> None:
        """Let the thread's next turn run."""


class SessionStore(BaseCheckpointSaver[str], ABC):
    """A checkpointer whose threads are sessions: locked per turn, listed, erased."""

    location: str
    """Where the sessions live, for messages (never with a password)."""
    failures: tuple[type[BaseException], ...] = ()
    """The database's errors: a turn that raises one may not have been stored."""

    @abstractmethod
    def turn_lock(self, thread_id: str) -> TurnLock:
        """The lock that serializes the turns of `thread_id`, across processes."""

    @abstractmethod
    def hold(self, name: str) -> AbstractContextManager[None]:
        """Hold session `name` for this process while the block runs (a whole chat).

        Raises:
            InputError: the name is empty.
            StoreError: another process holds the session.
        """

    @abstractmethod
    def erase(self, name: str) -> None:
        """Erase session `name` and every copy of its text the store can reach.

        Raises:
            InputError: there is no such session.
            StoreError: the store could not finish erasing, with what remains.
        """

    def after_turn(self, thread_id: str) -> None:
        """Tidy a thread after a turn, while its lock is still held (default: nothing)."""

    def close(self) -> None:
        """Release the store's connections (default: nothing)."""

    def sessions(self) -> list[SessionInfo]:
        """Every stored session, by name."""
        latest: dict[str, SessionInfo] = {}
        for saved in self.list(None):  # newest checkpoint of each thread comes first
            name = saved.config["configurable"]["thread_id"]
            if name not in latest:
                turns = len(saved.checkpoint["channel_values"].get("dialogue", []))
                latest[name] = SessionInfo(name, turns, saved.checkpoint["ts"][:19])
        return sorted(latest.values(), key=lambda info: info.name)

    def require(self, name: str) -> None:
        """Raise `InputError` unless session `name` is stored."""
        if self.get_tuple(thread_config(name)) is None:
            raise InputError(f"No session named {name!r}; see `emostage sessions list`.")

    # The async methods LangGraph calls on `ainvoke` and `astream`: the sync ones, on a
    # worker thread. The database drivers are sync; model calls stay on the event loop.

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """`get_tuple` on a worker thread."""
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """`list` on a worker thread."""
        found = await asyncio.to_thread(
            lambda: list(self.list(config, filter=filter, before=before, limit=limit))
        )
        for item in found:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """`put` on a worker thread."""
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """`put_writes` on a worker thread."""
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """`delete_thread` on a worker thread."""
        await asyncio.to_thread(self.delete_thread, thread_id)


def lock_key(purpose: str, name: str) -> str:
    """A short fixed-length key for a lock on `name` (names may hold any character)."""
    text = f"{purpose}:{name}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()[:32]


def busy(thread_id: str, wait_s: float) -> StoreError:
    """The error of a turn that waited `wait_s` for another turn of its session."""
    return StoreError(
        f"Session {thread_id!r} was busy with another turn for {wait_s:g} s "
        "(turn_timeout_s); try again when that turn has ended."
    )
