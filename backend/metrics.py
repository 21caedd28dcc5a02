"""Prometheus metrics at ``/metrics``, read when scraped from the stores every process shares.

Nothing is counted in process memory: with several gunicorn and uvicorn processes a per-process
counter would show one process's share at each scrape. Each scrape reads the ballots cast from
PostgreSQL, the Celery queue lengths from the broker and the room connections from the presence
counts in Redis, so any process answers for all of them. A scrape costs three small queries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

QUEUES = ("celery", "tally", "notifications")


class CommonpurseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        from pb.voting.selectors import ballots_cast_by_round

        ballots = CounterMetricFamily(
            "commonpurse_ballots_cast", "Ballots cast, by round.", labels=["round"]
        )
        for slug, n in sorted(ballots_cast_by_round().items()):
            ballots.add_metric([slug], n)
        yield ballots
        yield from self._queues()
        yield self._rooms()

    def _queues(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily(
            "commonpurse_queue_length", "Celery tasks waiting, by queue.", labels=["queue"]
        )
        unacked = GaugeMetricFamily(
            "commonpurse_tasks_unacknowledged", "Celery tasks taken by a worker and not yet done."
        )
        url = settings.CELERY_BROKER_URL
        if url.startswith("redis"):
            import redis

            client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            try:
                for queue in QUEUES:
                    queued.add_metric([queue], client.llen(queue))
                unacked.add_metric([], client.hlen("unacked"))
            except redis.RedisError:
                logger.warning("Queue lengths unavailable: the broker does not answer")
            finally:
                client.close()
        yield queued
        yield unacked

    def _rooms(self) -> Metric:
        from django.core.cache import cache

        from deliberation.hub import presence_key
        from deliberation.selectors import rooms_open

        rooms = GaugeMetricFamily(
            "commonpurse_room_connections", "Live connections, by open room.", labels=["room"]
        )
        ids = rooms_open()
        try:
            counts = cache.get_many([presence_key(pk) for pk in ids])
        except Exception:
            logger.warning("Room connections unavailable: the cache does not answer")
            return rooms
        for pk in ids:
            rooms.add_metric([str(pk)], max(0, int(counts.get(presence_key(pk)) or 0)))
        return rooms
