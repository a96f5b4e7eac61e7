"""Append-only JSON-lines files that survive a kill: one record, one flushed and synced line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from emostage.errors import InputError
from emostage.files import read_text


class JsonlLog:
    """An append-only record file of one evaluation step.

    Each record is written as one line, flushed and fsynced before `append` returns, so a
    killed run keeps every finished record. A line cut off by the kill is dropped when the
    file is next opened, and its work is simply done again.
    """

    def __init__(self, path: Path, required: tuple[str, ...] = ()) -> None:
        """Open (or create) the file, dropping a trailing partial line.

        Args:
            path: The file.
            required: Fields every record has (besides `key`), checked when read.

        Raises:
            InputError: the run folder cannot be created or the file read.
        """
        self.path = path
        self.required = ("key", *required)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._drop_partial_line()
        except OSError as exc:
            raise InputError(
                f"Cannot use the run folder {path.parent}: {exc.strerror or exc}. "
                "Give --out a folder you can write to."
            ) from None

    def read(self) -> list[dict[str, Any]]:
        """Every complete record, in the order written.

        Raises:
            InputError: naming the file and line of a record that is not one.
        """
        if not self.path.exists():
            return []
        records = []
        for number, line in enumerate(read_text(self.path).splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                record = None
            missing = (
                [f for f in self.required if f not in record] if isinstance(record, dict) else []
            )
            if not isinstance(record, dict) or missing:
                problem = f"lacks {', '.join(missing)}" if missing else "is not a JSON record"
                raise InputError(
                    f"{self.path}:{number} {problem}; the run folder was edited by hand or is "
                    "not an EmoStage run. Remove that line or use a new --out."
                )
            records.append(record)
        return records

    def keys(self) -> set[str]:
        """The `key` of every record: what is already done."""
        return {str(record["key"]) for record in self.read()}

    def append(self, record: dict[str, Any]) -> None:
        """Write one record durably."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self.path.open("a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())

    def _drop_partial_line(self) -> None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return
        data = self.path.read_bytes()
        if not data.endswith(b"\n"):
            with self.path.open("r+b") as file:
                file.truncate(data.rfind(b"\n") + 1)
