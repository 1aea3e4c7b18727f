"""Enqueueing work after commit, by task name.

Workflows name the tasks they start instead of importing them, so that task modules can call
workflows without an import loop. Publishing waits for the transaction to commit (a worker must
find the rows it is told about), and a broker that is down is logged, not raised: every piece of
async work also has a database row that a beat sweeper enqueues again.
"""

import logging
import threading

from django.db import transaction
from kombu.exceptions import OperationalError

from maritime.celery import app as celery_app

logger = logging.getLogger(__name__)

# Celery's autodiscovery returns at once, having imported nothing, to a thread that calls it while another thread
# is in it: the threads of a web process that has just started must take turns.
_task_modules_lock = threading.Lock()


def enqueue_on_commit(task_name: str, **kwargs) -> None:
    """Run `task_name(**kwargs)` on its queue once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(task_name, **kwargs))


def enqueue(task_name: str, **kwargs) -> bool:
    """Publish now; answers False (and logs) when the broker cannot be reached."""
    task = _task(task_name)
    try:
        task.apply_async(kwargs=kwargs)
    except OperationalError as exc:
        logger.warning("could not enqueue %s %s, a sweeper will: %r", task_name, kwargs, exc)
        return False
    return True


class TaskFailed(Exception):
    """The task ran and failed for good (its retries spent, or an error not worth retrying)."""


def ask(task_name: str, *, timeout: float, **kwargs):
    """Run a task on its queue and wait for its answer (the brief's `.get(timeout=…)`).

    Raises celery.exceptions.TimeoutError when no worker answers in time, the broker's OperationalError when it
    is down, and TaskFailed when the task itself failed — never the task's own exception, which would reach the
    caller's caller as a 500: the caller decides what the traveller sees.
    """
    result = _task(task_name).apply_async(kwargs=kwargs)
    answer = result.get(timeout=timeout, propagate=False, disable_sync_subtasks=False)
    if result.failed():
        logger.warning("%s failed: %r", task_name, answer)
        raise TaskFailed(f"{task_name}: {answer!r}")
    return answer


def _task(task_name: str):
    """The registered task; a misspelt name fails loudly here, in tests too."""
    if task_name not in celery_app.tasks:
        # Outside a worker, the apps' task modules are imported on first use.
        with _task_modules_lock:
            if task_name not in celery_app.tasks:
                celery_app.loader.import_default_modules()
    return celery_app.tasks[task_name]
