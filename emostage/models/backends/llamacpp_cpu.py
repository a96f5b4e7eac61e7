"""Runtime CPU dispatch for llama.cpp: load the fastest CPU backend this machine can run.

EmoStage builds llama.cpp with one CPU backend per instruction-set level, from plain x86-64
up to AVX-512 (`GGML_BACKEND_DL` with `GGML_CPU_ALL_VARIANTS`), so one build runs on any
x86-64 machine at that machine's speed. Such a build loads no backend by itself, and
llama-cpp-python does not expose ggml's loader, so this module calls it through ctypes.

The AMX variant is never loaded: a virtual machine can report AMX and still refuse it, and
then the first matrix product dies with SIGSEGV. That was the crash this design replaces.

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

_NEVER = ("sapphirerapids",)  # the variants with AMX kernels
_lock = threading.Lock()
_loaded: list[str] = []


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
        quiet = logging.getLogger("llama-cpp-python")  # ggml announces the load on stderr
        level, quiet.level = quiet.level, quiet.level or logging.ERROR
        try:
            handle = load(str(best).encode())
        finally:
            quiet.setLevel(level)
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
