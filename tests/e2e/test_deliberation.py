"""A live room in real browsers: two residents and a facilitator, and the venue screen.

pytest-django's ``live_server`` speaks WSGI only, so these tests serve ``backend.asgi``'s
WebSocket stack and Django's ASGI handler (with static files) from uvicorn in a thread of the
test process, on the test database, as ``live_server`` does for WSGI.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.deliberation.conftest import forget_connections_of_the_async_thread, make_scene
from tests.e2e.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery"


class AsgiLiveServer:
    def __init__(self) -> None:
        import uvicorn
        from channels.routing import ProtocolTypeRouter
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
        from django.core.asgi import get_asgi_application

        from backend.asgi import application

        app = ProtocolTypeRouter(
            {
                "http": ASGIStaticFilesHandler(get_asgi_application()),
                "websocket": application.application_mapping["websocket"],
            }
        )
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, lifespan="off", log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        # The server's ORM work ran in asgiref's one thread-sensitive thread, which later tests
        # share; leave no connection to this test's database behind in it.
        forget_connections_of_the_async_thread()


@pytest.fixture
def asgi_server(transactional_db: Any) -> Iterator[AsgiLiveServer]:
    server = AsgiLiveServer()
    server.start()
    yield server
    server.stop()


def scene_outside_the_browser_loop() -> Any:
    """Services broadcast with ``async_to_sync``, which cannot run in a thread whose event loop
    is Playwright's; make the room in a worker thread, as a request would."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def build() -> Any:
        try:
            return make_scene()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(build).result()


def log_in(browser: Any, server: AsgiLiveServer, email: str) -> Any:
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.url + "/accounts/log-in/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")
    return page


def go_live(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("#room[data-live=on]", state="attached")


def test_two_residents_and_a_facilitator_hold_a_room_and_the_venue_screen_follows(
    browser, asgi_server
):
    scene = scene_outside_the_browser_loop()
    room_url = f"{asgi_server.url}/rooms/{scene.room.pk}/"
    fran = log_in(browser, asgi_server, scene.facilitator.email)
    alice = log_in(browser, asgi_server, scene.alice.email)
    bob = log_in(browser, asgi_server, scene.bob.email)
    screen_context = browser.new_context(locale="en-GB", viewport={"width": 1600, "height": 900})
    screen = screen_context.new_page()
    screen.set_default_timeout(15_000)
    for page in (fran, alice, bob):
        go_live(page, room_url)
    go_live(screen, room_url + "screen/")
    assert_accessible(alice)
    assert_accessible(screen)

    # Alice argues for the proposal; Bob sees it arrive without reloading.
    alice.get_by_label("What kind of contribution").select_option(label="Argument for")
    alice.get_by_label("What you want to say").fill("Older people need <somewhere> to rest.")
    alice.get_by_role("button", name="Say it").click()
    said = bob.locator("#contributions li", has_text="Older people need <somewhere> to rest.")
    said.wait_for()
    assert "Argument for" in said.inner_text()
    # Alice's page clears her text when her own event comes back, which may be after Bob's.
    expect(alice.get_by_label("What you want to say")).to_have_value("", timeout=15_000)

    # Bob raises his hand; the facilitator and the screen see the queue; Fran calls him.
    bob.get_by_role("button", name="Raise your hand").click()
    bob.get_by_role("button", name="Lower your hand").wait_for()
    fran.locator("#queue li", has_text="Bob").wait_for()
    screen.locator("#queue li", has_text="Bob").wait_for()
    fran.get_by_role("button", name="Call the next speaker").click()
    screen.locator("#speaker", has_text="Bob").wait_for()
    bob.get_by_role("button", name="Raise your hand").wait_for()

    # Fran moves the agenda on and starts a timer; the screen shows both.
    fran.get_by_label("Agenda item").select_option("2")
    fran.get_by_role("button", name="Show this item").click()
    screen.locator("#agenda-current", has_text="The bench").wait_for()
    fran.get_by_label("Timer in seconds (0 stops it)").fill("90")
    fran.get_by_role("button", name="Start the timer").click()
    # A locator assertion, not wait_for_function: that evaluates a string in the page, which
    # the Content-Security-Policy refuses (no 'unsafe-eval').
    expect(screen.locator("#timer")).to_have_text(re.compile(r"^1:[0-9]{2}$"))

    # A live poll: Alice answers and the screen counts it.
    fran.get_by_label("Question").fill("Should we fund the bench?")
    fran.get_by_label("Options").fill("Yes\nNo")
    fran.get_by_role("button", name="Open the poll").click()
    alice.get_by_role("heading", name="Should we fund the bench?").wait_for()
    alice.get_by_label("Yes").check()
    alice.get_by_role("button", name="Answer").click()
    screen.locator(".poll-results li", has_text="Yes: 1").wait_for()
    # The script counts in the page's language: one answer, not "1 answers".
    expect(screen.locator(".poll-status")).to_have_text("1 answer")
    assert_accessible(alice)

    # Bob is rude; Fran hides it with a reason that everyone sees in its place.
    bob.get_by_label("What you want to say").fill("Anyone who wants a bench is an idiot.")
    bob.get_by_role("button", name="Say it").click()
    rude = fran.locator("#contributions li", has_text="is an idiot")
    rude.wait_for()
    rude.locator("summary").click()
    rude.get_by_label("Reason for hiding, shown in its place").fill("Personal attack")
    rude.get_by_role("button", name="Hide").click()
    alice.locator("#contributions li", has_text="The reason: Personal attack").wait_for()
    assert "is an idiot" not in alice.locator("#contributions").inner_text()

    # Fran closes the room with a summary; pages and the screen show it.
    fran.get_by_label("Summary, published on the room and the round").fill(
        "Residents favour the bench; one contribution hidden."
    )
    fran.get_by_role("button", name="Close the room").click()
    fran.get_by_role("heading", name="Summary").wait_for()
    alice.locator("#summary", has_text="Residents favour the bench").wait_for()
    screen.locator("#summary", has_text="Residents favour the bench").wait_for()
    assert screen.locator(".poll-status", has_text="Closed.").is_visible()
    assert_accessible(fran)
    assert_accessible(screen)

    listing = alice.context.new_page()
    listing.goto(f"{asgi_server.url}/rounds/{scene.round.slug}/rooms/")
    assert listing.get_by_text("Residents favour the bench").is_visible()
    assert_accessible(listing)

    for page in (fran, alice, bob, screen):
        page.context.close()


def test_a_resident_takes_part_without_javascript(browser, asgi_server):
    scene = scene_outside_the_browser_loop()
    context = browser.new_context(locale="en-GB", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(asgi_server.url + "/accounts/log-in/")
    page.get_by_label("E-mail address").fill(scene.alice.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/")
    page.goto(f"{asgi_server.url}/rooms/{scene.room.pk}/")
    page.get_by_label("What you want to say").fill("When would it be built?")
    page.get_by_label("What you want to say").press("Tab")
    page.keyboard.press("Enter")  # the "Say it" button, reached with the keyboard
    page.wait_for_url("**#live")
    expect(page.locator("#contributions li", has_text="When would it be built?")).to_be_visible()
    page.get_by_role("button", name="Raise your hand").click()
    expect(page.get_by_role("button", name="Lower your hand")).to_be_visible()
    page.goto(f"{asgi_server.url}/rooms/{scene.room.pk}/screen/")
    expect(page.locator("#queue li", has_text="Alice")).to_be_visible()
    context.close()
