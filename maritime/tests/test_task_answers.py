"""Waiting for a task's answer (kernel.tasks.Task.ask, ask_all): the result store is read at once, then less and less
often until the answer is there or the time is up; several questions are all sent before any answer is waited for.

The clock here is the test's own (a wait is recorded, not slept), so that the reads can be counted against the waits;
the broker and the result store are the real ones.
"""

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import wait_until
from kernel import tasks
from maritime.tasks import ping_task

pytestmark = pytest.mark.django_db


class Clock:
    """`time` as kernel.tasks reads it: a wait moves the clock on by its length and is recorded."""

    def __init__(self):
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(tasks, "time", clock)
    return clock


def store_reads(queries: CaptureQueriesContext) -> int:
    return sum('FROM "django_celery_results_taskresult"' in query["sql"] for query in queries.captured_queries)


def test_an_answer_that_does_not_come_is_looked_for_at_once_then_less_and_less_often_until_the_time_is_up(
    broker, clock
):
    with CaptureQueriesContext(connection) as queries, pytest.raises(CeleryTimeoutError):
        ping_task.ask(timeout=2)  # no worker: it stays unanswered

    first, *others = clock.waits
    assert first == tasks.FIRST_WAIT
    assert all(later <= earlier * tasks.WAIT_GROWTH + 1e-9 for earlier, later in zip(clock.waits, others, strict=False))
    assert max(clock.waits) == tasks.LONGEST_WAIT
    assert sum(clock.waits) == pytest.approx(2)  # the last wait cut short at the timeout, none past it
    assert store_reads(queries) == len(clock.waits) + 1  # once before the first wait and once after each


def test_every_question_is_sent_before_the_first_answer_is_waited_for(broker, clock):
    answers = ping_task.ask_all(timeout=1, each=[{}, {}, {}])

    with pytest.raises(CeleryTimeoutError):
        next(answers)

    assert broker.queue_length("default") == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_answers_come_back_in_the_order_asked_and_an_answer_already_written_is_read_once(celery_worker_process):
    celery_worker_process("default")
    answers = ping_task.ask_all(timeout=60, each=[{}, {}])

    first = next(answers)
    # The second was asked with the first: the worker answers it while nobody waits for it.
    wait_until(lambda: _answered() == 2, timeout=60, what="the second question answered")
    with CaptureQueriesContext(connection) as queries:
        second = next(answers)

    assert first["queue"] == second["queue"] == "default"
    assert first["at"] < second["at"]  # one worker answered them in the order they were asked
    assert store_reads(queries) == 1


def _answered() -> int:
    from django_celery_results.models import TaskResult

    return TaskResult.objects.filter(status="SUCCESS").count()
