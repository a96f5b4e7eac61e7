"""The deployment files in deploy/, each checked in this process by the library that reads it.

- langgraph.json: langgraph-cli's own validation, and the graph it names;
- compose.yaml: its `${VAR}`s against emostage.env.example, its services and profiles;
- emostage.env.example: only names that EmoStage or LangGraph Server read, with values
  EmoStage's own parser accepts;
- nginx.conf: crossplane, nginx's config parser.

(The tools as processes, nginx live and `docker compose config`:
tests/integration/test_deploy.py.)
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import crossplane
import pytest
import yaml
from langgraph.graph.state import CompiledStateGraph
from langgraph_cli.config import get_unknown_keys, validate_config_file
from packaging.requirements import Requirement

from emostage.context import Context
from emostage.models.deadline import SESSION_HEADER

from ..conftest import DEPLOY, ROOT

CONFIG = DEPLOY / "langgraph.json"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "emostage.env.example"
NGINX = DEPLOY / "nginx.conf"
PROFILES = ("ollama", "vllm", "vllm-replicas", "ollama-replicas")
REPLICA_PROFILES = ("vllm-replicas", "ollama-replicas")
SECRETS = ("POSTGRES_PASSWORD", "LANGSMITH_API_KEY", "LANGGRAPH_CLOUD_LICENSE_KEY", "HF_TOKEN")
ASSIGNMENT = re.compile(r"^(?P<commented>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
# `${NAME`, but not compose's escaped `$${NAME` (a literal `$` for the container's shell).
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def env_lines() -> list[tuple[int, str, str, bool]]:
    """(line index, name, value, commented out) of each `NAME=value` in the env example."""
    found = []
    for index, line in enumerate(ENV_EXAMPLE.read_text().splitlines()):
        if match := ASSIGNMENT.match(line.strip()):
            commented = match["commented"] is not None
            found.append((index, match["name"], match["value"], commented))
    return found


def env_example() -> dict[str, str]:
    """The settings the env example makes (commented-out lines excluded)."""
    return {name: value for _, name, value, commented in env_lines() if not commented}


def emostage_env_names() -> set[str]:
    """Every environment variable EmoStage reads.

    `Context` declares its fields' variables in their metadata; the served graph
    (emostage/studio.py) and the session store read a few more by name, so the package
    source is searched for `"EMOSTAGE_..."` literals as well.
    """
    declared = {f.metadata["env"] for f in dataclasses.fields(Context) if "env" in f.metadata}
    literals = set()
    for source in (ROOT / "emostage").rglob("*.py"):
        literals |= set(re.findall(r"[\"'](EMOSTAGE_[A-Z0-9_]+)[\"']", source.read_text()))
    return declared | literals


def langgraph_server_env_names() -> set[str]:
    """The variables LangGraph Server's config reads: `env("NAME", ...)`, `getenv("NAME")`.

    Read from the source of the installed langgraph-api (the package the server image
    runs), without importing it: importing it acts on the environment.
    """
    spec = importlib.util.find_spec("langgraph_api")
    assert spec is not None and spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations))) / "config" / "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("env", "getenv"):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def nginx_upstream() -> tuple[str, list[dict[str, Any]]]:
    """The name and directives of the one `upstream` block in nginx.conf."""
    [http_block] = [d for d in nginx_parsed() if d["directive"] == "http"]
    [upstream] = [d for d in http_block["block"] if d["directive"] == "upstream"]
    return upstream["args"][0], upstream["block"]


def nginx_parsed() -> list[dict[str, Any]]:
    result = crossplane.parse(
        str(NGINX), single=True, strict=True, check_ctx=True, check_args=True, comments=False
    )
    assert result["status"] == "ok", result["errors"]
    parsed: list[dict[str, Any]] = result["config"][0]["parsed"]
    return parsed


def nginx_location(path: str) -> dict[str, list[str]]:
    """The directives of `location <path>` in the http server, by name."""
    [http_block] = [d for d in nginx_parsed() if d["directive"] == "http"]
    [server] = [d for d in http_block["block"] if d["directive"] == "server"]
    [location] = [
        d for d in server["block"] if d["directive"] == "location" and d["args"][-1] == path
    ]
    return {d["directive"]: d["args"] for d in location["block"]}


def seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    match = re.fullmatch(r"(\d+)(ms|s|m|h)?", value)
    assert match, value
    return int(match[1]) * units[match[2] or "s"]


# --- langgraph.json ------------------------------------------------------------------


def test_langgraph_json_passes_the_cli_validation() -> None:
    raw = json.loads(CONFIG.read_text())
    config = validate_config_file(CONFIG)
    assert config["python_version"] == "3.11"
    assert config["env"] == "./emostage.env"
    assert ".." in config["dependencies"]  # the package, installed from the repository root
    # "$schema" is for editors (the root langgraph.json has it too); nothing else is unknown.
    assert get_unknown_keys({k: v for k, v in raw.items() if k != "$schema"}) == []


def test_deploy_serves_the_graph_langgraph_dev_serves() -> None:
    def targets(path: Path) -> dict[str, tuple[Path, str]]:
        graphs: dict[str, str] = json.loads(path.read_text())["graphs"]
        return {
            name: ((path.parent / spec.split(":")[0]).resolve(), spec.split(":")[1])
            for name, spec in graphs.items()
        }

    assert targets(CONFIG) == targets(ROOT / "langgraph.json")
    assert set(targets(CONFIG)) == {"emostage"}


def test_the_graph_path_is_an_importable_compiled_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    # The server imports the file with the deployment's settings: use the env example's.
    settings = env_example()
    for name in ("EMOSTAGE_TAXONOMY", "EMOSTAGE_REVIEW", "EMOSTAGE_AUDIENCE"):
        monkeypatch.setenv(name, settings[name])
    spec = json.loads(CONFIG.read_text())["graphs"]["emostage"]
    file, attribute = spec.split(":")
    path = (DEPLOY / file).resolve()
    module_name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    module = importlib.reload(importlib.import_module(module_name))
    assert module.__file__ is not None and Path(module.__file__).samefile(path)
    graph = getattr(module, attribute)
    assert isinstance(graph, CompiledStateGraph)
    turn = {"dialogue": [{"role": "client", "content": "Work is crushing me."}]}
    output = graph.invoke(turn, context={"backend": "scripted"})
    assert output["response"].startswith("(scripted test reply)")


def test_pypi_dependencies_survive_the_dockerfile_shell() -> None:
    # The CLI writes them unquoted into `RUN uv pip install ...`: a `<` or `>` there would be
    # a shell redirection, so bounds are written with `~=`.
    packages = [d for d in json.loads(CONFIG.read_text())["dependencies"] if d != ".."]
    assert packages
    for package in packages:
        assert re.fullmatch(r"[A-Za-z0-9._\-\[\],~=!]+", package), package


def test_the_openai_dependency_allows_what_the_openai_extra_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    [wanted] = [Requirement(r) for r in extras["openai"] if r.startswith("langchain-openai")]
    [given] = [
        Requirement(d)
        for d in json.loads(CONFIG.read_text())["dependencies"]
        if d.startswith("langchain-openai")
    ]
    for version in ("0.3.9", "1.0.0", "1.0.5", "1.9.2", "2.0.0", "2.1"):
        assert (version in given.specifier) == (version in wanted.specifier), version


# --- compose.yaml and emostage.env.example ---------------------------------------------


def test_every_compose_variable_is_set_in_the_env_example() -> None:
    used = set(COMPOSE_VARIABLE.findall(COMPOSE.read_text()))
    assert {"POSTGRES_PASSWORD", "EMOSTAGE_MODEL", "VLLM_MAX_NUM_SEQS"} <= used
    assert used <= set(env_example()), used - set(env_example())


def test_every_env_example_name_is_read_by_something() -> None:
    readers = (
        set(COMPOSE_VARIABLE.findall(COMPOSE.read_text()))
        | emostage_env_names()
        | langgraph_server_env_names()
    )
    names = {name for _, name, _, _ in env_lines()}
    assert names <= readers, names - readers


def test_the_env_example_names_only_settings_emostage_reads() -> None:
    names = {name for _, name, _, _ in env_lines()}
    emostage = {name for name in names if name.startswith("EMOSTAGE_")}
    assert emostage <= emostage_env_names(), emostage - emostage_env_names()
    # EmoStage reads the Ollama address from OLLAMA_HOST (there is no EMOSTAGE_OLLAMA_HOST).
    [ollama] = [f for f in dataclasses.fields(Context) if f.name == "ollama_host"]
    assert ollama.metadata["env"] in names


def test_the_env_example_values_are_accepted_by_emostage(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = env_example()
    for name, value in settings.items():
        if name.startswith("EMOSTAGE_") or name == "OLLAMA_HOST":
            monkeypatch.setenv(name, value)
    context = Context()  # EmoStage's own parsing and checks of every field
    assert context.backend == settings["EMOSTAGE_BACKEND"] == "openai"
    assert context.base_url == settings["EMOSTAGE_BASE_URL"]
    assert context.model == settings["EMOSTAGE_MODEL"]
    assert context.request_timeout_s == float(settings["EMOSTAGE_TIMEOUT"])
    assert context.analysis_model is None  # empty means the default
    assert context.allow_tracing is False


def test_every_env_example_setting_has_its_comment() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    settings = [(index, name) for index, name, _, commented in env_lines() if not commented]
    assert len(settings) >= 30
    for index, name in settings:
        assert lines[index - 1].startswith("# "), f"{name} has no comment line above it"


def test_no_secret_is_written_down() -> None:
    settings = env_example()
    assert {name: settings[name] for name in SECRETS} == dict.fromkeys(SECRETS, "")
    # The password appears only as a required variable; compose stops when it is unset.
    code = "\n".join(re.sub(r"(^|\s)#.*", "", line) for line in COMPOSE.read_text().splitlines())
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", code)
    assert len(uses) == 2 and all(use.startswith(":?") for use in uses), uses
    password = services()["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert password == "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in emostage.env}"
    assert "emostage.env" in (DEPLOY / ".gitignore").read_text().splitlines()


def test_tracing_stays_off() -> None:
    assert env_example()["LANGSMITH_TRACING"] == "false"
    assert env_example()["EMOSTAGE_ALLOW_TRACING"] == "0"
    # `environment` wins over `env_file` in compose: an edited env file cannot turn it on.
    assert services()["api"]["environment"]["LANGSMITH_TRACING"] == "false"


def test_the_api_gets_what_langgraph_server_needs() -> None:
    api = services()["api"]
    assert {"DATABASE_URI", "REDIS_URI"} <= set(api["environment"])
    assert {"DATABASE_URI", "REDIS_URI", "N_JOBS_PER_WORKER"} <= langgraph_server_env_names()
    assert api["environment"]["DATABASE_URI"].startswith("postgres://")
    assert api["env_file"] == ["emostage.env"]
    # Published on loopback unless the operator says otherwise: the server has no auth.
    assert api["ports"] == ["${API_BIND:-127.0.0.1}:${API_PORT:-8123}:8000"]
    assert env_example()["API_BIND"] == "127.0.0.1"


def test_profiles_choose_one_model_server_and_the_api_waits_for_it() -> None:
    everything = services()
    core = {name for name, body in everything.items() if "profiles" not in body}
    assert core == {"postgres", "redis", "api"}
    needs = everything["api"]["depends_on"]
    for name in core - {"api"}:
        assert needs[name] == {"condition": "service_healthy"}
    for profile in PROFILES:
        members = {n for n, body in everything.items() if profile in body.get("profiles", [])}
        endpoint = members & set(needs)
        assert endpoint, profile
        if profile in REPLICA_PROFILES:
            assert "model-lb" in endpoint
    for name, need in needs.items():
        if name not in core:
            # Absent from the other profiles: compose must not require it there.
            assert need["required"] is False, name


def test_services_have_healthchecks_and_declared_volumes() -> None:
    everything = compose()
    for name, body in everything["services"].items():
        if body.get("restart") != "no":  # the one-shot pull jobs exit when done
            assert body["healthcheck"]["test"], name
        for volume in body.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), name
            else:
                assert source in everything["volumes"], (name, source)


def test_vllm_keeps_prefix_caching_and_bounded_slots() -> None:
    vllms = {n: b for n, b in services().items() if "vllm" in b["image"]}
    assert set(vllms) == {"vllm", "vllm-replica-1", "vllm-replica-2"}
    for body in vllms.values():
        command = body["command"]
        assert command[0].startswith("${EMOSTAGE_MODEL")  # positional: `vllm serve MODEL`
        assert "--enable-prefix-caching" in command
        assert "--max-num-seqs=${VLLM_MAX_NUM_SEQS:-64}" in command
        assert "--port=8000" in command


def test_replica_aliases_are_the_nginx_upstream_servers() -> None:
    _, upstream = nginx_upstream()
    servers = {d["args"][0] for d in upstream if d["directive"] == "server"}
    for profile in REPLICA_PROFILES:
        replicas = {
            name: body
            for name, body in services().items()
            if profile in body.get("profiles", []) and "networks" in body
        }
        aliases = {
            f"{alias}:8000"
            for body in replicas.values()
            for alias in body["networks"]["default"]["aliases"]
        }
        assert aliases == servers, profile
        for body in replicas.values():  # and each replica listens on that port
            listens = [*body.get("command", []), body.get("environment", {}).get("OLLAMA_HOST")]
            assert "--port=8000" in listens or "0.0.0.0:8000" in listens
    lb = services()["model-lb"]
    assert set(lb["profiles"]) == set(REPLICA_PROFILES)
    assert lb["volumes"] == ["./nginx.conf:/etc/nginx/nginx.conf:ro"]


# --- nginx.conf --------------------------------------------------------------------------


def test_nginx_hashes_on_the_session_header_emostage_sends() -> None:
    name, upstream = nginx_upstream()
    header = "$http_" + SESSION_HEADER.lower().replace("-", "_")
    [hashing] = [d["args"] for d in upstream if d["directive"] == "hash"]
    assert hashing == [header, "consistent"]
    assert len([d for d in upstream if d["directive"] == "server"]) >= 2
    proxy = nginx_location("/")
    assert proxy["proxy_pass"] == [f"http://{name}"]
    assert proxy["proxy_http_version"] == ["1.1"]
    assert proxy["proxy_buffering"] == ["off"]
    # EmoStage's own per-call deadline must end a slow call before nginx does.
    assert seconds(proxy["proxy_read_timeout"][0]) > Context().request_timeout_s
