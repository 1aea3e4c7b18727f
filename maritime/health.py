"""The state of the parts the site depends on, for /healthz and for operations.

Each check answers a small dict with at least "status" ("ok" or "error"); a failing check names the
error's class only, since /healthz is public — the full error goes to the log. The report also carries
operational figures (queues, unsent e-mails, unprocessed webhooks, cache hit rate): they inform, they never
decide the status, and one that cannot be read is null.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_redis import get_redis_connection

from maritime.celery import app as celery_app
from maritime.operations import figures_read

logger = logging.getLogger(__name__)

# A probe must answer well within a load balancer's timeout, even when a part hangs.
BROKER_PROBE_TIMEOUT = 1.0


def database_check() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def cache_check() -> dict:
    if _cache_is_redis():
        # Straight to the client: the cache backend itself swallows errors by design.
        get_redis_connection("default").ping()
        return {"backend": "redis"}
    cache.set("healthz:probe", "1", timeout=5)
    if cache.get("healthz:probe") != "1":
        raise RuntimeError("cache did not return the value just stored")
    return {"backend": "local-memory"}


def broker_check() -> dict:
    if celery_app.conf.task_always_eager:
        return {"mode": "eager"}
    options = {"socket_connect_timeout": BROKER_PROBE_TIMEOUT, "socket_timeout": BROKER_PROBE_TIMEOUT}
    with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL, transport_options=options) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_PROBE_TIMEOUT)
    return {"transport": settings.CELERY_BROKER_URL.split(":", 1)[0]}


CHECKS: dict[str, Callable[[], dict]] = {
    "database": database_check,
    "cache": cache_check,
    "broker": broker_check,
}


# Each figure shown by /healthz, and the part it is read from: a part found down is not asked again for a
# figure, so a dead broker or cache costs one timeout, not two.
FIGURE_SOURCES = {"queues": "broker", "emails": "database", "webhooks": "database", "cache": "cache"}


def health_report() -> dict:
    """Every check, timed; "failing" names the parts that are down; "figures" are for information."""
    checks = {name: _run(name, check) for name, check in CHECKS.items()}
    failing = [name for name, result in checks.items() if result["status"] != "ok"]
    readable = [figure for figure, part in FIGURE_SOURCES.items() if part not in failing]
    figures = {figure: None for figure in FIGURE_SOURCES} | figures_read(readable)
    return {"status": "unavailable" if failing else "ok", "failing": failing, "checks": checks, "figures": figures}


def _run(name: str, check: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    try:
        result = {"status": "ok", **check()}
    except Exception as exc:  # a health check reports every failure rather than raising it
        logger.warning("health check %s failed: %r", name, exc)
        result = {"status": "error", "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _cache_is_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"].startswith("django_redis.")
