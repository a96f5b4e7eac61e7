"""Unit tests stay in this process: a test that opens a socket or starts a process fails.

Whatever a unit test needs of a server or a model comes from an in-process double
(`emostage.testing`: the scripted model, `FakeOllama.handle` behind an `httpx.MockTransport`).
A test that binds, listens on or connects a socket, or starts a process of any kind (the
embedded model is loaded only after a check in a child process), fails with what it tried,
even when the code under test caught the error: it belongs in tests/integration/.
"""

from __future__ import annotations

import _posixsubprocess
import contextlib
import dataclasses
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emostage import Context


class LeftTheProcess(AssertionError):
    """A unit test tried to reach outside its process."""


@pytest.fixture(scope="session", autouse=True)
def _fonts_listed() -> None:
    """matplotlib's first import lists the system's fonts with `fc-list` where fontconfig is
    installed (Chromium, for the browser test, brings it) and caches them: a library's own
    setup, done here before the guard, not a process the code under test starts."""
    with contextlib.suppress(ImportError):  # the `eval` extra
        import matplotlib.font_manager  # noqa: F401


@pytest.fixture(autouse=True)
def _stays_in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    tried: list[str] = []

    def refuse(what: str) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            tried.append(what)
            raise LeftTheProcess(f"a unit test must not {what}: move it to tests/integration/")

        return refused

    for name in ("bind", "listen", "connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse(f"{name} a socket"))
    # Every way a process starts: subprocess (asyncio's too) through Popen, multiprocessing
    # through fork_exec, pty and the rest through fork, spawn or system.
    monkeypatch.setattr(subprocess.Popen, "_execute_child", refuse("start a process"))
    monkeypatch.setattr(_posixsubprocess, "fork_exec", refuse("start a process"))
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "system"):
        monkeypatch.setattr(os, name, refuse(f"start a process (os.{name})"))
    yield
    if tried:
        pytest.fail(f"a unit test must not {', '.join(dict.fromkeys(tried))}", pytrace=False)


@pytest.fixture
def no_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the caller's environment (a `Context` field's fallback) reaches a test."""
    for field in dataclasses.fields(Context):
        if env := field.metadata.get("env"):
            monkeypatch.delenv(env, raising=False)
