"""Browser tests: Playwright for Python driving Debian's chromium against a live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module: Playwright's sync API keeps an event loop running in this
    thread while it is open, which would break ``asyncio.run`` in the tests that follow."""
    need(
        Path(CHROMIUM).exists(),
        f"Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)",
    )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread while the browser is open, so
    # Django takes the test's own ORM calls (fixtures, assertions: plain synchronous code) for
    # calls from async code. Allow them only while the browser is open, then restore: the
    # consumer tests must still catch a database call made from async code.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


def csp_refusals(page: Any) -> list[str]:
    """Collects what the Content-Security-Policy refused on ``page`` (Chromium says so on the
    console): a page that needs an inline script or style, or a file from elsewhere, shows up."""
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return refused


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    refused = csp_refusals(page)
    yield page
    context.close()
    # Every browser test with JavaScript on is also a test of the CSP (issue 13).
    assert refused == [], refused


@pytest.fixture
def page_no_js(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page: Any, live_server: Any, email: str, password: str) -> None:
    """Log in through the form and wait for the dashboard."""
    page.goto(live_server.url + "/accounts/log-in/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")


def log_out(page: Any) -> None:
    """Log out and wait for the page that follows, so the next step acts on it."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    # Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
    # govern: an inline <script> tag would be refused, as the policy means it to be.
    page.evaluate(_axe_source() + "\n;true")
    result = page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in {"serious", "critical"}]


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    summary = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert violations == [], f"axe-core found serious or critical problems on {page.url}: {summary}"


# --- Shared journey helpers: reach pages as people do, by clicking ------------------------------

DEMO_PASSWORD = "demo-pass-2026"


def log_in_by_clicking(page: Any, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """From the home page, follow "Log in", fill the form and wait for the person's dashboard."""
    from playwright.sync_api import expect

    page.goto(base_url + "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")
    expect(page.get_by_role("heading", level=1, name="Your page")).to_be_visible()


def log_out_waiting(page: Any) -> None:
    """Press "Log out" and wait until the page shows the logged-out navigation."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Log out").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Log in")
    ).to_be_visible()


def click_from_dashboard(page: Any, *link_names: str) -> None:
    """Open "Your page" from the main navigation, then follow each named link in turn, waiting
    for each page to load: the way a person reaches a page, never by typing its address."""
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Your page").click()
    page.wait_for_url("**/dashboard/")
    for name in link_names:
        page.get_by_role("main").get_by_role("link", name=name).first.click()
        page.wait_for_load_state()
