"""Issue 13, item 8: a Content-Security-Policy on every page, which the pages can keep because
none of them has an inline script or style (the browser tests check the pages with JavaScript
on: tests/e2e/conftest.py fails any test whose page the policy refused something on)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Rendered only for WeasyPrint's PDF (feedback.views.report_pdf), never sent to a browser.
PDF_ONLY = {"feedback/report_print_base.html"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/log-in/", "/api/docs/", "/api/v1/rounds/"])
def test_every_answer_carries_the_policy(client: Any, path: str) -> None:
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "https://tile.openstreetmap.org" in directives["img-src"]


def test_no_template_has_an_inline_script_or_style() -> None:
    found = []
    for path in (ROOT / "templates").rglob("*.html"):
        name = str(path.relative_to(ROOT / "templates"))
        if name in PDF_ONLY:
            continue
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text):
            found.append(f"{name}: inline <script>")
        if re.search(r"<style\b", text) or re.search(r"\sstyle=\"", text):
            found.append(f"{name}: inline style")
        if re.search(r"\son[a-z]+=\"", text):
            found.append(f"{name}: event handler attribute")
    assert found == []


@pytest.mark.django_db
def test_the_api_docs_load_swagger_ui_from_this_site(client: Any) -> None:
    page = client.get("/api/docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in s for s in sources)
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
