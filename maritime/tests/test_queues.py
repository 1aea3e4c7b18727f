"""Tasks reach their queues through the real Redis broker, and real workers consume them."""

import json
from io import StringIO

import pytest
from celery.utils.saferepr import saferepr
from django.core.management import CommandError, call_command

from conftest import KEY_PREFIX, wait_until
from maritime.celery import app as celery_app
from maritime.tasks import ping_task

# One task name per module, as the brief names them; routing is by module, so any name in it will do.
TASK_QUEUES = {
    "notifications.tasks.send_booking_confirmation_email_task": "emails",
    "payments.tasks.process_payment_webhook_task": "payments",
    "bookings.tasks.check_ferry_availability_task": "bookings",
    "maritime.tasks.ping_task": "default",
}


@pytest.mark.parametrize(("task_name", "queue"), TASK_QUEUES.items())
def test_a_task_sent_with_no_worker_waits_in_its_own_queue_only(broker, task_name, queue):
    celery_app.send_task(task_name, kwargs={"booking_id": 1})

    lengths = {name: broker.queue_length(name) for name in set(TASK_QUEUES.values())}
    assert lengths == {name: int(name == queue) for name in lengths}


def test_a_task_enqueued_says_its_arguments_as_celery_would_for_flower_and_the_results(broker):
    from notifications.tasks import send_refund_email_task

    assert send_refund_email_task.enqueue(email_id=41) is True

    message = json.loads(broker.client.lindex(broker.prefix + "emails", 0))
    assert message["headers"]["task"] == send_refund_email_task.name
    assert message["headers"]["argsrepr"] == saferepr(())
    assert message["headers"]["kwargsrepr"] == saferepr({"email_id": 41}) == "{'email_id': 41}"


def test_registered_tasks_of_each_app_are_routed_to_its_queue():
    module_queue = {"notifications": "emails", "payments": "payments", "bookings": "bookings"}
    for name in celery_app.tasks:
        app_label = name.split(".", 1)[0]
        if app_label in module_queue:
            assert celery_app.amqp.router.route({}, name)["queue"].name == module_queue[app_label], name


@pytest.mark.worker
def test_a_real_worker_consumes_a_task_from_each_queue(celery_worker_process, broker):
    celery_worker_process("default,emails,payments,bookings")

    results = {queue: ping_task.apply_async(queue=queue) for queue in ("default", "emails", "payments", "bookings")}

    answered = {queue: result.get(timeout=60)["queue"] for queue, result in results.items()}
    assert answered == {queue: queue for queue in results}
    assert all(broker.queue_length(queue) == 0 for queue in results)


@pytest.mark.worker
def test_a_task_enqueued_before_any_worker_declared_its_queue_is_taken_by_the_worker_that_starts(
    celery_worker_process, broker
):
    # Enqueueing declares nothing (kernel.tasks.Task.enqueue): the message goes to its queue by name, and the worker
    # declares the queues it reads when it starts.
    bindings = broker.prefix + "_kombu.binding.*"
    assert ping_task.enqueue() is True

    assert broker.queue_length("default") == 1
    assert list(broker.client.scan_iter(match=bindings)) == []
    celery_worker_process("default")
    wait_until(lambda: broker.idle() and broker.queue_length("default") == 0, timeout=60, what="the task taken")
    assert list(broker.client.scan_iter(match=bindings)) != []


@pytest.mark.worker
def test_a_worker_takes_only_the_queues_it_is_given(celery_worker_process, broker):
    celery_worker_process("emails")

    waiting = ping_task.apply_async(queue="payments")
    consumed = ping_task.apply_async(queue="emails")

    assert consumed.get(timeout=60)["queue"] == "emails"
    assert waiting.state == "PENDING"
    assert broker.queue_length("payments") == 1


@pytest.mark.worker
def test_ping_queues_names_the_worker_of_each_live_queue_and_fails_on_a_silent_one(celery_worker_process, broker):
    celery_worker_process("emails,bookings")
    out = StringIO()

    call_command("ping_queues", "emails", "bookings", "--timeout", "60", stdout=out)
    with pytest.raises(CommandError, match="No worker answered on: payments"):
        call_command("ping_queues", "payments", "--timeout", "1", stdout=out)

    answers = [line.split(maxsplit=1) for line in out.getvalue().splitlines()]
    assert [queue for queue, _ in answers] == ["emails", "bookings", "payments"]
    assert answers[0][1].startswith(KEY_PREFIX)
    assert answers[1][1].startswith(KEY_PREFIX)
    assert answers[2][1] == "no worker answered within 1s"


def test_ping_queues_refuses_an_unknown_queue_naming_it():
    with pytest.raises(CommandError, match="unknown queue mails"):
        call_command("ping_queues", "mails")
