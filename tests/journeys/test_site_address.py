"""Links in e-mails point at the address being served: ``make run PORT=8081`` mailed links to
127.0.0.1:8000, where nothing answered. The Makefile makes ``SITE_URL`` from ``HOST`` and
``PORT`` unless it is set, and every link we mail is built on ``SITE_URL``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import need

ROOT = Path(settings.BASE_DIR)
PRINT_SITE_URL = 'print-site-url:\n\t@echo "$$SITE_URL"\n'


def _site_url_from_make(tmp_path: Path, *args: str, site_url: str | None = None) -> str:
    need(shutil.which("make") is not None, "make (apt-get install make)")
    extra = tmp_path / "print.mk"
    extra.write_text(PRINT_SITE_URL)
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT")}
    if site_url:
        env["SITE_URL"] = site_url
    done = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", str(extra), "print-site-url", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_make_builds_the_site_address_from_host_and_port_unless_given(tmp_path: Path) -> None:
    assert _site_url_from_make(tmp_path) == "http://127.0.0.1:8000"
    assert _site_url_from_make(tmp_path, "PORT=8081") == "http://127.0.0.1:8081"
    assert _site_url_from_make(tmp_path, "HOST=192.0.2.7", "PORT=9000") == "http://192.0.2.7:9000"
    given = "https://council.example"
    assert _site_url_from_make(tmp_path, "PORT=8081", site_url=given) == given


@pytest.mark.django_db
def test_the_sign_up_mails_link_to_the_address_being_served(client, settings, mailoutbox):
    settings.SITE_URL = "http://127.0.0.1:8081"
    form = {
        "email": "new@example.org",
        "display_name": "New Person",
        "password1": "a-long-unusual-passphrase",
        "password2": "a-long-unusual-passphrase",
    }
    client.post(reverse("sign_up"), form)
    confirm = next(line for line in mailoutbox[-1].body.splitlines() if "/confirm/" in line)
    assert confirm.strip().startswith("http://127.0.0.1:8081/accounts/")
    # Signing up again with the address: the owner is mailed links to log in and reset.
    client.post(reverse("sign_up"), form)
    body = mailoutbox[-1].body
    assert f"http://127.0.0.1:8081{reverse('login')}" in body
    assert f"http://127.0.0.1:8081{reverse('password_reset')}" in body
    assert "127.0.0.1:8000" not in body
