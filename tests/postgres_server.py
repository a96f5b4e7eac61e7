"""A throwaway PostgreSQL server on 127.0.0.1 for the tests: Debian's binaries, a temp cluster.

PostgreSQL refuses to run as root, so as root the cluster belongs to `nobody`. The
server listens on a free port on 127.0.0.1 only, trusts local connections (it lives for
one test session, in a directory only it and root can read), and is stopped and removed
at the end. `make test` installs the Debian package first if it is missing
(`.ci/install-postgres`).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .conftest import free_port

UNPRIVILEGED = "nobody"
DATABASE = "emostage_test"


def binaries() -> Path | None:
    """The directory of `initdb` and `pg_ctl`, or None when PostgreSQL is not installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.insert(0, str(Path(on_path).resolve().parent))
    for folder in candidates:
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server; yield the URL of its empty test database; stop and remove it."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="emostage-pg-"))
    data, sockets, log = root / "data", root / "run", root / "server.log"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED)
        for path in (root, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", UNPRIVILEGED, "--"]
    port = free_port()

    def run(*command: str) -> None:
        # The cluster's own directory as cwd and no locale from the caller's environment:
        # neither an unreadable checkout nor an ungenerated LANG can stop `nobody`'s initdb.
        done = subprocess.run(
            [*as_user, *command], cwd=root, capture_output=True, text=True, timeout=120
        )
        if done.returncode:
            said = (done.stderr or done.stdout).strip()
            raise RuntimeError(f"{Path(command[0]).name} failed ({done.returncode}): {said}")

    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "emostage",
            "-E",
            "UTF8",
            "--no-locale",
        )
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        try:
            run(
                str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "emostage",
                DATABASE,
            )  # fmt: skip
            yield f"postgresql://emostage@127.0.0.1:{port}/{DATABASE}"
        finally:
            with contextlib.suppress(subprocess.SubprocessError, RuntimeError):
                run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)
