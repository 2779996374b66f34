"""The deployment files in deploy/ agree with the code, with each other and with the README.

No network and no Docker daemon: the files are parsed (YAML, a small Dockerfile reader,
configparser for the systemd unit) and their commands run through the real argument parser.
"""

from __future__ import annotations

import base64
import configparser
import json
import re
import shlex
import tomllib
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from adapters.cli import _parser
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
README = (ROOT / "README.md").read_text()
ENV_EXAMPLE = (DEPLOY / ".env.example").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SCRIPTS = PYPROJECT["project"]["scripts"]
YAML_FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))
#: A variable of ours, as written in a file: ``SLACK_BOT_TOKEN``, ``ADVISOR_OPS_PORT``...
VARIABLE = re.compile(r"\b(?:SLACK|DISCORD|ADVISOR)_[A-Z0-9_]*[A-Z0-9]\b")
#: What a real secret looks like: Slack tokens, a 32-hex signing secret, a Discord bot token.
TOKEN_LIKE = re.compile(
    r"xox[abposr]-\d|xapp-\d|\b[0-9a-f]{32}\b|[\w-]{23,28}\.[\w-]{6,7}\.[\w-]{27,}"
)
_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
#: A setting in deploy/.env.example: commented out, ``# NAME=value``.
SETTING = re.compile(r"^# ([A-Z][A-Z0-9_]+)=(.*)$", re.M)
#: Settings whose line in .env.example shows an example, not the default: the default is
#: computed (paths), empty (tokens, URLs) or a mode (one Discord connection).
EXAMPLE_NOT_DEFAULT = {
    "ADVISOR_KNOWLEDGE_DIR",
    "ADVISOR_SEEDS_DIR",
    "ADVISOR_CACHE_DIR",
    "ADVISOR_REDIS_URL",
    "ADVISOR_DB",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "DISCORD_TOKEN",
    "DISCORD_GUILD_ID",
    "ADVISOR_DISCORD_API_BASE",
    "ADVISOR_DISCORD_GATEWAY",
    "ADVISOR_DISCORD_SHARDS",
}


def _example_value(name: str) -> str:
    match = re.search(rf"^# {name}=(.*)$", ENV_EXAMPLE, re.M)
    assert match, f"{name} missing from deploy/.env.example"
    return match.group(1).strip()


OPS_PORT = int(_example_value("ADVISOR_OPS_PORT"))
HTTP_PORT = int(_example_value("ADVISOR_HTTP_PORT"))


def _seconds(text: str | int) -> float:
    """``15s``, ``1m30s``, ``20`` (seconds) -> seconds."""
    if isinstance(text, int) or str(text).isdecimal():
        return float(text)
    parts = re.findall(r"(\d+)(ms|h|m|s)", str(text))
    assert parts, text
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(int(n) * scale[unit] for n, unit in parts)


def _memory(text: str) -> int:
    """A Kubernetes quantity such as ``256Mi`` -> bytes."""
    match = re.fullmatch(r"(\d+)([KMG]i?)?", text)
    assert match, text
    number, unit = match.groups()
    return int(number) * (_MEMORY_UNITS[unit] if unit else 1)


# --------------------------------------------------------------------------- YAML


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_loads(path: Path) -> None:
    documents = list(yaml.safe_load_all(path.read_text()))
    assert documents and all(isinstance(d, dict) for d in documents)


def test_the_deploy_yaml_files_are_there() -> None:
    names = {str(p.relative_to(DEPLOY)) for p in YAML_FILES}
    assert {
        "compose.yaml",
        "k8s/deployment.yaml",
        "k8s/service.yaml",
        "k8s/secret.example.yaml",
        "k8s/redis.yaml",
    } <= names


# --------------------------------------------------------------------------- Dockerfile


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuations joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = _instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def _env(steps: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in steps:
        if word == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def _exec_form(word: str) -> list[str]:
    [rest] = [rest for w, rest in _final_stage() if w == word]
    value = json.loads(rest)  # shell form ("advisor serve") is not JSON: fails here
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), rest
    return value


