"""A llama.cpp build that crashes or hangs is caught in a child process, never in ours.

The crashing build is simulated by a stand-in `llama_cpp` package placed first on the path:
its first completion sends itself SIGSEGV (as the AMX kernels did), or never returns.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from emostage.errors import ConfigError
from emostage.models.backends.llamacpp_build import REBUILD_COMMAND
from emostage.models.backends.llamacpp_check import LlamaCppCrashError, check_llamacpp

from ..conftest import EXAMPLES, ROOT, closed_url, emostage, one_error_line

STAND_IN = textwrap.dedent(
    """
    import os, signal, time

    def llama_log_callback(function):  # where EmoStage routes llama.cpp's own log lines
        return function

    def llama_log_set(callback, user_data):
        pass

    class Llama:
        def __init__(self, model_path, **settings):
            self.behaviour = os.environ["STAND_IN_LLAMA"]
            if self.behaviour == "cannot_load":
                raise ValueError(f"Failed to load model from file: {model_path}")

        def create_completion(self, prompt, **settings):
            if self.behaviour == "segfault":
                os.kill(os.getpid(), signal.SIGSEGV)
            if self.behaviour == "hang":
                time.sleep(3600)
            return {"choices": [{"text": "x"}]}
    """
)


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `llama_cpp` stand-in first on the path, a GGUF-named file, and an empty cache."""
    package = tmp_path / "site" / "llama_cpp"
    (package / "lib").mkdir(parents=True)
    (package / "__init__.py").write_text(STAND_IN)
    (package / "lib" / "libllama.so").write_bytes(b"build 1")
    monkeypatch.syspath_prepend(str(package.parent))
    monkeypatch.delitem(sys.modules, "llama_cpp", raising=False)  # a real one loaded earlier
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(package.parent), *sys.path]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    return model


def test_a_crashing_build_raises_one_line_with_the_rebuild_command(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_LLAMA", "segfault")
    with pytest.raises(LlamaCppCrashError) as caught:
        check_llamacpp(str(stand_in))
    message = str(caught.value)
    assert message.startswith("llama.cpp crashed (SIGSEGV) on a one-token test completion")
    assert REBUILD_COMMAND in message
    assert "\n" not in message


def test_a_hanging_build_is_stopped_at_the_deadline(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_LLAMA", "hang")
    with pytest.raises(LlamaCppCrashError, match=r"did not finish .* within 3 s"):
        check_llamacpp(str(stand_in), timeout_s=3)


def test_a_model_that_cannot_load_names_the_file(
    stand_in: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STAND_IN_LLAMA", "cannot_load")
    with pytest.raises(ConfigError, match="ValueError: Failed to load model") as caught:
        check_llamacpp(str(stand_in))
    assert not isinstance(caught.value, LlamaCppCrashError)


def test_a_pass_is_remembered_per_build(stand_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STAND_IN_LLAMA", "works")
    check_llamacpp(str(stand_in))
    monkeypatch.setenv("STAND_IN_LLAMA", "segfault")
    check_llamacpp(str(stand_in))  # the same build: not checked again
    library = Path(os.environ["PYTHONPATH"].split(os.pathsep)[0]) / "llama_cpp" / "lib"
    (library / "libllama.so").write_bytes(b"build 2")
    with pytest.raises(LlamaCppCrashError):
        check_llamacpp(str(stand_in))  # a new build is checked again


@pytest.mark.parametrize(
    ("args", "starts"),
    [
        (["respond", "--backend", "llamacpp"], "error: llama.cpp crashed (SIGSEGV)"),
        (["respond", "--backend", "auto"], "error: Cannot reach Ollama"),
        (["doctor", "--backend", "llamacpp"], "error: llama.cpp crashed (SIGSEGV)"),
    ],
)
def test_the_cli_says_one_line_and_exits_2_instead_of_crashing(
    stand_in: Path, args: list[str], starts: str
) -> None:
    env = {"STAND_IN_LLAMA": "segfault", "OLLAMA_HOST": closed_url()}
    example = [str(EXAMPLES / "en_breakup.json")] if args[0] == "respond" else []
    done = emostage(*args, "--model-path", stand_in, *example, env=env, process=True)
    line = one_error_line(done)
    assert line.startswith(starts)
    assert "llama.cpp crashed (SIGSEGV)" in line
    assert REBUILD_COMMAND in line
    assert done.stdout == ""


def test_a_test_that_crashes_its_process_fails_alone_and_the_run_goes_on(tmp_path: Path) -> None:
    crash = "import os, signal\n\ndef test_crash():\n    os.kill(os.getpid(), signal.SIGSEGV)\n"
    (tmp_path / "test_crash.py").write_text(crash + "\n\ndef test_after():\n    pass\n")
    config = ROOT / "pyproject.toml"
    command = [sys.executable, "-m", "pytest", "-c", str(config), "--rootdir", str(tmp_path)]
    done = subprocess.run(
        [*command, "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 failed, 1 passed" in done.stdout, done.stdout
    assert "crashed while running 'test_crash.py::test_crash'" in done.stdout, done.stdout
