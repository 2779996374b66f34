"""What a plain `pip install` gets, offline: the sdist and the wheel carry knowledge/, the
installed `advisor` answers from any directory, its knowledge cache trusts only files this
install wrote, and ./run and ./test share one venv without reinstalling each other's.

The build uses the setuptools of the running venv (the `test` extra requires setuptools>=77),
and the wheel goes into a fresh venv that sees this venv's packages but not its editable
install of framework-advisor: nothing is downloaded.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
import yaml

import bot.knowledge
from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge import KnowledgeBase, load
from tests.conftest import ROOT

#: What the sdist is built from: the files a `pip install .` of a clone needs.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "bot", "adapters", "knowledge")
VERSION = "0.1.0"


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: nothing that points back at this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    return {**env, **extra}


def _run(args: list[str | Path], cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_clean_env(**extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _build(hook: str, source: Path, out: Path) -> Path:
    """Call setuptools' PEP 517 ``hook`` (build_sdist or build_wheel) in ``source``."""
    code = f"from setuptools import build_meta as b; print(b.{hook}({str(out)!r}))"
    done = _run([sys.executable, "-c", code], source)
    assert done.returncode == 0, done.stderr[-3000:]
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel): the sdist built from a copy of the checkout, the wheel from the sdist
    (as `python -m build` does), so the wheel shows what the sdist carries."""
    have = metadata.version("setuptools")
    if int(have.split(".")[0]) < 77:
        pytest.fail(f"setuptools {have} is older than 77 (PEP 639 license); run ./test to update")
    tmp = tmp_path_factory.mktemp("build")
    source, out = tmp / "checkout", tmp / "dist"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    sdist = _build("build_sdist", source, out)
    with tarfile.open(sdist) as tar:
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(tmp / "unpacked", **safe)
    [unpacked] = (tmp / "unpacked").iterdir()
    return sdist, _build("build_wheel", unpacked, out)


def _knowledge_files() -> list[str]:
    """Every file of knowledge/ as a path relative to it, e.g. ``frameworks/flask.yaml``."""
    return sorted(
        p.relative_to(ROOT / "knowledge").as_posix()
        for p in (ROOT / "knowledge").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_the_sdist_carries_knowledge_and_license(dists: tuple[Path, Path]) -> None:
    sdist, _ = dists
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {f"knowledge/{f}" for f in _knowledge_files()} <= names
    assert {"LICENSE", "pyproject.toml", "README.md", "bot/knowledge.py"} <= names


def test_the_wheel_carries_every_package_the_knowledge_and_the_license(
    dists: tuple[Path, Path],
) -> None:
    _, wheel = dists
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        meta = whl.read(f"framework_advisor-{VERSION}.dist-info/METADATA").decode()
    code = {
        p.relative_to(ROOT).as_posix()
        for top in ("bot", "adapters")
        for p in (ROOT / top).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    missing = sorted(code - names)
    assert not missing, f"add their packages to [tool.setuptools] packages: {missing}"
    assert {f"bot/knowledge_data/{f}" for f in _knowledge_files()} <= names
    assert f"framework_advisor-{VERSION}.dist-info/licenses/LICENSE" in names
    assert "License-Expression: MIT" in meta.splitlines()
    assert "Copyright (c) 2026 framework-advisor maintainers" in (ROOT / "LICENSE").read_text()


@pytest.fixture(scope="module")
def installed(dists: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed; it sees this venv's packages (the dependencies)
    through a .pth file that names a copy of site-packages made of links, without this
    checkout's editable install. Returns the venv's folder."""
    tmp = tmp_path_factory.mktemp("install")
    venv, deps = tmp / "venv", tmp / "deps"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv], tmp)
    assert made.returncode == 0, made.stderr
    deps.mkdir()
    seen = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    for folder in map(Path, sorted(seen)):
        for entry in folder.iterdir():
            skip = entry.name in ("bot", "adapters") or entry.name.startswith(
                ("__editable__", "framework_advisor")
            )
            if not skip and not (deps / entry.name).exists():
                (deps / entry.name).symlink_to(entry)
    python = venv / "bin" / "python"
    ask_purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    purelib = Path(_run([python, "-c", ask_purelib], tmp).stdout.strip())
    (purelib / "zz_framework_advisor_test_deps.pth").write_text(f"{deps}\n")
    pip = [python, "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir"]
    done = _run([*pip, "--disable-pip-version-check", "-q", dists[1]], tmp)
    assert done.returncode == 0, done.stderr
    return venv