def test_the_image_is_slim_and_runs_as_a_user_that_is_not_root() -> None:
    steps = _instructions()
    stages = {rest.split()[-1] for word, rest in steps if word == "FROM" and " AS " in rest.upper()}
    for word, rest in steps:
        if word == "FROM":
            image = rest.split()[0]
            assert image in stages or re.fullmatch(r"python:3\.1[1-9]-slim", image), image
    final = _final_stage()
    words = [word for word, _ in final]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "no USER in the final stage"
    assert users[-1].split(":")[0] not in ("root", "0")
    assert max(i for i, w in enumerate(words) if w == "USER") < words.index("ENTRYPOINT")


def test_the_image_bakes_validated_knowledge() -> None:
    final = _final_stage()
    copies = [
        (i, shlex.split(rest))
        for i, (word, rest) in enumerate(final)
        if word == "COPY" and not rest.startswith("--from")
    ]
    [(at, args)] = [(i, a) for i, a in copies if a[0].rstrip("/") == "knowledge"]
    destination = args[-1].rstrip("/")
    assert _env(final)["ADVISOR_KNOWLEDGE_DIR"] == destination
    checks = [
        i for i, (word, rest) in enumerate(final) if word == "RUN" and "check-knowledge" in rest
    ]
    assert checks and checks[0] > at, "check-knowledge must run after knowledge/ is copied"
    cache = _env(final)["ADVISOR_CACHE_DIR"]
    assert cache == "off" or cache.startswith("/")
    assert _env(final)["ADVISOR_DB"].startswith("/")


def test_everything_the_image_copies_is_in_the_build_context() -> None:
    rules = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    for word, rest in _instructions():
        if word == "COPY" and not rest.startswith("--from"):
            for source in shlex.split(rest)[:-1]:
                assert (ROOT / source).exists(), source
                assert "*" not in rules or source.rstrip("/") in allowed, source


def test_the_entrypoint_runs_advisor_serve() -> None:
    entrypoint, command = _exec_form("ENTRYPOINT"), _exec_form("CMD")
    assert entrypoint[0] in SCRIPTS
    assert _parser().parse_args(entrypoint[1:] + command).command == "serve"
    final = dict(_final_stage())
    assert final["STOPSIGNAL"] == "SIGTERM"
    assert {int(p) for p in final["EXPOSE"].split()} == {HTTP_PORT, OPS_PORT}


def test_the_healthcheck_asks_healthz_without_curl() -> None:
    [check] = [rest for word, rest in _final_stage() if word == "HEALTHCHECK"]
    assert "/healthz" in check and str(OPS_PORT) in check
    command = json.loads(check[check.index("CMD") + 3 :])
    assert command[0].startswith("python") and "urllib" in command[-1]


def test_pip_install_ships_every_package_the_image_runs() -> None:
    """The image installs with ``pip install .``; a subpackage setuptools leaves out (say
    adapters.slack) would pass every test in the editable dev install and fail in the image."""
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("bot", "adapters")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert {"bot", "adapters", "adapters.slack", "adapters.discord"} <= found
    packages = PYPROJECT["tool"]["setuptools"].get("packages")
    assert packages, "set [tool.setuptools] packages (or packages.find) in pyproject.toml"
    if isinstance(packages, list):
        shipped = set(packages)
    else:
        find = packages["find"]
        assert find.get("where", ["."]) == ["."], "packages.find with another root: update me"
        shipped = {
            name
            for name in found
            if any(fnmatch(name, pat) for pat in find.get("include", ["*"]))
            and not any(fnmatch(name, pat) for pat in find.get("exclude", []))
        }
    assert sorted(found - shipped) == []


# --------------------------------------------------------------------------- compose


def _environment(value: dict[str, Any] | list[str]) -> dict[str, str]:
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items()}
    return dict(item.partition("=")[::2] for item in value)


