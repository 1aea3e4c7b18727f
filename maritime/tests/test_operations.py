"""Operational figures read from the real broker and database: queue_stats and the admin's operations page."""

import datetime as dt
import json
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_results.models import TaskResult

from maritime.operations import QUEUES, queue_figures, queue_samples, queue_samples_record, task_figures, tasks_per_hour
from maritime.tasks import ping_task


def task_result(status: str, *, ago: dt.timedelta) -> TaskResult:
    result = TaskResult.objects.create(task_id=f"t-{TaskResult.objects.count()}", task_name="x", status=status)
    TaskResult.objects.filter(pk=result.pk).update(date_done=timezone.now() - ago)  # date_done is set on each save
    return result


def test_a_queue_s_length_counts_its_messages_of_every_priority(broker):
    for priority in (0, 4, 9):
        ping_task.apply_async(queue="bookings", priority=priority)

    figures = queue_figures()

    assert figures["bookings"]["length"] == 3
    assert broker.queue_length("bookings") == 1, "kombu keeps priorities above 0 in lists of their own"
    assert {figures[q]["length"] for q in ("emails", "payments", "default")} == {0}


def test_the_oldest_message_s_age_is_counted_from_when_it_was_published(broker):
    ping_task.apply_async(queue="payments")
    published = time.time()
    ping_task.apply_async(queue="payments", priority=9)

    age = queue_figures(now=published + 90)["payments"]["oldest_age_seconds"]

    assert 89 <= age <= 90.5


def test_a_message_published_without_a_time_leaves_its_queue_s_age_unknown(broker):
    ping_task.apply_async(queue="default")
    undated = {"body": "", "headers": {"task": "maritime.tasks.ping_task"}, "properties": {}}
    broker.client.rpush(broker.prefix + "default", json.dumps(undated))  # the right end is taken first: the oldest

    figure = queue_figures()["default"]

    assert figure == {"length": 2, "oldest_age_seconds": None}


def test_queue_stats_prints_each_queue_s_length_and_oldest_wait(broker):
    ping_task.apply_async(queue="emails")
    out = StringIO()

    call_command("queue_stats", stdout=out)

    lines = [line.split() for line in out.getvalue().splitlines()]
    assert lines[0] == ["queue", "length", "oldest", "waiting"]
    assert {line[0]: line[1] for line in lines[1:]} == {"default": "0", "emails": "1", "payments": "0", "bookings": "0"}
    assert next(line for line in lines if line[0] == "emails")[2].endswith("m")


def test_queue_stats_answers_json_for_scripts(broker):
    out = StringIO()

    call_command("queue_stats", "--json", stdout=out)

    assert json.loads(out.getvalue())["payments"] == {"length": 0, "oldest_age_seconds": None}


def test_queue_stats_names_the_broker_it_cannot_reach_without_its_password(settings):
    settings.CELERY_BROKER_URL = "redis://:s3cret@127.0.0.1:1/0"  # nothing listens on port 1

    with pytest.raises(CommandError, match=r"cannot read the broker at redis://:\*\*@127\.0\.0\.1:1/0") as refused:
        call_command("queue_stats", stdout=StringIO())

    assert "s3cret" not in str(refused.value)


def test_queue_stats_says_when_tasks_run_eagerly(eager_tasks):
    out = StringIO()

    call_command("queue_stats", stdout=out)

    lines = out.getvalue().splitlines()
    assert [line.split() for line in lines[1:5]] == [[queue, "0", "eager"] for queue in QUEUES]
    assert "nothing queues" in lines[5]


@pytest.mark.django_db
def test_failed_and_retrying_tasks_are_counted_over_the_last_day():
    task_result("FAILURE", ago=dt.timedelta(minutes=10))
    task_result("FAILURE", ago=dt.timedelta(hours=3))
    task_result("FAILURE", ago=dt.timedelta(hours=25))
    task_result("RETRY", ago=dt.timedelta(hours=1, minutes=5))
    task_result("SUCCESS", ago=dt.timedelta(minutes=1))

    assert task_figures(now=timezone.now()) == {"failed_24h": 2, "failed_last_hour": 1, "retrying_24h": 1}


@pytest.mark.django_db
def test_tasks_per_hour_counts_successes_and_failures_in_each_of_the_last_twelve_hours():
    task_result("SUCCESS", ago=dt.timedelta(0))
    task_result("SUCCESS", ago=dt.timedelta(0))
    task_result("FAILURE", ago=dt.timedelta(hours=2))
    task_result("FAILURE", ago=dt.timedelta(hours=13))

    hours = tasks_per_hour(now=timezone.now())

    assert len(hours) == 12
    assert (hours[-1]["succeeded"], hours[-1]["failed"]) == (2, 0)
    assert (hours[-3]["succeeded"], hours[-3]["failed"]) == (0, 1)
    assert sum(hour["failed"] for hour in hours) == 1


def test_queue_samples_keep_the_last_twelve_hours():
    now = time.time()
    queue_samples_record(lengths={"emails": 3}, at=now - 13 * 3600)
    queue_samples_record(lengths={"emails": 5}, at=now - 60)

    assert queue_samples(now=now) == [(round(now - 60), {"emails": 5})]


@pytest.mark.django_db
def test_staff_see_the_operations_page_with_figures_charts_and_links(admin_client, broker):
    ping_task.apply_async(queue="emails")
    queue_samples_record(lengths={"emails": 1, "payments": 0, "bookings": 0, "default": 0}, at=time.time())
    task_result("FAILURE", ago=dt.timedelta(minutes=5))

    response = admin_client.get("/admin/operations/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "<polyline" in page, "queue lengths of the last hours"
    assert "0 succeeded, 1 failed" in page, "tasks of the last hours"
    assert "/admin/django_celery_beat/periodictask/" in page
    assert "/admin/django_celery_results/taskresult/" in page
    assert response.context["figures"]["queues"]["emails"]["length"] == 1
    assert "ALERT_QUEUE_BACKLOG" in page


@pytest.mark.django_db
def test_the_admin_index_links_to_the_operations_page(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert 'href="/admin/operations/"' in page


@pytest.mark.django_db
def test_the_operations_page_is_for_staff_only(client, django_user_model):
    traveller = django_user_model.objects.create_user("amira", password="a long pass phrase")
    client.force_login(traveller)

    response = client.get("/admin/operations/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
