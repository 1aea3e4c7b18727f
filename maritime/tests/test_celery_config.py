"""The effective Celery configuration, as a worker would see it.

Celery ignores a setting it does not know, so a misspelled CELERY_ name would pass silently: these
tests read the configuration back from the app, and check every CELERY_ setting is a real one.
"""

import pytest
from celery.app.defaults import DEFAULTS
from celery.fixups.django import DjangoWorkerFixup
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.db import OperationalError

from kernel.tasks import Task
from maritime.celery import app as celery_app

QUEUES = {"default", "emails", "payments", "bookings"}
# How long PostgreSQL may be away while it restarts (faults/test_database_restart.py: stopped, two seconds, started).
DATABASE_RESTART = 5
# Read by Celery's Django fix-up (celery/fixups/django.py) rather than listed with the app's settings.
DJANGO_FIXUP_SETTINGS = {"db_reuse_max"}


def test_every_celery_setting_is_one_celery_knows():
    ours = {name.removeprefix("CELERY_").lower() for name in dir(settings) if name.startswith("CELERY_")}

    assert ours - set(DEFAULTS) - DJANGO_FIXUP_SETTINGS == set()


def test_workers_keep_their_database_connection_across_tasks():
    assert DjangoWorkerFixup(celery_app).db_reuse_max == settings.CELERY_DB_REUSE_MAX > 1


def test_tasks_and_results_are_json_only():
    conf = celery_app.conf

    assert conf.task_serializer == "json"
    assert conf.result_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.result_accept_content == ["json"]


def test_tasks_are_acknowledged_late_and_redelivered_when_a_worker_dies():
    conf = celery_app.conf

    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


def test_queues_are_declared_each_with_its_own_exchange():
    queues = {queue.name: queue for queue in celery_app.conf.task_queues}

    assert set(queues) == QUEUES
    for name, queue in queues.items():
        assert (queue.exchange.name, queue.routing_key) == (name, name)
    assert celery_app.conf.task_default_queue == "default"
    assert celery_app.conf.task_create_missing_queues is False


def test_routes_send_each_app_module_to_its_queue():
    route = celery_app.amqp.router.route

    assert route({}, "notifications.tasks.send_refund_email_task")["queue"].name == "emails"
    assert route({}, "payments.tasks.process_payment_webhook_task")["queue"].name == "payments"
    assert route({}, "bookings.tasks.check_ferry_availability_task")["queue"].name == "bookings"
    assert route({}, "maritime.tasks.ping_task")["queue"].name == "default"


def test_results_go_to_the_database_and_beat_reads_its_schedule_from_it():
    assert celery_app.conf.result_backend == "django-db"
    assert celery_app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_visibility_timeout_outlasts_every_retry_countdown():
    visibility_timeout = celery_app.conf.broker_transport_options["visibility_timeout"]
    ours = [task for name, task in celery_app.tasks.items() if not name.startswith("celery.")]

    assert ours, "the project's tasks are registered"
    # 600 s is Celery's own cap for a task that sets none.
    longest = max(max(getattr(task, "retry_backoff_max", 600), task.default_retry_delay) for task in ours)
    assert visibility_timeout > longest >= 600


def shortest_retry_budget(task) -> float:
    """The least time in which a task's retries can all be spent, the waits drawn as Celery's autoretry draws them."""
    if not task.retry_backoff:
        return task.default_retry_delay * task.max_retries
    if task.retry_jitter:
        return 0  # each wait drawn between 0 and its backoff
    factor = int(max(1.0, task.retry_backoff))
    return sum(
        get_exponential_backoff_interval(factor, retries, task.retry_backoff_max, full_jitter=False)
        for retries in range(task.max_retries)
    )


def test_every_task_retrying_database_errors_outlasts_a_database_restart():
    route = celery_app.amqp.router.route
    ours = [task for name, task in celery_app.tasks.items() if not name.startswith("celery.")]
    retrying = [task for task in ours if issubclass(OperationalError, tuple(getattr(task, "autoretry_for", ()) or ()))]

    assert {route({}, task.name)["queue"].name for task in retrying} == {"emails", "payments", "bookings"}
    budgets = {task.name: shortest_retry_budget(task) for task in retrying}
    assert {name: budget for name, budget in budgets.items() if budget < DATABASE_RESTART} == {}


@pytest.mark.parametrize("backoff", [1, 2, 4, 8, 16])
def test_a_retry_waits_at_least_its_backoff_and_the_waits_of_tasks_failed_together_spread(backoff):
    waits = [Task.retry_wait(backoff, cap=300) for _ in range(200)]

    assert min(waits) >= backoff
    assert max(waits) <= backoff * 1.5
    assert max(waits) - min(waits) > backoff / 4, "the waits are drawn, not all the same"


def test_a_retry_wait_stays_within_the_queues_cap():
    assert {Task.retry_wait(600, cap=600) for _ in range(20)} == {600}
    assert Task.retry_wait(400, cap=500) <= 500


def test_publishing_gives_up_quickly_when_the_broker_is_down():
    policy = celery_app.conf.task_publish_retry_policy
    worst_case = sum(
        min(policy["interval_start"] + i * policy["interval_step"], policy["interval_max"])
        for i in range(policy["max_retries"])
    )

    assert celery_app.conf.task_publish_retry is True
    assert worst_case <= 2


def test_workers_report_task_events_and_the_web_sends_none_of_its_own():
    assert celery_app.conf.worker_send_task_events is True
    assert celery_app.conf.task_send_sent_event is False
