"""How llama-cpp-python is built for EmoStage: portable, and reproducible per set of flags.

pip compiles llama-cpp-python with `-march=native` by default, and ggml then turns on every
instruction set the CPU reports, AMX included. Some virtual machines report AMX but do not
grant it, and the first completion dies with SIGSEGV. The flags below build ggml's CPU
backend once per instruction-set level instead (plain x86-64 up to AVX-512, or armv8.0 up
to armv9.2), and `emostage.models.backends.llamacpp_cpu` loads the best one the CPU runs, never
the AMX one. The same wheel runs on any x86-64 or aarch64 Linux machine, at its speed.

pip caches a built wheel by package version, not by CMake flags, so a wheel once built
natively would silently come back. This module builds the wheel itself, with pip's cache
off, into a folder named after the version, the flags, the Python and the machine; each
set of flags gets its own wheel, built once.

Run it as a script (it needs only the standard library, so no venv is needed yet):

    python3 emostage/models/backends/llamacpp_build.py            # prints the wheel's path
    LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON" python3 emostage/models/backends/llamacpp_build.py
"""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

LLAMA_CPP_VERSION = "0.3.36"
PORTABLE_CMAKE_ARGS = " ".join(
    [
        "-DGGML_NATIVE=OFF",  # no -march=native: the library runs on any CPU of the family
        "-DGGML_BACKEND_DL=ON",  # the CPU backend is a plug-in, chosen at run time ...
        "-DGGML_CPU_ALL_VARIANTS=ON",  # ... from one per instruction-set level (llamacpp_cpu)
        "-DLLAVA_BUILD=OFF",  # EmoStage reads text only
    ]
)
REBUILD_COMMAND = (
    f"CMAKE_ARGS='{PORTABLE_CMAKE_ARGS}' pip install --force-reinstall --no-deps "
    f"--no-cache-dir 'llama-cpp-python=={LLAMA_CPP_VERSION}'"
)


def wheel_dir(cmake_args: str, version: str = LLAMA_CPP_VERSION) -> Path:
    """The cache folder for one build: named after everything that changes the binary."""
    key = "\n".join([version, cmake_args, sys.version, platform.machine(), sys.platform])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "emostage" / "llama-wheels" / f"{version}-{digest}"


def built_wheel(cmake_args: str = PORTABLE_CMAKE_ARGS, version: str = LLAMA_CPP_VERSION) -> Path:
    """The llama-cpp-python wheel built with `cmake_args`, compiled now if not yet built.

    Raises:
        RuntimeError: the build failed; pip's output is on stderr.
    """
    folder = wheel_dir(cmake_args, version)
    if found := sorted(folder.glob("llama_cpp_python-*.whl")):
        return found[-1]
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the cache and move in at the end: an interrupted build leaves no wheel.
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        built = Path(scratch) / "wheel"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir"]
        command += ["--no-binary", "llama-cpp-python", "--wheel-dir", str(built)]
        command += [f"llama-cpp-python=={version}"]
        env = os.environ | {"CMAKE_ARGS": cmake_args, "FORCE_CMAKE": "1"}
        env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        print(f"building llama-cpp-python {version} with {cmake_args}", file=sys.stderr)
        if subprocess.run(command, env=env, stdout=sys.stderr, check=False).returncode:
            raise RuntimeError(f"pip could not build llama-cpp-python {version}")
        if not folder.exists():  # another build may have finished first
            built.rename(folder)
    return sorted(folder.glob("llama_cpp_python-*.whl"))[-1]


def main() -> None:
    """Print the path of the wheel for `$LLAMA_CMAKE_ARGS` (default: the portable flags)."""
    cmake_args = os.environ.get("LLAMA_CMAKE_ARGS") or PORTABLE_CMAKE_ARGS
    try:
        print(built_wheel(cmake_args))
    except RuntimeError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
