import pytest
from django.test import override_settings


def redis_cache_at(url: str) -> dict:
    from django.conf import settings

    default = settings.CACHES["default"]
    return {"default": {**default, "LOCATION": url}}


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
