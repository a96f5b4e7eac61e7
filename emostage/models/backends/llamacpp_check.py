"""A crash-proof first run of each llama.cpp build: one completion, in a child process.

A llama.cpp build that executes an instruction the CPU or VM does not grant (AMX on some
virtual machines, say) dies with SIGSEGV or SIGILL on its first completion and takes the
whole process with it, with no word of why. So before EmoStage loads a GGUF in-process, a
child process loads it and generates a token. A pass is remembered per build and model
file, so each build is checked once; a crash or a hang becomes one clear `ConfigError`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import platformdirs

from emostage.errors import ConfigError
from emostage.models.backends.llamacpp_build import REBUILD_COMMAND
from emostage.models.backends.llamacpp_cpu import load_cpu_backend, variant_files

CHECK_TIMEOUT_S = 120.0
# Long enough that the prompt is evaluated as a batch, the path where the AMX kernels ran.
_PROMPT = "A client writes that work has been heavy lately and sleep is short. " * 4


class LlamaCppCrashError(ConfigError):
    """The llama.cpp build crashed or hung on a test completion in a child process."""


def check_llamacpp(model_path: str, *, timeout_s: float = CHECK_TIMEOUT_S) -> None:
    """Make sure this llama.cpp build can load `model_path` and generate, without crashing us.

    Raises:
        ConfigError: llama-cpp-python is missing, or the child could not load the model.
        LlamaCppCrashError: the child died by a signal or did not finish within `timeout_s`.
    """
    library = _library_dir()
    marker = _marker(library, Path(model_path))
    if marker.exists():
        return
    command = [sys.executable, "-m", "emostage.models.backends.llamacpp_check", model_path]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise LlamaCppCrashError(
            f"llama.cpp did not finish a one-token test completion within {timeout_s:.0f} s "
            f"(library in {library}). If this build is not portable, rebuild it: "
            f"{REBUILD_COMMAND}"
        ) from None
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise LlamaCppCrashError(
            f"llama.cpp crashed ({name}) on a one-token test completion: this build of "
            "llama-cpp-python uses CPU instructions this machine does not grant. "
            f"Rebuild it portable: {REBUILD_COMMAND}"
        )
    if done.returncode:
        lines = done.stderr.strip().splitlines() or ["no output"]
        raise ConfigError(f"llama.cpp cannot run {model_path!r}: {lines[-1]}")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def _library_dir() -> Path:
    """Where llama-cpp-python keeps its shared libraries, found without loading them."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "llama-cpp-python is not installed: see the README's install section, or "
            f"{REBUILD_COMMAND}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def _marker(library: Path, model: Path) -> Path:
    """The file whose presence records a pass, named after the build's bytes and the model."""
    digest = hashlib.sha256()
    for path in sorted(library.glob("*.so*")) + variant_files(library):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    stat = model.stat()
    digest.update(f"{model.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    folder = Path(platformdirs.user_cache_dir("emostage")) / "llamacpp-checks"
    return folder / f"{digest.hexdigest()[:32]}.ok"


def _complete_one_token(model_path: str) -> None:
    """The child's work: load the GGUF as the backend does and generate one token."""
    from llama_cpp import Llama

    load_cpu_backend()
    llama = Llama(
        model_path=model_path,
        n_ctx=512,
        n_batch=512,
        n_threads=os.cpu_count(),
        verbose=False,
    )
    llama.create_completion(_PROMPT, max_tokens=1, temperature=0.0)


if __name__ == "__main__":
    try:
        _complete_one_token(sys.argv[1])
    except Exception as exc:  # reported to the parent as one line on stderr
        sys.exit(f"{type(exc).__name__}: {exc}")
