"""Task arguments are stored with their results (django-celery-results): they carry ids and codes only."""

import inspect

from maritime.celery import app as celery_app

# Ids of our rows, and the brief's availability check, which speaks of sailings and counts, not people.
ALLOWED = {
    "booking_id", "change_id", "email_id", "event_id", "refund_id", "payment_id",
    "operator", "sailing_id", "departure_port", "arrival_port", "departure_time", "passenger_count", "vehicle_count",
}  # fmt: skip


def test_every_task_of_ours_takes_ids_and_codes_only():
    celery_app.loader.import_default_modules()
    ours = {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}

    assert len(ours) >= 15
    for name, task in ours.items():
        parameters = set(inspect.signature(task.run).parameters) - {"self"}
        assert parameters <= ALLOWED, f"{name} takes {parameters - ALLOWED}"


def test_every_task_of_ours_is_routed_to_a_declared_queue():
    celery_app.loader.import_default_modules()
    queues = {queue.name for queue in celery_app.conf.task_queues}

    for name in celery_app.tasks:
        if not name.startswith("celery."):
            assert celery_app.amqp.router.route({}, name)["queue"].name in queues, name
