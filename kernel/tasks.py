"""What every Celery task of ours shares: enqueued after commit, a broker that is down logged rather than raised,
waiting for an answer, and telling a final failure from one that will be retried.

Publishing waits for the transaction to commit: a worker must find the rows it is told about. A broker that is
down is logged, not raised — the caller's transaction has committed and its answer must not become a 500 — because
every piece of async work also has a database row that a beat sweeper enqueues again.

Each app's tasks module has one base class per retry budget (its queue's), built on `Task`; tasks take ids only.
"""

import functools
import logging
import random
import time
from collections.abc import Iterator

from celery.contrib.django.task import DjangoTask
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger(__name__)

# Waiting for a task's answer reads the result store (django-celery-results: the task's row) until the worker has
# written it. Celery reads it every half second, so an availability check a worker answered in 20 ms kept the
# traveller waiting 500. Here it is read at once, then FIRST_WAIT later, each wait half as long again as the one
# before and never longer than LONGEST_WAIT: a quick answer is read within a few milliseconds of being written, in
# four or five reads, and a slow operator's at most a quarter of a second late, for a read every quarter of a second.
FIRST_WAIT, WAIT_GROWTH, LONGEST_WAIT = 0.005, 1.5, 0.25


class TaskFailed(Exception):
    """A task asked for its answer ran and failed for good (its retries spent, or an error not worth retrying)."""


class Task(DjangoTask):
    # A retry waits at least 1, 2, 4, 8… s (up to each queue's cap), and up to half as long again (`retry_wait`).
    # Celery's default full jitter draws each wait between 0 and the backoff instead, and a queue's whole budget could
    # be spent inside one database restart (a webhook's first five tries all failed within 1.6 s of one,
    # faults/test_database_restart.py), failing work that a few seconds' patience would have done. Drawn upwards only,
    # the waits keep that floor and still spread the tasks that failed together (a burst of Stripe's 429s, say).
    retry_jitter = False

    def retry(self, *args, countdown: float | None = None, **options):
        if countdown and self.retry_backoff:  # the exponential backoff of an automatic retry
            countdown = self.retry_wait(countdown, cap=self.retry_backoff_max)
        return super().retry(*args, countdown=countdown, **options)

    @staticmethod
    def retry_wait(backoff: float, *, cap: float) -> float:
        """The wait before a retry whose backoff is `backoff`: drawn between it and half as long again, never past the
        queue's cap (which the broker's visibility timeout outlasts) once the backoff has reached it."""
        return min(backoff + random.uniform(0, backoff / 2), max(backoff, cap))

    def delay_on_commit(self, *args, **kwargs) -> None:
        """Publish once the current transaction commits (at once outside one); a broker that is down is logged."""
        transaction.on_commit(functools.partial(self.enqueue, *args, **kwargs))

    def enqueue(self, *args, **kwargs) -> bool:
        """Publish now; answers False (and logs) when the broker cannot be reached."""
        try:
            # Ids and codes only (maritime/tests/test_task_arguments.py): their plain repr is what Celery's safe,
            # truncating one would say, at a thirtieth of its cost. Nothing declared: a message goes to its queue by
            # name (the broker's default exchange), which needs nothing declared, and the workers declare the
            # queues they read at start; kombu's check that the queue was declared on this connection (copying the
            # queue and its exchange to bind them) was a sixth of a publish's CPU (bench: figure 7's note).
            self.apply_async(args, kwargs, argsrepr=repr(args), kwargsrepr=repr(kwargs), declare=[])
        except OperationalError as exc:
            logger.warning("could not enqueue %s %s, a sweeper will: %r", self.name, kwargs, exc)
            return False
        return True

    def ask(self, *, timeout: float, **kwargs):
        """Run on the task's queue and wait for its answer (the brief's `.get(timeout=…)`).

        Raises celery.exceptions.TimeoutError when no worker answers in time, the broker's OperationalError when it
        is down, and TaskFailed when the task itself failed — never the task's own exception, which would reach the
        caller's caller as a 500: the caller decides what the traveller sees.
        """
        return next(self.ask_all(timeout=timeout, each=[kwargs]))

    def ask_all(self, *, timeout: float, each: list[dict]) -> Iterator:
        """`ask` with each of `each` (the task's arguments), all sent before any answer is waited for, so that the
        workers answer them side by side: their answers in that order, all within `timeout` of the first being
        taken. Each is taken as `ask`'s is, raising as it does: the caller knows which one did not answer."""
        asked = [self.apply_async(kwargs=kwargs) for kwargs in each]
        deadline = time.monotonic() + timeout
        for result in asked:
            yield self._answer(result, deadline=deadline)

    def _answer(self, result, *, deadline: float):
        wait = FIRST_WAIT
        while not result.ready():
            left = deadline - time.monotonic()
            if left <= 0:
                raise CeleryTimeoutError(f"{self.name}: no answer in time")
            time.sleep(min(wait, left))
            wait = min(wait * WAIT_GROWTH, LONGEST_WAIT)
        answer = result.get(propagate=False, disable_sync_subtasks=False)  # read with its state: no other read
        if result.failed():
            logger.warning("%s failed: %r", self.name, answer)
            raise TaskFailed(f"{self.name}: {answer!r}")
        return answer

    def failed_for_good(self, exc: BaseException) -> bool:
        """Whether a failure handler sees the task's final failure: anything but a transient error with retries left.

        Celery also calls the handler when it could not record the task's state in the result store (the database,
        restarting) after the task had queued its retry or done its work. That call carries the database's error,
        and the work has not failed: failing it then (a booking refunded, an e-mail given up) would be wrong.
        """
        return not isinstance(exc, tuple(self.autoretry_for or ())) or self.request.retries >= self.max_retries