def _container_ports(ports: list[str | int | dict[str, Any]]) -> set[int]:
    out = set()
    for port in ports:
        out.add(int(port["target"]) if isinstance(port, dict) else int(str(port).split(":")[-1]))
    return out


def test_compose_runs_the_advisor_with_a_healthy_redis() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"advisor", "redis"} <= services.keys()
    advisor, redis = services["advisor"], services["redis"]
    context = DEPLOY / advisor["build"]["context"]
    assert context.resolve() == ROOT
    assert (context / advisor["build"]["dockerfile"]).resolve() == DOCKERFILE
    url = urlsplit(_environment(advisor["environment"])["ADVISOR_REDIS_URL"])
    assert url.scheme == "redis" and url.hostname == "redis"
    assert advisor["depends_on"]["redis"]["condition"] == "service_healthy"
    assert advisor["restart"] == "unless-stopped"
    assert _seconds(advisor["stop_grace_period"]) > 10
    assert _container_ports(advisor["ports"]) == {HTTP_PORT, OPS_PORT}
    assert advisor["env_file"] in (".env", [".env"])
    test = redis["healthcheck"]["test"]
    assert "redis-cli ping" in (" ".join(test) if isinstance(test, list) else test)
    assert redis["image"].split(":")[0] == "redis"


def test_compose_pins_the_image_paths_an_env_file_could_blank() -> None:
    environment = _environment(
        yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["advisor"]["environment"]
    )
    image = _env(_final_stage())
    for name in ("ADVISOR_KNOWLEDGE_DIR", "ADVISOR_CACHE_DIR", "ADVISOR_DB"):
        assert environment[name] == image[name], name


# --------------------------------------------------------------------------- Kubernetes


