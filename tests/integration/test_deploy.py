"""The deployment files in deploy/, checked by the tools that read them, run as processes, offline.

- langgraph.json: langgraph-cli writes its Dockerfile;
- compose.yaml: the Compose Specification's JSON schema (the copy vendored in
  check-jsonschema). Where Docker Compose v2 is installed, `docker compose config` for
  every profile;
- nginx.conf: where Debian's nginx is installed, `nginx -t` and a live run: one session's
  calls reach one replica.

No Docker engine is needed: no image is built or run here (deploy/README.md says what that
leaves unchecked). The files themselves: tests/unit/test_deploy.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emostage.models.deadline import SESSION_HEADER

from ..conftest import DEPLOY, ROOT, free_port, server_process
from ..unit.test_deploy import COMPOSE, CONFIG, ENV_EXAMPLE, NGINX

SCHEMA = ("--builtin-schema", "vendor.compose-spec")  # check-jsonschema's vendored copy


def offline() -> dict[str, str]:
    """This process's environment, with every proxied request sent to a closed port.

    A subprocess that tries the network then fails, so its passing shows it needed none.
    """
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "all_proxy")}
    dead = "http://127.0.0.1:9"
    return env | {
        "http_proxy": dead,
        "https_proxy": dead,
        "HTTP_PROXY": dead,
        "HTTPS_PROXY": dead,
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    }


# --- langgraph.json ------------------------------------------------------------------


def test_the_cli_writes_the_dockerfile_offline(tmp_path: Path) -> None:
    langgraph = Path(sys.executable).with_name("langgraph")
    dockerfile = tmp_path / "Dockerfile"
    done = subprocess.run(
        [str(langgraph), "dockerfile", "-c", str(CONFIG), str(dockerfile)],
        env=offline(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = dockerfile.read_text()
    assert re.search(r"^FROM langchain/langgraph-api:3\.11$", text, re.MULTILINE), text
    # The repository root is a named build context, copied whole to /deps/<its name>.
    assert f"--build-context {ROOT.name}={ROOT}" in done.stdout
    assert f"COPY --from={ROOT.name} . /deps/{ROOT.name}" in text
    [graphs] = re.findall(r"^ENV LANGSERVE_GRAPHS='(.*)'$", text, re.MULTILINE)
    assert json.loads(graphs) == {"emostage": f"/deps/{ROOT.name}/emostage/studio.py:graph"}


# --- compose.yaml ----------------------------------------------------------------------


def test_compose_matches_the_compose_spec_schema(tmp_path: Path) -> None:
    def check(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "check_jsonschema", *SCHEMA, str(path)],
            env=offline(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    done = check(COMPOSE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok -- validation done" in done.stdout
    # The same check fails a broken file: it reads ours, and reads it strictly.
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE.read_text().replace("ipc: host", "ipcs: host"))
    done = check(broken)
    assert done.returncode == 1
    assert "'ipcs' was unexpected" in done.stdout


# --- nginx.conf --------------------------------------------------------------------------


@pytest.fixture
def nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not path:
        if os.environ.get("TEST_REQUIRE_SERVICES") == "1":  # make test installs it
            pytest.fail("nginx is required (TEST_REQUIRE_SERVICES=1) but not installed")
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light)")
    return path


def local_nginx_conf(tmp_path: Path, replicas: list[int], port: int) -> Path:
    """deploy/nginx.conf with the replicas and its port on this machine's loopback.

    The compose network's host names resolve only there; nginx resolves them at start.
    Temp files go under tmp_path, so that nginx needs no system directory.
    """
    text = NGINX.read_text().replace("listen 8000;", f"listen 127.0.0.1:{port};")
    for number, replica in enumerate(replicas, start=1):
        text = text.replace(f"model-replica-{number}:8000", f"127.0.0.1:{replica}")
    temp = f"client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy;"
    text = text.replace("http {", "http {\n    " + temp, 1)
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    return conf


def test_nginx_accepts_the_config(nginx: str, tmp_path: Path) -> None:
    conf = local_nginx_conf(tmp_path, [free_port(), free_port()], free_port())
    done = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


class Replica(http.server.BaseHTTPRequestHandler):
    """A model replica that answers every request with its own name."""

    protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream uses it

    def setup(self) -> None:
        super().setup()
        self.server.connections.append(self.connection)  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        name = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-length", str(len(name)))
        self.end_headers()
        self.wfile.write(name)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def replicas() -> Iterator[list[http.server.ThreadingHTTPServer]]:
    servers = []
    for name in ("one", "two"):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Replica)
        server.name = name  # type: ignore[attr-defined]
        server.connections = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def stop(replica: http.server.ThreadingHTTPServer) -> None:
    """Stop `replica` as a crashed one stops: no listener, its open connections cut."""
    replica.shutdown()
    replica.server_close()
    for connection in replica.connections:  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def test_a_session_sticks_to_one_replica(
    nginx: str, tmp_path: Path, replicas: list[http.server.ThreadingHTTPServer]
) -> None:
    port = free_port()
    conf = local_nginx_conf(tmp_path, [s.server_address[1] for s in replicas], port)
    log = tmp_path / "error.log"
    command = [nginx, "-p", str(tmp_path), "-c", str(conf), "-e", str(log)]
    command += ["-g", f"daemon off; pid {tmp_path}/nginx.pid;"]
    url = f"http://127.0.0.1:{port}"
    with (
        server_process(
            command, f"{url}/lb-health", timeout_s=10, log=log,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ),
        httpx.Client(base_url=url, trust_env=False, timeout=5) as client,
    ):  # fmt: skip

        def replica_for(session: str | None) -> str:
            headers = {SESSION_HEADER: session} if session else {}
            response = client.post("/v1/chat/completions", headers=headers, json={})
            response.raise_for_status()
            return response.text

        # Keys as EmoStage makes them: a SHA-256 prefix of the thread id.
        keys = [hashlib.sha256(f"thread-{i}".encode()).hexdigest()[:16] for i in range(24)]
        placed = {}
        for key in keys:
            seen = {replica_for(key) for _ in range(4)}
            assert len(seen) == 1, (key, seen)
            placed[key] = seen.pop()
        assert set(placed.values()) == {"one", "two"}  # sessions spread over replicas
        # A call without a session (no thread) has an empty key: round robin.
        assert {replica_for(None) for _ in range(4)} == {"one", "two"}

        # A replica that goes away: its sessions move, the others stay where they were.
        stop(replicas[0])
        for key, where in placed.items():
            assert replica_for(key) == ("two" if where == "one" else where)


# --- docker compose, where it is installed ---------------------------------------------------


@pytest.fixture
def docker_compose() -> list[str]:
    for command in (["docker", "compose"], ["docker-compose"]):
        if not shutil.which(command[0]):
            continue
        done = subprocess.run(
            [*command, "version"], capture_output=True, text=True, timeout=30, check=False
        )
        if done.returncode == 0 and re.search(r"version v?2\.", done.stdout):
            return command
    pytest.skip("Docker Compose v2 is not installed (it needs no engine for `config`)")


def test_compose_resolves_every_profile(docker_compose: list[str], tmp_path: Path) -> None:
    for name in ("compose.yaml", "nginx.conf"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    env = ENV_EXAMPLE.read_text().replace("\nPOSTGRES_PASSWORD=\n", "\nPOSTGRES_PASSWORD=x1\n")
    (tmp_path / "emostage.env").write_text(env)
    expected = {
        "ollama": {"ollama", "ollama-pull"},
        "vllm": {"vllm"},
        "vllm-replicas": {"vllm-replica-1", "vllm-replica-2", "model-lb"},
        "ollama-replicas": {"ollama-replica-1", "ollama-replica-2", "ollama-replicas-pull"}
        | {"model-lb"},
    }
    base = [*docker_compose, "--project-directory", str(tmp_path), "-f", "compose.yaml"]
    base += ["--env-file", "emostage.env"]
    for profile, members in expected.items():
        done = subprocess.run(
            [*base, "--profile", profile, "config", "--format", "json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        resolved = json.loads(done.stdout)
        assert set(resolved["services"]) == {"postgres", "redis", "api"} | members
        uri = resolved["services"]["api"]["environment"]["DATABASE_URI"]
        assert uri == "postgres://emostage:x1@postgres:5432/emostage?sslmode=disable"
    (tmp_path / "emostage.env").write_text(ENV_EXAMPLE.read_text())  # no password
    done = subprocess.run(
        [*base, "--profile", "vllm", "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "set POSTGRES_PASSWORD in emostage.env" in done.stderr
