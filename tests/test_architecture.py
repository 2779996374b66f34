"""Dependency direction: bot/ imports no platform library and nothing from adapters/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_CORE = {"adapters", "slack_bolt", "slack_sdk", "discord", "aiohttp"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "bot").rglob("*.py")), ids=lambda p: p.name)
def test_core_imports_no_platform_library_or_adapter(path: Path) -> None:
    assert not _imports(path) & FORBIDDEN_IN_CORE


def test_the_check_sees_imports() -> None:
    assert "rapidfuzz" in _imports(ROOT / "bot" / "names.py")
    assert "bot" in _imports(ROOT / "adapters" / "cli.py")