def _k8s() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def _one(kind: str, name: str) -> dict[str, Any]:
    [obj] = [o for o in _k8s() if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def _advisor() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(Deployment, pod spec, the advisor container)."""
    deployment = _one("Deployment", "framework-advisor")
    pod = deployment["spec"]["template"]["spec"]
    [container] = [c for c in pod["containers"] if c["name"] == "advisor"]
    return deployment, pod, container


def _port(container: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    [number] = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return int(number)


def test_the_deployment_runs_two_replicas_with_probes_on_the_ops_port() -> None:
    deployment, pod, container = _advisor()
    assert deployment["spec"]["replicas"] == 2
    env = {e["name"]: e for e in container["env"]}
    ops_port = int(env["ADVISOR_OPS_PORT"]["value"]) if "ADVISOR_OPS_PORT" in env else 8080
    ready, live = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
    assert ready["path"] == "/readyz" and _port(container, ready["port"]) == ops_port
    assert live["path"] == "/healthz" and _port(container, live["port"]) == ops_port
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ops_port
    assert pod["terminationGracePeriodSeconds"] >= 15
    assert "command" not in container, "keep the image's ENTRYPOINT (advisor)"
    assert _parser().parse_args(container["args"]).command == "serve"


def test_the_deployment_is_non_root_and_bounded() -> None:
    _, pod, container = _advisor()
    context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    assert context["runAsNonRoot"] is True
    assert context.get("runAsUser", 1) != 0
    resources = container["resources"]
    assert resources["requests"]["memory"]
    assert 128 * 2**20 <= _memory(resources["limits"]["memory"]) <= 512 * 2**20


def test_the_deployment_takes_slack_secrets_from_the_secret_and_shares_redis() -> None:
    _, _, container = _advisor()
    env = {e["name"]: e for e in container["env"]}
    secret = _one("Secret", "framework-advisor")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
    # HTTP mode, and no Discord gateway session per Slack replica (each would answer).
    assert "SLACK_APP_TOKEN" not in env and "DISCORD_TOKEN" not in env
    url = urlsplit(env["ADVISOR_REDIS_URL"]["value"])
    service = _one("Service", url.hostname or "")
    redis = _one("Deployment", url.hostname or "")
    assert redis["spec"]["replicas"] == 1
    assert _selects(service["spec"]["selector"], redis["spec"]["template"]["metadata"]["labels"])
    assert url.port in {p["port"] for p in service["spec"]["ports"]}


def _redis_size(text: str) -> int:
    """A redis.conf size such as ``192mb`` -> bytes (``mb`` is 1024², ``m`` is 10⁶)."""
    match = re.fullmatch(r"(\d+)(kb|mb|gb|k|m|g)?", text.lower())
    assert match, text
    number, unit = match.groups()
    scale = {"k": 10**3, "m": 10**6, "g": 10**9, "kb": 2**10, "mb": 2**20, "gb": 2**30}
    return int(number) * (scale[unit] if unit else 1)


def test_redis_keeps_its_append_only_file_on_a_persistent_volume() -> None:
    """Sessions, owed replies and retry ids outlive the Redis pod, on any node."""
    redis = _one("Deployment", "framework-advisor-redis")
    pod = redis["spec"]["template"]["spec"]
    [container] = pod["containers"]
    program, *args = container["args"]
    assert program == "redis-server"
    option = dict(zip(args[::2], args[1::2], strict=True))
    assert option["--appendonly"] == "yes"
    assert option["--appendfsync"] in ("everysec", "always")
    assert option.get("--dir", "/data") == "/data", "the redis image's working directory"
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/data"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert "emptyDir" not in volume, "an emptyDir dies with the pod"
    claim = _one("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert redis["spec"]["strategy"]["type"] == "Recreate", "the old pod lets go of the volume"
    # An AOF rewrite writes the new file beside the old one: room for the data twice over.
    storage = _memory(claim["spec"]["resources"]["requests"]["storage"])
    assert storage >= 2 * _redis_size(option["--maxmemory"])


def test_the_service_sends_port_80_to_slack_and_keeps_the_ops_port() -> None:
    deployment, _, container = _advisor()
    service = _one("Service", "framework-advisor")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert _selects(service["spec"]["selector"], pod_labels)
    targets = {p["port"]: _port(container, p["targetPort"]) for p in service["spec"]["ports"]}
    assert targets[80] == HTTP_PORT
    assert OPS_PORT in targets.values()
    redis_labels = _one("Deployment", "framework-advisor-redis")["spec"]["template"]["metadata"]
    assert not _selects(service["spec"]["selector"], redis_labels["labels"])


def test_the_secret_template_holds_placeholders_only() -> None:
    secret = _one("Secret", "framework-advisor")
    values = dict(secret.get("stringData", {}))
    values.update({k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()})
    assert values
    for name, value in values.items():
        assert "REPLACE-ME" in value and not TOKEN_LIKE.search(value), name


def test_no_file_in_deploy_or_the_readme_holds_a_real_looking_token() -> None:
    texts = {
        str(p.relative_to(ROOT)): p.read_text()
        for p in DEPLOY.rglob("*")
        if p.is_file() and p.name != ".env"
    }
    texts["README.md"] = README
    for name, text in texts.items():
        assert not TOKEN_LIKE.search(text), name


@pytest.mark.parametrize(
    "value",
    [
        "xox" + "b-1234567890-1234567890-abcdefghijklmnopqrstuvwx",  # split: no scanner alarms
        "xapp-1-A0123456789-0123456789-abcdef",
        "0123456789abcdef" * 2,
        "M" + "x" * 25 + ".Gy" + "y" * 4 + "." + "z" * 30,
    ],
)
def test_the_token_pattern_catches_real_looking_values(value: str) -> None:
    assert TOKEN_LIKE.search(value)


# --------------------------------------------------------------------------- systemd


def test_the_systemd_unit_runs_advisor_serve_and_stops_in_time() -> None:
    text = (DEPLOY / "systemd" / "framework-advisor.service").read_text()
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keep the case
    unit.read_string(text)
    service = unit["Service"]
    assert service["ExecStart"].endswith("advisor serve")
    program, *args = shlex.split(service["ExecStart"])
    assert program.startswith("/") and Path(program).name in SCRIPTS
    assert _parser().parse_args(args).command == "serve"
    assert service["KillSignal"] == "SIGTERM"
    assert _seconds(service["TimeoutStopSec"]) > 10
    assert service["Restart"] == "on-failure"
    assert service["User"] not in ("root", "0") and service["EnvironmentFile"].startswith("/")
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "yes"
    # configparser keeps only the last of repeated keys: read Environment= lines directly.
    env = dict(
        item.partition("=")[::2]
        for line in re.findall(r"^Environment=(.+)$", text, re.M)
        for item in shlex.split(line)
    )
    assert env["ADVISOR_DB"].startswith(f"/var/lib/{service['StateDirectory']}/")
    assert unit["Install"]["WantedBy"] == "multi-user.target"


# --------------------------------------------------------------------------- variables


def test_every_variable_in_deploy_files_and_readme_is_in_env_example() -> None:
    texts = [
        p.read_text()
        for p in [*DEPLOY.rglob("*"), ROOT / ".dockerignore"]
        if p.is_file() and p.name not in (".env", ".env.example")
    ]
    names = set(VARIABLE.findall("\n".join([*texts, README])))
    assert {"ADVISOR_REDIS_URL", "ADVISOR_OPS_PORT", "SLACK_SIGNING_SECRET"} <= names
    settings = {name for name, _ in SETTING.findall(ENV_EXAMPLE)}
    assert sorted(names - settings) == []


def test_every_variable_in_env_example_is_in_the_readme_table() -> None:
    section = README[README.index("## Configuration") :]
    section = section[: section.index("\n## ")]
    names = [name for name, _ in SETTING.findall(ENV_EXAMPLE)]
    assert {"ADVISOR_STORE", "ADVISOR_LOG_FORMAT", "ADVISOR_DISCORD_SHARDS"} <= set(names)
    missing = [n for n in names if not re.search(rf"^\|.*`{n}`", section, re.M)]
    assert missing == []


def test_env_example_sets_nothing_so_an_env_file_blanks_nothing() -> None:
    """``docker run --env-file`` and compose's ``env_file`` set an uncommented ``NAME=`` to
    empty, replacing the image's value: every setting stays commented out, once each."""
    for line in ENV_EXAMPLE.splitlines():
        assert not line.strip() or line.startswith("#"), line
    names = [name for name, _ in SETTING.findall(ENV_EXAMPLE)]
    assert len(names) == len(set(names)) >= 20
    assert not re.search(r"^#\s*[A-Z][A-Z0-9_]+=\s*$", ENV_EXAMPLE, re.M), "show a value"


def test_env_example_shows_each_default_or_a_valid_example() -> None:
    """Uncommenting a line as it stands is accepted, and changes nothing unless the line is an
    example (:data:`EXAMPLE_NOT_DEFAULT`): the values shown are the code's defaults."""
    defaults = Settings.from_env({})
    settings = dict(SETTING.findall(ENV_EXAMPLE))
    assert EXAMPLE_NOT_DEFAULT <= settings.keys()
    for name, value in settings.items():
        uncommented = Settings.from_env({name: value})  # a ConfigError names the variable
        assert uncommented == defaults or name in EXAMPLE_NOT_DEFAULT, (name, value)
    shown = {n: v for n, v in settings.items() if n not in EXAMPLE_NOT_DEFAULT}
    assert {"ADVISOR_OPS_PORT", "ADVISOR_HTTP_PORT", "ADVISOR_SESSION_TTL"} <= shown.keys()


def test_env_example_says_what_each_deploy_must_set() -> None:
    header = ENV_EXAMPLE[: ENV_EXAMPLE.index("\n\n# ")]
    must = {
        "Slack, HTTP mode": {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"},
        "Slack, Socket Mode": {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"},
        "Discord": {"DISCORD_TOKEN"},
    }
    for mode, names in must.items():
        [line] = [line for line in header.splitlines() if line.startswith(f"#   {mode}:")]
        assert set(VARIABLE.findall(line)) == names, line
    assert "bot.knowledge_data" in ENV_EXAMPLE and "source tree" not in ENV_EXAMPLE
