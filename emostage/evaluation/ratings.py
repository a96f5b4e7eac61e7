"""A blinded rating sheet for human counselors, and the import of their ratings.

LLM judges undervalue short listening replies that counselors rate well, so a run can be
rated by people too. The sheet hides which system wrote a reply and shuffles the order per
example; the key that unblinds it is a separate file, for whoever runs the study.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

from emostage.errors import InputError
from emostage.evaluation.rundir import RunDir
from emostage.prompts import load_prompts

HUMAN_CRITERIA = ("empathy", "phase_fit", "overall")
CONTEXT_TURNS = 8
SHEET_COLUMNS = ["item", "context", "reply", *HUMAN_CRITERIA, "comment"]


def write_sheet(run: RunDir, sheet: Path, key: Path, seed: int) -> int:
    """Write the blinded sheet and its key; returns the number of replies to rate.

    Raises:
        InputError: the run has no replies yet.
    """
    replies: dict[str, dict[str, str]] = {}
    for record in run.generations.read():
        replies.setdefault(record["example"], {})[record["system"]] = record["reply"]
    if not replies:
        raise InputError(f"{run.path} has no replies to rate yet: run `emostage eval run`.")
    rng = random.Random(seed)
    sheet_rows, key_rows = [], []
    for number, example in enumerate(run.load_examples(), 1):
        systems = sorted(replies.get(example.id, {}))
        rng.shuffle(systems)
        labels = load_prompts(example.language).labels
        recent = example.context[-CONTEXT_TURNS:]
        context = "\n".join(getattr(labels, t.role) + ": " + t.content for t in recent)
        for letter, system in zip("ABCDEFGH", systems, strict=False):
            item = f"{number:03d}-{letter}"
            reply = replies[example.id][system]
            sheet_rows.append({"item": item, "context": context, "reply": reply})
            key_rows.append({"item": item, "example": example.id, "system": system})
    # utf-8-sig: spreadsheet programs then open Japanese and Chinese text correctly.
    _write_csv(sheet, SHEET_COLUMNS, sheet_rows)
    _write_csv(key, ["item", "example", "system"], key_rows)
    return len(sheet_rows)


def import_ratings(run: RunDir, sheet: Path, key: Path, rater: str) -> int:
    """Add one rater's filled-in sheet to the run; returns how many ratings were new.

    Importing the same sheet again adds nothing.

    Raises:
        InputError: a file is unreadable, or a rating is not a whole number from 1 to 5.
    """
    unblind = {row["item"]: row for row in _read_csv(key)}
    done = run.human.keys()
    added = 0
    for line, row in enumerate(_read_csv(sheet), 2):
        if row.get("item") not in unblind:
            raise InputError(f"{sheet}:{line}: item {row.get('item')!r} is not in the key {key}.")
        scores = {c: _rating(row.get(c, ""), f"{sheet}:{line} {c}") for c in HUMAN_CRITERIA}
        record_key = f"{rater}|{row['item']}"
        if all(v is None for v in scores.values()) or record_key in done:
            continue
        target = unblind[row["item"]]
        run.human.append(
            {"key": record_key, "rater": rater, "example": target["example"]}
            | {"system": target["system"], **scores, "comment": row.get("comment", "")}
        )
        added += 1
    return added


def _rating(text: str, where: str) -> int | None:
    if not text.strip():
        return None
    if text.strip() in {"1", "2", "3", "4", "5"}:
        return int(text)
    raise InputError(f"{where}: ratings are whole numbers from 1 to 5 (or blank), not {text!r}.")


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as file:
        writer = csv.DictWriter(file, columns)
        writer.writeheader()
        writer.writerows(rows)


def _read_csv(path: Path) -> list[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            return list(csv.DictReader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"Cannot read {path}: {exc}.") from None
