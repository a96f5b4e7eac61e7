"""Test doubles for tests, notebooks and benchmarks; the core never imports this package.

`ScriptedChatModel` (the `scripted` backend's model) is re-exported here; `FakeOllama`, an
Ollama-protocol server on 127.0.0.1 with fault modes, is in `emostage.testing.ollama_server`
and needs the dev extra (pytest-httpserver).
"""

from emostage.models.backends.scripted import (
    SCRIPTED_PERSPECTIVE,
    SCRIPTED_REPLY,
    SCRIPTED_REWRITE,
    SCRIPTED_SCORES,
    SCRIPTED_VERDICT,
    Answer,
    ScriptedChatModel,
)

__all__ = [
    "SCRIPTED_PERSPECTIVE",
    "SCRIPTED_REPLY",
    "SCRIPTED_REWRITE",
    "SCRIPTED_SCORES",
    "SCRIPTED_VERDICT",
    "Answer",
    "ScriptedChatModel",
]
