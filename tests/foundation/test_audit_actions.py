"""The audit log's actions are named once (``pb.models.AuditAction``): each is emitted by some
code, and no code writes an action's name as a bare string."""

from __future__ import annotations

import re
from pathlib import Path

from pb.models import AuditAction

ROOT = Path(__file__).resolve().parents[2]
APPS = ("backend", "pb", "feedback", "deliberation")


def _sources() -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and path != ROOT / "pb" / "models.py"
    }


def test_every_audit_action_is_emitted_somewhere():
    code = "\n".join(_sources().values())
    unused = [a.name for a in AuditAction if f"AuditAction.{a.name}" not in code]
    assert unused == []


def test_no_code_names_an_audit_action_by_its_string():
    names = "|".join(re.escape(a.value) for a in AuditAction)
    pattern = re.compile(rf"[\"']({names})[\"']")
    found = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path, text in _sources().items()
        for m in pattern.finditer(text)
    ]
    assert found == []
