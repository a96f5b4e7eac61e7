"""A damaged or misplaced evaluation run folder gets one line naming the file and line."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from ..conftest import EVAL_DATA, SCRIPTED, emostage

DATA = ("--data", str(EVAL_DATA / "generic.jsonl"), "--lang", "en")


def run_folder(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    result = emostage("eval", "all", "--out", out, *DATA, env=SCRIPTED)
    assert result.exit_code == 0, result.output
    return out


def _append(name: str, text: str) -> Callable[[Path], None]:
    def damage(out: Path) -> None:
        with (out / name).open("a", encoding="utf-8") as file:
            file.write(text)

    return damage


def _drop_first_example(out: Path) -> None:
    examples = out / "examples.jsonl"
    examples.write_text("".join(examples.read_text("utf-8").splitlines(True)[1:]), "utf-8")


def _directory_config(out: Path) -> None:
    (out / "config.json").unlink()
    (out / "config.json").mkdir()


DAMAGE: dict[str, tuple[Callable[[Path], object], str]] = {
    "config not JSON": (lambda o: (o / "config.json").write_text("{not json"), "config.json"),
    "config wrong shape": (lambda o: (o / "config.json").write_text('{"n": "x"}'), "config.json"),
    "config a directory": (_directory_config, "config.json"),
    "garbage record": (_append("generations.jsonl", "\x00\x01garbage\n"), "generations.jsonl:"),
    "record not an object": (_append("scores.jsonl", "[1, 2]\n"), "scores.jsonl:"),
    "incomplete record": (
        _append("generations.jsonl", json.dumps({"key": "x|y"}) + "\n"),
        "generations.jsonl:",
    ),
    "example missing": (_drop_first_example, "examples.jsonl has no example"),
    "bad example": (
        _append("examples.jsonl", json.dumps({"key": "z", "id": 3}) + "\n"),
        "examples.jsonl",
    ),
    "not UTF-8": (lambda o: (o / "pairs.jsonl").write_bytes(b"\xff\xfe{}\n"), "pairs.jsonl"),
}


@pytest.mark.parametrize("damage", DAMAGE)
@pytest.mark.parametrize("step", ["judge", "report"])
def test_a_damaged_run_folder_gets_one_line_naming_the_file(
    damage: str, step: str, tmp_path: Path
) -> None:
    out = run_folder(tmp_path)
    make, where = DAMAGE[damage]
    make(out)
    result = emostage("eval", step, "--out", out, env=SCRIPTED)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert lines[-1].startswith("error: ") and where in lines[-1], lines
    assert "Traceback" not in result.output


@pytest.mark.parametrize("step", ["run", "all"])
def test_an_out_that_is_a_file_is_one_line(step: str, tmp_path: Path) -> None:
    occupied = tmp_path / "occupied"
    occupied.write_text("mine")
    result = emostage("eval", step, "--out", occupied, *DATA, env=SCRIPTED)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(occupied) in result.stderr and result.stderr.count("\n") == 1
    assert occupied.read_text() == "mine"


def test_every_file_of_a_run_is_owner_only(tmp_path: Path) -> None:
    out = run_folder(tmp_path)
    sheet = emostage("eval", "sheet", "--out", out, env=SCRIPTED)
    assert sheet.exit_code == 0, sheet.output
    paths = [out, *out.rglob("*")]
    assert {p.relative_to(out).parts[0] for p in paths[1:]} >= {"human", "report"}
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path}: {oct(mode)}"