def test_the_installed_advisor_answers_from_any_directory(installed: Path, tmp_path: Path) -> None:
    advisor = installed / "bin" / "advisor"
    where = _run(
        [
            installed / "bin" / "python",
            "-c",
            "import bot.config as c; print(c.DEFAULT_KNOWLEDGE_DIR)",
        ],
        tmp_path,
    )
    assert Path(where.stdout.strip()).is_relative_to(installed), where.stdout + where.stderr
    cache = tmp_path / "cache"
    env = {"ADVISOR_CACHE_DIR": str(cache), "ADVISOR_DB": str(tmp_path / "s.sqlite3")}
    for _ in range(2):  # the second answer comes from the cache the first one wrote
        out = _run([advisor, "ask", "flask vs django"], tmp_path, **env)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("Flask vs Django") and out.stderr == ""
    sources = {
        s["id"] for s in yaml.safe_load((ROOT / "knowledge/sources.yaml").read_text())["sources"]
    }
    cited = set(re.findall(r"^\s*\[([\w-]+)\]", out.stdout, re.MULTILINE))
    assert cited and cited <= sources
    assert len(list(cache.glob("kb-*.pickle"))) == 1
    version = _run([advisor, "--version"], tmp_path)
    assert (version.returncode, version.stdout) == (0, f"advisor {VERSION}\n")


def test_a_missing_knowledge_directory_names_the_variable(installed: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    out = _run(
        [installed / "bin" / "advisor", "ask", "flask"],
        tmp_path,
        ADVISOR_KNOWLEDGE_DIR=str(missing),
        ADVISOR_CACHE_DIR="off",
    )
    assert out.returncode == 2 and out.stdout == ""
    assert str(missing) in out.stderr and "ADVISOR_KNOWLEDGE_DIR" in out.stderr


# --------------------------------------------------------------------------- the cache


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each time :func:`bot.knowledge.load` validates instead of using its cache."""
    calls: list[str] = []
    real = bot.knowledge._validate_and_build

    def counted(*args: object, **kwargs: object) -> KnowledgeBase:
        calls.append("build")
        return real(*args, **kwargs)

    monkeypatch.setattr(bot.knowledge, "_validate_and_build", counted)
    return calls


def _warm(cache: Path, builds: list[str]) -> Path:
    """Fill ``cache`` and check that the next load uses it; returns the cache file."""
    load(DEFAULT_KNOWLEDGE_DIR, cache_dir=cache)
    load(DEFAULT_KNOWLEDGE_DIR, cache_dir=cache)
    assert builds == ["build"]
    builds.clear()
    [path] = cache.glob("kb-*.pickle")
    return path


def test_the_cache_folder_key_and_files_are_private(tmp_path: Path, builds: list[str]) -> None:
    cache = tmp_path / "made" / "cache"
    path = _warm(cache, builds)
    mode = {p.name: p.stat().st_mode & 0o777 for p in (cache, cache / "cache.key", path)}
    assert mode == {"cache": 0o700, "cache.key": 0o600, path.name: 0o600}
    assert len((cache / "cache.key").read_bytes()) == 32


def test_a_folder_others_can_write_is_neither_read_nor_written(
    tmp_path: Path, builds: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "cache"
    path = _warm(cache, builds)
    cache.chmod(0o777)
    path.unlink()
    with caplog.at_level(logging.WARNING, "bot.knowledge"):
        load(DEFAULT_KNOWLEDGE_DIR, cache_dir=cache)
    assert builds == ["build"] and not path.exists()
    assert "chmod 700" in caplog.text and "0777" in caplog.text


def _group_writable(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path.chmod(0o664)


def _a_link(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = path.with_name("elsewhere")
    path.rename(elsewhere)
    path.symlink_to(elsewhere)


def _another_user(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The running user looks like someone else, so the whole cache belongs to another user."""
    uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: uid + 1)


