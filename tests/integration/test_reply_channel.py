"""One reply on every path: what `emostage chat`, a real process, shows a person in crisis.

(Every other path: tests/unit/test_reply_channel.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emostage.languages import Language
from emostage.safety import crisis_resources

from ..conftest import emostage
from ..unit.test_reply_channel import CRISIS, LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_emostage_chat_shows_a_person_in_crisis_the_resources(
    language: Language, tmp_path: Path
) -> None:
    done = emostage(
        "chat", "--session", "z", input=CRISIS[language] + "\n",
        env={"EMOSTAGE_BACKEND": "scripted"}, data_home=tmp_path, process=True,
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    for resource in crisis_resources(language).resources:
        assert resource.contact in done.stdout
    assert "(crisis)" in done.stdout
