"""Tasks reach their queues through the real Redis broker, and real workers consume them."""

import pytest

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
def test_a_worker_takes_only_the_queues_it_is_given(celery_worker_process, broker):
    celery_worker_process("emails")

    waiting = ping_task.apply_async(queue="payments")
    consumed = ping_task.apply_async(queue="emails")

    assert consumed.get(timeout=60)["queue"] == "emails"
    assert waiting.state == "PENDING"
    assert broker.queue_length("payments") == 1
