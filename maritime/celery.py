"""The Celery application: `celery -A maritime worker -Q emails` (and payments, bookings, default).

Configuration is read from Django settings under the CELERY_ prefix; queues, routes and the
reliability options are all in maritime/settings.py.
"""

import datetime as dt
import logging
import os
import time

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun, worker_init, worker_ready
from django.db import close_old_connections

from kernel import metrics, process
from kernel.logs import task_context_enter, task_context_leave

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maritime.settings")

app = Celery("maritime", task_cls="kernel.tasks:Task")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's message protocol records no publishing time (its "sent" event goes to monitors, not into the
# message), so a message waiting in Redis could not tell its age: every message we publish carries it.
PUBLISHED_AT_HEADER = "published_at"


@before_task_publish.connect(weak=False)
def _date_the_message(headers: dict | None = None, **kwargs) -> None:
    if headers is not None:
        # Set, not defaulted: a retry is published anew, and its wait in the queue starts now.
        headers[PUBLISHED_AT_HEADER] = time.time()


@task_prerun.connect(weak=False)
@task_postrun.connect(weak=False)
def _database_connections(task=None, **kwargs) -> None:
    """Around each task, what Django does around each request: a connection past CONN_MAX_AGE or broken by an error
    is closed, and the next one reused is checked first (CONN_HEALTH_CHECKS). Not for a task run eagerly inside a
    request or a test, whose transaction may still be open."""
    if task is not None and not getattr(task.request, "is_eager", False):
        close_old_connections()


@task_prerun.connect(weak=False)
def _log_context_enter(task_id: str | None = None, task=None, kwargs: dict | None = None, **extra) -> None:
    booking_id = (kwargs or {}).get("booking_id")
    reference = _reference_of(booking_id)
    task_context_enter(task_id=task_id, task_name=getattr(task, "name", None), reference=reference)


@task_postrun.connect(weak=False)
def _log_context_leave(task_id: str | None = None, **extra) -> None:
    task_context_leave(task_id=task_id)


def _reference_of(booking_id) -> str | None:
    """The reference of the booking a task is given, for its log lines (one primary-key lookup)."""
    if not isinstance(booking_id, int):
        return None
    from bookings.models import Booking  # models load after the Celery app

    try:
        return Booking.objects.filter(pk=booking_id).values_list("reference", flat=True).first()
    except Exception as exc:  # a log context never stops a task
        logger.debug("no booking reference for booking %s: %r", booking_id, exc)
        return None


@worker_init.connect(weak=False)
def _pdf_library_loaded(**kwargs) -> None:
    """Workers make the e-tickets: fpdf2 (with fontTools and numpy, about 0.4 s of CPU) is imported as a worker starts,
    before its pool forks, not by the first e-mail with a ticket. Web processes and commands import it only when
    they make a PDF (notifications/etickets.py)."""
    import fpdf  # noqa: F401


@worker_init.connect(weak=False)
def _heap_frozen(**kwargs) -> None:
    """What the worker's main process has loaded (Django, the tasks, fpdf2: connected after `_pdf_library_loaded`) is
    left out of garbage collections before its pool forks: the pool's processes inherit it frozen, and a collection in
    one of them, between two tasks or during one, walks only what it made since (kernel.process.heap_frozen)."""
    process.heap_frozen()


# --- metrics (kernel/metrics.py) ------------------------------------------------------------------

# task id -> (queue, when it started), from task_prerun to task_postrun in the process that runs the task.
_running: dict[str, tuple[str, float]] = {}


@task_prerun.connect(weak=False)
def _task_started(task_id: str | None = None, task=None, **extra) -> None:
    """How long the task waited: from its publishing (the header above), or from the end of its countdown when it
    had one (a retry's wait for its countdown is not a backlog). Tasks run eagerly never waited."""
    request = getattr(task, "request", None)
    if task_id is None or request is None or getattr(request, "is_eager", False):
        return
    queue = (request.delivery_info or {}).get("routing_key") or "unknown"
    published_at = getattr(request, PUBLISHED_AT_HEADER, None)
    if isinstance(published_at, int | float):
        ready_at = max(published_at, _timestamp(request.eta) or 0.0)
        metrics.TASK_WAIT.labels(queue=queue).observe(max(time.time() - ready_at, 0.0))
    _running[task_id] = (queue, time.perf_counter())


@task_postrun.connect(weak=False)
def _task_finished(task_id: str | None = None, state: str | None = None, **extra) -> None:
    started = _running.pop(task_id, None)
    if started is not None:
        queue, at = started
        metrics.TASK_RUN.labels(queue=queue).observe(time.perf_counter() - at)
        metrics.TASKS_FINISHED.labels(queue=queue, state=state or "UNKNOWN").inc()


def _timestamp(moment) -> float | None:
    """A request's eta (an ISO 8601 string, or a datetime) as a Unix time."""
    try:
        moment = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
        return moment.timestamp() if isinstance(moment, dt.datetime) else None
    except ValueError:
        return None


@worker_init.connect(weak=False)
def _metrics_files_cleared(**kwargs) -> None:
    """The worker's main process starts before its pool: the counters of the worker's previous run go."""
    metrics.multiprocess_dir_clear()


@worker_ready.connect(weak=False)
def _metrics_served(**kwargs) -> None:
    """With WORKER_METRICS_PORT, the worker's main process serves the metrics of all its pool's processes."""
    from django.conf import settings

    if not settings.WORKER_METRICS_PORT:
        return
    if settings.PRODUCTION and not settings.METRICS_TOKEN:  # as the site's /metrics: not served without a token
        logger.warning("WORKER_METRICS_PORT is set but METRICS_TOKEN is not: metrics are not served")
        return
    metrics.metrics_serve(address=settings.WORKER_METRICS_ADDRESS, port=settings.WORKER_METRICS_PORT)
    logger.info("metrics served on %s:%s", settings.WORKER_METRICS_ADDRESS, settings.WORKER_METRICS_PORT)
