"""Issue 13: dependencies are locked with hashes (requirements.lock, `make lock`) so that
`make audit` (pip-audit) checks exactly what is installed; the lock must follow pyproject."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~! ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_pinned_dependency_is_locked_at_the_same_version_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        _name(r): r.split("==", 1)[1]
        for r in [*project["dependencies"], *project["optional-dependencies"]["test"]]
    }
    lock = (ROOT / "requirements.lock").read_text()
    locked = {
        m.group(1).lower().replace("_", "-"): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$", lock, re.M)
    }
    assert {k: locked.get(k) for k in wanted} == wanted, "run `make lock`"
    blocks = re.findall(
        r"^\S+==\S+ \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", lock, re.M
    )
    assert len(blocks) == len(locked)  # every locked package carries its hashes
