"""The Celery application: `celery -A maritime worker -Q emails` (and payments, bookings, default).

Configuration is read from Django settings under the CELERY_ prefix; queues, routes and the
reliability options are all in maritime/settings.py.
"""

import os
import time

from celery import Celery
from celery.signals import before_task_publish, task_postrun, task_prerun

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


@task_prerun.connect(weak=False)
def _log_context_enter(task_id: str | None = None, task=None, kwargs: dict | None = None, **extra) -> None:
    booking_id = (kwargs or {}).get("booking_id")
    task_context_enter(task_id=task_id, task_name=getattr(task, "name", None), booking_id=booking_id)


@task_postrun.connect(weak=False)
def _log_context_leave(task_id: str | None = None, **extra) -> None:
    task_context_leave(task_id=task_id)
