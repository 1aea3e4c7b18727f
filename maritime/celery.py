"""The Celery application: `celery -A maritime worker -Q emails` (and payments, bookings, default).

Configuration is read from Django settings under the CELERY_ prefix; queues, routes and the
reliability options are all in maritime/settings.py.
"""

import os
import time

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.db import close_old_connections

from maritime.logs import task_context_enter, task_context_leave

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maritime.settings")

app = Celery("maritime")
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


def failed_for_good(task, exc: BaseException, transient: tuple[type[BaseException], ...]) -> bool:
    """Whether a task's failure handler is seeing its final failure: anything but a transient error with retries left.

    Celery also calls the handler when it could not record the task's state in the result store (the database,
    restarting) after the task had queued its retry or done its work. That call carries the database's error, and
    the work has not failed: failing it then (a booking refunded, an e-mail given up) would be wrong.
    """
    return not isinstance(exc, transient) or task.request.retries >= task.max_retries


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
    task_context_enter(task_id=task_id, task_name=getattr(task, "name", None), booking_id=booking_id)


@task_postrun.connect(weak=False)
def _log_context_leave(task_id: str | None = None, **extra) -> None:
    task_context_leave(task_id=task_id)
