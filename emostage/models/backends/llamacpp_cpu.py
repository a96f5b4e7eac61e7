"""Runtime CPU dispatch for llama.cpp: load the fastest CPU backend this machine can run.

EmoStage builds llama.cpp with one CPU backend per instruction-set level, from plain x86-64
up to AVX-512 (`GGML_BACKEND_DL` with `GGML_CPU_ALL_VARIANTS`), so one build runs on any
x86-64 machine at that machine's speed. Such a build loads no backend by itself, and
llama-cpp-python does not expose ggml's loader, so this module calls it through ctypes.

The AMX variant is never loaded: a virtual machine can report AMX and still refuse it, and
then the first matrix product dies with SIGSEGV. That was the crash this design replaces.

llama.cpp's own log lines (model loading, cache notes) never reach the user's terminal:
`route_native_log` sends them to the `emostage.llamacpp` logger at DEBUG level, which
shows nothing unless the host configures it. (llama-cpp-python's own callback reads an
older numbering of ggml's log levels and prints warnings as errors, on stderr.)

To run another program on the same build, llama-cpp-python's server for example, load the
backend first: `python -m emostage.models.backends.llamacpp_cpu llama_cpp.server --model X.gguf`.
"""

from __future__ import annotations

import ctypes
import logging
import runpy
import sys
import threading
from pathlib import Path
from typing import Any

_NEVER = ("sapphirerapids",)  # the variants with AMX kernels
_lock = threading.Lock()
_loaded: list[str] = []
_routed: list[Any] = []  # the installed log callback, kept alive while native code holds it
NATIVE_LOG = "emostage.llamacpp"


def route_native_log() -> None:
    """Send llama.cpp's log lines to the `emostage.llamacpp` logger (DEBUG), once per process.

    Lines may hold model output, so they are never shown by default: the logger has a
    `NullHandler`, and only a host that configures DEBUG logging for it sees them.
    """
    import llama_cpp  # its import installs llama-cpp-python's own callback; ours replaces it

    with _lock:
        if _routed:
            return
        logger = logging.getLogger(NATIVE_LOG)
        logger.addHandler(logging.NullHandler())

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
        def to_logger(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
            logger.debug("%s", text.decode("utf-8", "replace").rstrip("\n"))

        llama_cpp.llama_log_set(to_logger, ctypes.c_void_p(0))
        _routed.append(to_logger)


def variant_files(library: Path) -> list[Path]:
    """The CPU backend variants of a dispatch build, beside its libraries or in `bin/`."""
    folders = (library, library.parent.parent / "bin")
    return sorted(path for folder in folders for path in folder.glob("libggml-cpu-*.so"))


def load_cpu_backend() -> str | None:
    """Register the best CPU variant once per process; a no-op for a single-backend build.

    Returns:
        The variant's name (e.g. `haswell`), or None when the build has its CPU backend
        compiled in.

    Raises:
        RuntimeError: the build has variants, but none runs on this CPU.
    """
    import llama_cpp  # loads libllama and libggml, whose loader we call

    route_native_log()  # ggml announces the load on stderr
    library = Path(llama_cpp.__file__).parent / "lib"
    with _lock:
        if _loaded:
            return _loaded[0]
        candidates = [
            path
            for path in variant_files(library)
            if path.stem.removeprefix("libggml-cpu-") not in _NEVER
        ]
        if not candidates:
            return None
        best = max(candidates, key=_score)
        if _score(best) <= 0:
            raise RuntimeError("no llama.cpp CPU backend supports this CPU")
        # Through libllama's handle, so the symbol is the one from the libggml it uses
        # (the wheel ships more than one copy of libggml, each with its own registry).
        load = llama_cpp.llama_cpp._lib.ggml_backend_load
        load.restype = ctypes.c_void_p
        load.argtypes = [ctypes.c_char_p]
        handle = load(str(best).encode())
        if not handle:
            raise RuntimeError(f"llama.cpp could not load {best}")
        _loaded.append(best.stem.removeprefix("libggml-cpu-"))
        return _loaded[0]


def _score(variant: Path) -> int:
    """The score ggml gives the variant: 0 if this CPU lacks an instruction it needs."""
    score = ctypes.CDLL(str(variant)).ggml_backend_score
    score.restype = ctypes.c_int
    return int(score())


if __name__ == "__main__":
    load_cpu_backend()
    sys.argv = sys.argv[1:]  # the module to run, then its own arguments
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
