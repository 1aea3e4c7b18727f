import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from bookings.tests.factories import held_booking
from conftest import KEY_PREFIX
from maritime.tasks import ping_task
from notifications.models import Email
from notifications.services import email_enqueue
from payments.models import WebhookEvent


def redis_cache_at(url: str) -> dict:
    from django.conf import settings

    default = settings.CACHES["default"]
    return {"default": {**default, "LOCATION": url}}


# No django_db mark: a query would fail the test.
def test_livez_answers_alive_asking_neither_the_database_nor_redis(client, settings):
    settings.CACHES = redis_cache_at("redis://127.0.0.1:1/0")  # nothing there: liveness does not care

    response = client.get("/livez")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


@pytest.mark.django_db
def test_healthz_answers_200_when_database_cache_and_broker_are_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
    }
    assert body["checks"]["cache"]["backend"] == "redis"
    assert body["checks"]["database"]["vendor"] == "postgresql"


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_cache_when_its_redis_goes_down(client, private_redis_server):
    with override_settings(CACHES=redis_cache_at(private_redis_server.url)):
        assert client.get("/healthz").status_code == 200

        private_redis_server.terminate()
        private_redis_server.wait(timeout=10)
        response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["cache"]
    assert body["checks"]["cache"]["status"] == "error"
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_broker_when_its_redis_goes_down(client, private_redis_server, settings):
    settings.CELERY_BROKER_URL = private_redis_server.url
    assert client.get("/healthz").status_code == 200

    private_redis_server.terminate()
    private_redis_server.wait(timeout=10)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]


def test_healthz_refuses_anything_but_get(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_healthz_reports_each_queue_s_length_and_how_long_its_oldest_task_has_waited(client, broker):
    ping_task.apply_async(queue="emails")
    ping_task.apply_async(queue="emails")

    queues = client.get("/healthz").json()["figures"]["queues"]

    assert set(queues) == {"emails", "payments", "bookings", "default"}
    assert queues["emails"]["length"] == 2
    assert queues["emails"]["oldest_age_seconds"] >= 0
    assert queues["payments"] == {"length": 0, "oldest_age_seconds": None}


@pytest.mark.django_db
def test_healthz_reports_unsent_e_mails_unprocessed_webhooks_and_the_cache_hit_rate(client, broker):
    email_enqueue(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS)
    Email.objects.update(created_at=timezone.now() - dt.timedelta(minutes=7))
    WebhookEvent.objects.create(event_id="evt_1", type="payment_intent.succeeded", payload={})
    WebhookEvent.objects.create(event_id="evt_2", type="charge.refunded", payload={}, processed_at=timezone.now())

    figures = client.get("/healthz").json()["figures"]

    assert figures["emails"]["unsent"] == 1
    assert 7 * 60 <= figures["emails"]["oldest_unsent_age_seconds"] < 8 * 60
    assert figures["webhooks"]["unprocessed"] == 1
    assert figures["webhooks"]["oldest_unprocessed_age_seconds"] >= 0
    assert set(figures["cache"]) == {"search_hit_rate", "availability_hit_rate"}


@pytest.mark.django_db
def test_healthz_reads_every_figure_in_a_handful_of_queries(client, broker, django_assert_max_num_queries):
    for _ in range(3):
        email_enqueue(booking=held_booking(), kind=Email.Kind.PAYMENT_SUCCESS)

    with django_assert_max_num_queries(4):  # the database check, e-mails, webhooks; whatever the rows
        assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_with_the_broker_down_healthz_names_it_and_leaves_the_queue_figures_null(
    client, private_redis_server, settings
):
    settings.CELERY_BROKER_URL = private_redis_server.url
    private_redis_server.stop()

    response = client.get("/healthz")

    assert response.status_code == 503
    figures = response.json()["figures"]
    assert figures["queues"] is None
    assert figures["emails"] == {"unsent": 0, "oldest_unsent_age_seconds": None}


@pytest.mark.django_db
def test_a_figure_that_cannot_be_read_is_null_and_healthz_stays_200(client, broker, settings, caplog):
    # The broker answers, but what stands where a queue should be is no list.
    prefix = f"{KEY_PREFIX}:broken:"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": prefix}
    broker.client.set(prefix + "emails", "not a list", ex=60)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["figures"]["queues"] is None
    assert "operations figure queues could not be read" in caplog.text
    broker.client.delete(prefix + "emails")


@pytest.mark.django_db
def test_with_tasks_run_eagerly_queues_are_empty_and_say_so(client, eager_tasks):
    queues = client.get("/healthz").json()["figures"]["queues"]

    assert queues["emails"] == {"length": 0, "oldest_age_seconds": None, "mode": "eager"}
