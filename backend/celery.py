"""The Celery application.

Configuration comes from Django settings under the ``CELERY_`` namespace, so the embedded
defaults (eager tasks, no broker) and the production ones (Redis) live in one file.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("commonpurse")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Sub-packages that are not Django apps keep their tasks next to their services.
app.autodiscover_tasks(["pb.rounds", "pb.counting"])
