"""Prometheus metrics counted where things happen: a counter or histogram updated in memory, never a round trip.

Each process keeps its own values. With PROMETHEUS_MULTIPROC_DIR set (gunicorn's workers, a Celery worker's pool)
prometheus_client writes them to files in that directory, one per process, and whoever is scraped adds them up;
without it (`make run`, tests) they live in the process's default registry. The variable is read by prometheus_client
when it is first imported, so it comes from the environment, never from settings. The directory belongs to one
program (the web server, or one worker) and is emptied when that program starts (`multiprocess_dir_clear`), or the
counters of a previous run would be added in.

Outcomes decided inside a transaction are counted when it commits (`count_on_commit`): a rollback counts nothing.
"""

import functools
import os
import secrets
import socketserver
import threading
from pathlib import Path
from wsgiref import simple_server

from django.conf import settings
from django.db import transaction
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, disable_created_metrics, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

# The `_created` series (each counter's creation time) are not written in multiprocess mode: not in one process either.
disable_created_metrics()

# --- what is counted ------------------------------------------------------------------------------

CACHE_LOOKUPS = Counter(
    "maritime_cache_lookups", "Lookups in the search cache (cache: search or availability).", ["cache"]
)
CACHE_MISSES = Counter(
    "maritime_cache_misses", "Lookups in the search cache that found nothing and were computed and stored.", ["cache"]
)
BOOKING_HOLDS = Counter(
    "maritime_booking_holds",
    "Bookings whose places were asked for (outcome: created; refused by an operator; unavailable, the operator "
    "did not answer).",
    ["outcome"],
)
PAYMENTS = Counter(
    "maritime_payments", "Payments as the provider settled them (outcome: succeeded, failed, mismatched).", ["outcome"]
)
REFUNDS = Counter("maritime_refunds", "Refunds as the provider settled them (outcome: succeeded, failed).", ["outcome"])
PDF_RENDERS = Counter(
    "maritime_pdf_renders",
    "PDF documents made rather than served from storage (document: eticket, invoice).",
    ["document"],
)

# Seconds: a task waits from milliseconds to the minutes of a backlog; most run well under a second, the longest
# CELERY_TASK_TIME_LIMIT (90 s).
_TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
TASK_WAIT = Histogram(
    "maritime_task_wait_seconds",
    "Time a task waited from being published (or from its countdown's end) until a worker started it.",
    ["queue"],
    buckets=_TASK_BUCKETS,
)
TASK_RUN = Histogram("maritime_task_run_seconds", "Time a task ran.", ["queue"], buckets=_TASK_BUCKETS)
TASKS_FINISHED = Counter(
    "maritime_tasks_finished", "Tasks a worker finished (state: SUCCESS, FAILURE, RETRY…).", ["queue", "state"]
)


def count_on_commit(counter: Counter, **labels: str) -> None:
    """Count once the current transaction commits (at once outside one)."""
    transaction.on_commit(functools.partial(counter.labels(**labels).inc), robust=True)


# --- exposing them --------------------------------------------------------------------------------


def multiprocess_dir() -> Path | None:
    value = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    return Path(value) if value else None


def multiprocess_dir_clear() -> None:
    """Remove the files of a previous run of this program (called by the program's first process, before it starts
    others). This process's own files stay: a value counted already is written in them, and they are of this run."""
    directory = multiprocess_dir()
    if directory is not None:
        for path in directory.glob("*.db"):
            if not path.stem.endswith(f"_{os.getpid()}"):
                path.unlink(missing_ok=True)


def metrics_registry(*extra_collectors) -> CollectorRegistry:
    """What a scrape answers: every process's values (this one's alone without PROMETHEUS_MULTIPROC_DIR), and
    `extra_collectors`, read at the scrape."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir() is not None:
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in extra_collectors:
        registry.register(collector)
    return registry


class _ThisProcess:
    """The default registry's metrics, as a collector of another registry."""

    def collect(self):
        return REGISTRY.collect()


def token_accepted(authorization: str | None) -> bool:
    """Whether an Authorization header carries METRICS_TOKEN as a bearer token (anything goes when no token is set:
    development only, settings require one in production before metrics are served)."""
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode())


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """(body, content type) of the text format."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


# --- a process's own HTTP endpoint (Celery workers) -----------------------------------------------


class _ThreadingServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format, *args):  # a scrape every few seconds is not worth a log line
        pass


def metrics_app(environ, start_response):
    """WSGI: the metrics of this program's processes, to the bearer of METRICS_TOKEN."""
    if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found\n"]
    if not token_accepted(environ.get("HTTP_AUTHORIZATION")):
        start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
        return [b"Unauthorized\n"]
    body, content_type = exposition(metrics_registry())
    start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def metrics_serve(*, address: str, port: int) -> simple_server.WSGIServer:
    """Serve `metrics_app` on address:port from a daemon thread of this process; answers the server."""
    server = simple_server.make_server(address, port, metrics_app, _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
