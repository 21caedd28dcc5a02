"""Settings come from the environment; production settings pass `check --deploy`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _clean_env() -> dict[str, str]:
    """The test process's environment without what the browser tests set for themselves."""
    return {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _run(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in _clean_env().items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "backend.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 30 + "-a-very-long-and-random-production-secret-value",
    "ALLOWED_HOSTS": "pb.example.org",
    "DATABASE_URL": "postgres://u:p@db:5432/commonpurse",
    "REDIS_URL": "redis://redis:6379/0",
}


def test_check_deploy_is_clean_with_a_production_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**_clean_env(), **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = _run({"DEBUG": "false"}, "import django; django.setup()")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_boolean_fails_loudly():
    result = _run({"DEBUG": "maybe"}, "import django; django.setup()")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_embedded_defaults_and_the_switch_to_postgres_and_redis():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], s.EMAIL_BACKEND)"
    )
    embedded = _run({"DEBUG": "true"}, code).stdout.split()
    assert embedded == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.mail.backends.console.EmailBackend",
    ]
    real = _run(PRODUCTION | {"DEBUG": "true"}, code).stdout.split()
    assert real[:4] == [
        "django.db.backends.postgresql",
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "False",
        "backend.cache.RedisCache",
    ]


def test_env_example_lists_every_variable_the_settings_read():
    import re

    settings_text = (ROOT / "backend" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\("([A-Z_]+)"', settings_text))
    listed = {
        line.split("=")[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line
    }
    assert read - listed == set()


def test_docker_compose_services_run_commands_that_exist_in_the_project():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat", "migrate"} <= set(services)
    for name in ("postgres", "redis", "web"):
        assert "healthcheck" in services[name], name
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    web = " ".join(services["web"]["command"])
    assert "backend.asgi:application" in web
    assert (ROOT / "backend" / "asgi.py").exists()
    worker = " ".join(services["worker"]["command"])
    beat = " ".join(services["beat"]["command"])
    assert "-A backend worker" in worker and "-A backend beat" in beat
    assert "manage.py migrate" in " ".join(services["migrate"]["command"])
    assert (ROOT / services["web"]["build"]["dockerfile"]).exists()
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_the_broker_keeps_its_queues_on_disk_and_every_app_process_uses_it():
    """A Redis restart must not lose a queued count or e-mail (tests/reliability)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    broker = " ".join(services["broker"]["command"])
    assert "--appendonly yes" in broker
    assert any(v.endswith(":/data") for v in services["broker"]["volumes"])
    for name in ("http", "web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["CELERY_BROKER_URL"].startswith("redis://broker:"), name
        assert services[name]["depends_on"]["broker"]["condition"] == "service_healthy", name


def test_the_sweepers_run_on_beats_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "pb.counting.tasks.resume_stalled_counts",
        "feedback.tasks.resume_stalled_outcomes",
    } <= tasks
    from backend.celery import app

    app.loader.import_default_modules()
    assert tasks <= set(app.tasks)


def test_collectstatic_succeeds_with_production_storage(tmp_path):
    """The manifest storage refuses files that reference missing ones (e.g. source maps)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**_clean_env(), **PRODUCTION, "STATIC_ROOT": str(tmp_path / "static")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "static" / "staticfiles.json").exists()