@pytest.mark.parametrize("plant", [_group_writable, _a_link, _another_user])
def test_a_cache_file_that_is_not_private_is_not_loaded(
    tmp_path: Path,
    builds: list[str],
    monkeypatch: pytest.MonkeyPatch,
    plant: Callable[[Path, pytest.MonkeyPatch], None],
) -> None:
    path = _warm(tmp_path / "cache", builds)
    plant(path, monkeypatch)
    load(DEFAULT_KNOWLEDGE_DIR, cache_dir=tmp_path / "cache")
    assert builds == ["build"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")
def test_a_cache_file_owned_by_another_user_is_not_loaded(
    tmp_path: Path, builds: list[str]
) -> None:
    path = _warm(tmp_path / "cache", builds)
    os.chown(path, 4242, 4242)
    load(DEFAULT_KNOWLEDGE_DIR, cache_dir=tmp_path / "cache")
    assert builds == ["build"]


def test_a_key_others_can_read_disables_the_cache(tmp_path: Path, builds: list[str]) -> None:
    _warm(tmp_path / "cache", builds)
    (tmp_path / "cache" / "cache.key").chmod(0o644)
    load(DEFAULT_KNOWLEDGE_DIR, cache_dir=tmp_path / "cache")
    assert builds == ["build"]


class _Planted:
    """Unpickling this creates ``marker``: proof that a planted pickle ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def test_a_tampered_cache_is_not_loaded(
    tmp_path: Path, builds: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = _warm(tmp_path / "cache", builds)
    signed = path.read_bytes()
    start = len(bot.knowledge._CACHE_TAG) + 32
    marker = tmp_path / "ran"
    planted = {
        "a flipped byte": signed[:-1] + bytes([signed[-1] ^ 1]),
        "code, under the old signature": signed[:start] + pickle.dumps(_Planted(marker)),
        "code, signed with another key": bot.knowledge._CACHE_TAG
        + bot.knowledge._signature(b"k" * 32, path.name, pickle.dumps(_Planted(marker)))
        + pickle.dumps(_Planted(marker)),
        "a bare pickle": pickle.dumps(_Planted(marker)),
    }
    for what, data in planted.items():
        path.write_bytes(data)
        path.chmod(0o600)
        with caplog.at_level(logging.WARNING, "bot.knowledge"):
            load(DEFAULT_KNOWLEDGE_DIR, cache_dir=tmp_path / "cache")
        assert not marker.exists(), what
        assert "not signed by this install" in caplog.text, what
        caplog.clear()
        load(DEFAULT_KNOWLEDGE_DIR, cache_dir=tmp_path / "cache")  # the rebuilt cache replaced it
        assert builds == ["build"], what
        builds.clear()


# --------------------------------------------------------------------------- the venv

FAKE_PYTHON = """#!/bin/sh
# Stands in for .venv/bin/python: says its version, and logs every other call (pip).
if [ "$1" = "--version" ]; then echo "Python 3.11.7"; exit 0; fi
echo "$*" >> "$(dirname "$0")/../../pip.log"
"""


def test_run_and_test_share_one_venv_without_reinstalling(tmp_path: Path) -> None:
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    log = tmp_path / "pip.log"
    script = 'set -euo pipefail; source "$0"; bootstrap_venv "$@"'

    def boot(*extras: str) -> list[str]:
        """Run bootstrap_venv as ./run (no extras) or ./test does; the pip calls it made."""
        before = log.read_text().splitlines() if log.exists() else []
        bash = ["bash", "-c", script, ROOT / "scripts" / "bootstrap.sh", *extras]
        done = _run(bash, tmp_path, PYTHON=sys.executable)
        assert done.returncode == 0, done.stderr
        after = log.read_text().splitlines() if log.exists() else []
        return [line.split()[-1] for line in after[len(before) :]]

    assert boot() == ["."]
    assert boot("test") == [".[test]"]
    assert (boot(), boot("test"), boot()) == ([], [], [])
    with (tmp_path / "pyproject.toml").open("a") as fh:
        fh.write("# changed\n")
    assert boot("test") == [".[test]"]
    assert (boot(), boot("test")) == ([], [])
    (tmp_path / ".venv" / ".installed-test").unlink()
    assert (boot(), boot("test")) == ([], [".[test]"])
