from __future__ import annotations

import os
from pathlib import Path

import pytest

from emostage.state import Turn

# Never let a developer's environment choose a setting for a test: every EMOSTAGE_ variable,
# the Ollama address, and LangSmith's switches.
for name in list(os.environ):
    if name.startswith(("EMOSTAGE_", "LANGSMITH_", "LANGCHAIN_")) or name == "OLLAMA_HOST":
        os.environ.pop(name)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
KOKOROCHAT = ROOT.parent / "shared" / "data" / "kokorochat"


@pytest.fixture
def english_dialogue() -> list[Turn]:
    return [
        Turn(role="counselor", content="Hello, what would you like to talk about today?"),
        Turn(role="client", content="I haven't been sleeping since my job changed."),
    ]


@pytest.fixture
def kokorochat_dir() -> Path:
    if not KOKOROCHAT.is_dir():
        pytest.skip("../shared/data/kokorochat is not present on this machine")
    return KOKOROCHAT
