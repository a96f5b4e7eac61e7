from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from emostage import EmoStage, TaxonomyError, build_graph, load_taxonomy
from emostage.prompts.phases import Taxonomy
from emostage.testing import ScriptedChatModel

CUSTOM: dict[str, Any] = {
    "name": "three-step",
    "fallback_phase": "listen",
    "phases": [
        {
            "id": "listen",
            "texts": {
                "en": {"name": "Listen", "definition": "Hear them out.", "fits": ["reflect"]}
            },
        },
        {
            "id": "plan",
            "texts": {"en": {"name": "Plan", "definition": "Plan a step.", "fits": ["one step"]}},
        },
        {
            "id": "part",
            "texts": {"en": {"name": "Part", "definition": "End well.", "fits": ["thanks"]}},
        },
    ],
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_user_taxonomy_builds_one_draft_node_per_phase(tmp_path: Path, suffix: str) -> None:
    text = json.dumps(CUSTOM) if suffix == ".json" else yaml.safe_dump(CUSTOM)
    path = write(tmp_path, f"custom{suffix}", text)
    nodes = set(build_graph(ScriptedChatModel(), taxonomy=path).get_graph().nodes)
    assert {"draft_listen", "draft_plan", "draft_part", "draft_general"} <= nodes
    assert "draft_exploration" not in nodes
    reply = EmoStage(ScriptedChatModel(phase="plan"), taxonomy=path).respond(
        [{"role": "client", "content": "ok"}]
    )
    assert reply.phase == "plan"


def test_a_phase_described_only_in_english_is_used_for_every_language() -> None:
    taxonomy = load_taxonomy("ivey").model_copy(deep=True)
    for phase in taxonomy.phases:
        phase.texts = {"en": phase.texts["en"]}
    assert taxonomy.phases[0].text("ja").name == "Rapport"


def test_default_fallback_phase_is_the_second() -> None:
    assert Taxonomy.model_validate({**CUSTOM, "fallback_phase": None}).default_phase == "plan"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("phases: [", "not valid YAML/JSON"),
        ("name: x\nphases: []", "invalid at phases"),
        (yaml.safe_dump({**CUSTOM, "fallback_phase": "nope"}), "fallback_phase 'nope'"),
        (yaml.safe_dump({**CUSTOM, "phases": CUSTOM["phases"][:1] * 2}), "unique"),
        (
            yaml.safe_dump(
                {**CUSTOM, "phases": [{**CUSTOM["phases"][0], "id": "Bad Id"}, CUSTOM["phases"][1]]}
            ),
            "phases.0.id",
        ),
    ],
)
def test_bad_taxonomy_files_fail_with_one_clear_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write(tmp_path, "bad.yaml", content)
    with pytest.raises(TaxonomyError, match=message) as error:
        load_taxonomy(path)
    assert "\n" not in str(error.value)


def test_missing_taxonomy_names_the_builtins(tmp_path: Path) -> None:
    with pytest.raises(TaxonomyError, match="ivey, hill"):
        load_taxonomy(tmp_path / "nope.yaml")
