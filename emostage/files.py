"""Reading the user's files: bounded, never blocking, and one clear line when it fails.

A path may name a device that never ends (`/dev/zero`, whose size reads as 0), a FIFO
that blocks until someone writes, or a directory. Only regular files are read, and never
past a size limit; text must be valid UTF-8.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import IO, Any

from emostage.errors import InputError

MAX_FILE_BYTES = 16 * 2**20  # far beyond any session or settings file, short of memory


def read_text(path: str | Path, *, what: str = "", limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of a regular file of at most `limit` bytes.

    Args:
        path: The file.
        what: What the file is, for messages (e.g. "taxonomy").
        limit: The most bytes it may have.

    Raises:
        InputError: naming the file: missing, unreadable, not a regular file, too large,
            or not UTF-8.
    """
    shown = f"{what} {str(path)!r}".lstrip()
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it.
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"Cannot read {shown}: {exc.strerror or exc}.") from None
    except ValueError:  # a NUL byte in the path
        raise InputError(f"Cannot read {shown}: not a valid path.") from None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise InputError(
            f"{shown} is not a regular file (a directory, device or pipe); give a file."
        )
    with os.fdopen(descriptor, "rb") as file:
        return decode(read_limited(file, shown, limit), shown)


def read_limited(stream: IO[bytes], shown: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """At most `limit` bytes of `stream`.

    Raises:
        InputError: `stream` holds more.
    """
    try:
        data = stream.read(limit + 1)
    except OSError as exc:
        raise InputError(f"Cannot read {shown}: {exc.strerror or exc}.") from None
    if len(data) > limit:
        raise InputError(f"{shown} is over {limit // 2**20} MiB, the limit for an input.")
    return data


def decode(data: bytes, shown: str) -> str:
    """`data` as UTF-8 text (a byte-order mark is allowed).

    Raises:
        InputError: naming the first byte that is not UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{shown} is not valid UTF-8 (byte {exc.start}); save it as UTF-8."
        ) from None


def parse_json(text: str, source: str) -> Any:
    """Parse JSON or raise a one-line `InputError` naming the source and position."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
        ) from None
    except RecursionError:
        raise InputError(f"{source} nests too deeply to be a dialogue.") from None
