"""/metrics for Prometheus: who may read it, and that what happens — searches, holds, payments, e-mails, queued and run
tasks — moves the figures it answers. The figures are read as Prometheus reads them (prometheus_client's parser)."""

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.test import Client
from django.urls import path
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bookings.flows import checkout
from bookings.flows.checkout import payment_open
from bookings.tests.factories import ADULT, held_booking, pay_with_demo_card
from conftest import free_port, wait_until
from ferries.cache import cache_service
from ferries.tests.factories import VesselFactory, sailing_factory
from maritime.celery import app as celery_app
from maritime.tasks import ping_task
from maritime.views import livez
from notifications.models import Email
from payments.models import DemoIntent

TOKEN = "metrics-" + "x7Qp2" * 8
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
BASE_DIR = Path(settings.BASE_DIR)
ALERT_RULES = BASE_DIR / "deploy" / "prometheus" / "alerts.yml"
RESPONSES = "django_http_responses_total_by_status_view_method_total"
LATENCY = "django_http_requests_latency_seconds_by_view_method"
DASHBOARD = BASE_DIR / "deploy" / "grafana" / "dashboards" / "maritime.json"


@pytest.fixture(autouse=True)
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of what /metrics answers the token's bearer."""
    response = client.get("/metrics", **BEARER)
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(figures: dict, name: str, **labels) -> float:
    return figures.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: dict, after: dict, name: str, **labels) -> float:
    """How much a counter went up between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


# --- who may read it ------------------------------------------------------------------------------


def test_metrics_are_refused_without_the_token(client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401


@pytest.mark.django_db
def test_metrics_are_answered_to_the_bearer_of_the_token(client):
    response = client.get("/metrics", **BEARER)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {"maritime_booking_holds", "maritime_emails", "maritime_queue_length"} <= names


@pytest.mark.django_db
def test_metrics_are_answered_whatever_host_name_and_scheme_prometheus_uses(client, settings):
    """Prometheus scrapes web:8000 over plain HTTP inside the stack's network: no ALLOWED_HOSTS name, no TLS."""
    settings.ALLOWED_HOSTS = ["ferries.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/metrics", HTTP_HOST="web:8000", **BEARER).status_code == 200
    assert client.get("/metrics", HTTP_HOST="web:8000").status_code == 401
    assert client.get("/healthz", HTTP_HOST="web:8000").status_code == 400  # the rest of the site is as before


@pytest.mark.django_db
def test_metrics_answer_404_in_production_when_no_token_is_set(client, settings):
    settings.PRODUCTION = True
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


# --- what happens moves the counters --------------------------------------------------------------


@pytest.mark.django_db
def test_a_search_asked_twice_counts_a_miss_then_a_hit_as_the_cache_stats_do(client, tunis_marseille):
    sailing = sailing_factory(route=tunis_marseille, departs_in=dt.timedelta(days=10))
    url = f"/api/v1/sailings/search?from=TNTUN&to=FRMRS&date={sailing.departs_at.date().isoformat()}&adults=1"
    before, stats_before = scrape(client), cache_service.stats()

    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200

    after, stats_after = scrape(client), cache_service.stats()
    for kind in ("search", "availability"):
        lookups = moved(before, after, "maritime_cache_lookups_total", cache=kind)
        misses = moved(before, after, "maritime_cache_misses_total", cache=kind)
        assert (lookups, misses) == (
            stats_after[kind]["lookups"] - stats_before[kind]["lookups"],
            stats_after[kind]["misses"] - stats_before[kind]["misses"],
        ), kind
    search_lookups = moved(before, after, "maritime_cache_lookups_total", cache="search")
    search_misses = moved(before, after, "maritime_cache_misses_total", cache="search")
    assert search_misses >= 1
    assert search_lookups - search_misses >= 1  # the second search was a hit


@pytest.mark.django_db
def test_a_hold_made_and_a_hold_refused_are_counted(client, tunis_marseille, django_capture_on_commit_callbacks):
    full = sailing_factory(route=tunis_marseille, vessel=VesselFactory(passenger_capacity=1))
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        held_booking()
    with pytest.raises(Exception, match="Sold out"):
        held_booking(full, passengers=[ADULT, {**ADULT, "first_name": "Sami"}])

    after = scrape(client)
    for outcome in ("created", "refused"):
        assert moved(before, after, "maritime_booking_holds_total", outcome=outcome) == 1, outcome


@pytest.mark.django_db
def test_a_hold_rolled_back_is_not_counted_as_created(client, django_capture_on_commit_callbacks):
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # the transaction never commits
        held_booking()

    assert callbacks  # the count waited for a commit
    assert value(scrape(client), "maritime_booking_holds_total", outcome="created") == value(
        before, "maritime_booking_holds_total", outcome="created"
    )


@pytest.mark.django_db
def test_a_payment_that_succeeds_and_one_declined_are_counted(client, django_capture_on_commit_callbacks):
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        pay_with_demo_card(held_booking())
        declined = payment_open(booking_id=held_booking().pk)
        DemoIntent.objects.filter(intent_id=declined.intent_id).update(last_error="Your card was declined.")
        checkout.payment_reconcile(payment_id=declined.pk)

    after = scrape(client)
    for outcome in ("succeeded", "failed"):
        assert moved(before, after, "maritime_payments_total", outcome=outcome) == 1, outcome


# --- figures read at the scrape -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_email_gauge_counts_the_outbox_by_status(client):
    booking = held_booking()
    for index, status in enumerate(["queued", "queued", "sending", "failed", "sent", "sent", "sent"]):
        Email.objects.create(
            kind=Email.Kind.HOLD_EXPIRED, booking=booking, key=str(index), recipient="amira@example.com", status=status,
            sent_at=timezone.now() if status == "sent" else None,
        )  # fmt: skip
    Email.objects.filter(status="queued").update(created_at=timezone.now() - dt.timedelta(minutes=45))

    figures = scrape(client)

    counts = {status: Email.objects.filter(status=status).count() for status in Email.Status.values}
    assert counts == {"queued": 2, "sending": 1, "sent": 3, "failed": 1}
    assert {status: value(figures, "maritime_emails", status=status) for status in counts} == counts
    assert value(figures, "maritime_email_oldest_unsent_age_seconds") >= 45 * 60


@pytest.mark.django_db
def test_the_queue_gauge_reads_the_messages_waiting_in_the_broker(client, broker):
    for _ in range(3):
        celery_app.send_task("notifications.tasks.send_booking_confirmation_email_task", kwargs={"booking_id": 1})
    celery_app.send_task("payments.tasks.process_payment_webhook_task", kwargs={"event_id": "evt_1"})

    figures = scrape(client)

    lengths = {queue: value(figures, "maritime_queue_length", queue=queue) for queue in ("emails", "payments")}
    assert lengths == {"emails": 3, "payments": 1}
    assert lengths == {queue: broker.queue_length(queue) for queue in lengths}
    assert value(figures, "maritime_queue_length", queue="bookings") == 0
    assert value(figures, "maritime_figure_readable", figure="queues") == 1


@pytest.mark.django_db
def test_a_broker_that_cannot_be_read_is_said_so_and_the_rest_is_answered(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    figures = scrape(client)

    assert value(figures, "maritime_figure_readable", figure="queues") == 0
    assert ("maritime_queue_length", (("queue", "emails"),)) not in figures
    assert value(figures, "maritime_figure_readable", figure="emails") == 1


@pytest.mark.django_db
def test_the_alert_thresholds_are_those_of_the_settings(client, settings):
    settings.ALERT_QUEUE_BACKLOG = 77

    figures = scrape(client)

    assert value(figures, "maritime_alert_threshold", setting="ALERT_QUEUE_BACKLOG") == 77
    assert value(figures, "maritime_alert_threshold", setting="ALERT_EMAIL_AGE_MINUTES") == (
        settings.ALERT_EMAIL_AGE_MINUTES
    )


# --- several processes ----------------------------------------------------------------------------


def run_python(code: str, env: dict) -> str:
    command = [sys.executable, "-c", code]
    result = subprocess.run(
        command, cwd=BASE_DIR, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_counts_of_several_processes_are_added_up_in_multiprocess_mode(tmp_path):
    """As gunicorn's workers: each process writes its own file in PROMETHEUS_MULTIPROC_DIR, and a scrape adds them."""
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    count = "from kernel.metrics import BOOKING_HOLDS; BOOKING_HOLDS.labels(outcome='created').inc()"
    run_python(count, env)
    run_python(count, env)

    text = run_python(
        "from kernel.metrics import exposition, metrics_registry; print(exposition(metrics_registry())[0].decode())",
        env,
    )

    assert value(samples(text), "maritime_booking_holds_total", outcome="created") == 2


@pytest.mark.worker
def test_a_worker_serves_its_task_latency_and_outcomes_to_the_bearer_of_the_token(celery_worker_process, tmp_path):
    port = free_port()
    celery_worker_process(
        "default",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        WORKER_METRICS_PORT=str(port),
        METRICS_TOKEN=TOKEN,
    )
    assert ping_task.apply_async(queue="default").get(timeout=60)["queue"] == "default"

    def worker_figures():
        url, headers = f"http://127.0.0.1:{port}/metrics", {"Authorization": f"Bearer {TOKEN}"}
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                figures = samples(response.read().decode())
        except OSError:
            return None
        # The task's post-run signal comes just after its result is stored.
        return figures if value(figures, "maritime_tasks_finished_total", queue="default", state="SUCCESS") else None

    figures = wait_until(worker_figures, timeout=60, what="the worker's metrics count the task")
    assert value(figures, "maritime_tasks_finished_total", queue="default", state="SUCCESS") == 1
    assert value(figures, "maritime_task_wait_seconds_count", queue="default") == 1
    assert value(figures, "maritime_task_run_seconds_count", queue="default") == 1
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert refused.value.code == 401


# --- the alert rules ------------------------------------------------------------------------------


def alert_rules() -> dict[str, dict]:
    document = yaml.safe_load(ALERT_RULES.read_text())
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"]}


def test_the_alert_rules_watch_each_threshold_of_the_email_alerts_and_the_5xx_rate():
    rules = alert_rules()

    expressions = "\n".join(rule["expr"] for rule in rules.values())
    for setting in ("ALERT_QUEUE_BACKLOG", "ALERT_FAILED_TASKS_PER_HOUR", "ALERT_EMAIL_AGE_MINUTES"):
        assert f'setting="{setting}"' in expressions, setting
    assert 'setting="ALERT_WEBHOOK_AGE_MINUTES"' in expressions
    assert any('status=~"5.."' in rule["expr"] for rule in rules.values())
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"], name


def expressions() -> dict[str, str]:
    """Every PromQL expression of the alert rules and of the Grafana dashboard, by where it is."""
    found = {f"alert {name}": rule["expr"] for name, rule in alert_rules().items()}
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            found[f"panel {panel['title']} {target['refId']}"] = target["expr"]
    return found


@pytest.mark.django_db
def test_the_alert_rules_and_the_dashboard_name_only_metrics_that_are_served(client):
    client.get("/livez")  # a request, so that django-prometheus's families have samples
    text = client.get("/metrics", **BEARER).content.decode()
    # Every family is declared by its HELP line, samples or not yet (a 5xx, a task run: the workers serve those).
    declared = set(re.findall(r"^# HELP (\S+)", text, re.M))

    for where, expression in expressions().items():
        for metric in re.findall(r"\b((?:maritime|django)_[a-z0-9_]+)", expression):
            assert re.sub(r"_(bucket|count|sum)$", "", metric) in declared, f"{where}: {metric}"


def need_promtool() -> None:
    if not shutil.which("promtool"):
        pytest.fail("These tests need promtool (Debian package `prometheus`; .ci/run installs it).")


def test_promtool_accepts_the_alert_rules():
    need_promtool()
    result = subprocess.run(["promtool", "check", "rules", str(ALERT_RULES)], capture_output=True, text=True)

    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_prometheus_configuration(tmp_path):
    need_promtool()
    token = tmp_path / "token"
    token.write_text(TOKEN)
    config = (BASE_DIR / "deploy" / "prometheus" / "prometheus.yml").read_text()
    # The container's paths, here the test's.
    config = config.replace("/etc/prometheus/alerts.yml", str(ALERT_RULES)).replace(
        "/run/metrics-token/token", str(token)
    )
    (tmp_path / "prometheus.yml").write_text(config)

    result = subprocess.run(
        ["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr


# --- requests by view -----------------------------------------------------------------------------


def boom(request):
    raise RuntimeError("the view failed")


urlpatterns = [path("boom", boom, name="boom"), path("livez", livez, name="livez")]


@pytest.mark.django_db
def test_a_request_counts_its_response_by_status_view_and_method_and_its_latency_by_view_once(client):
    before = scrape(client)

    assert client.get("/livez").status_code == 200
    assert client.post("/livez").status_code == 405

    after = scrape(client)
    assert moved(before, after, RESPONSES, status="200", view="livez", method="GET") == 1
    assert moved(before, after, RESPONSES, status="405", view="livez", method="POST") == 1
    assert moved(before, after, LATENCY + "_count", view="livez", method="GET") == 1
    assert moved(before, after, LATENCY + "_count", view="livez", method="POST") == 1


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_view_that_raises_counts_its_exception_and_one_500_with_its_latency():
    client = Client(raise_request_exception=False)
    before = scrape(client)

    assert client.get("/boom").status_code == 500

    after = scrape(client)
    assert moved(before, after, "django_http_exceptions_total_by_type_total", type="RuntimeError") == 1
    assert moved(before, after, "django_http_exceptions_total_by_view_total", view="boom") == 1
    assert moved(before, after, RESPONSES, status="500", view="boom", method="GET") == 1
    assert moved(before, after, LATENCY + "_count", view="boom", method="GET") == 1


@pytest.mark.django_db
def test_a_method_nobody_knows_is_counted_under_one_label_not_its_own(client):
    before = scrape(client)

    client.generic("BREW", "/livez")

    after = scrape(client)
    assert moved(before, after, RESPONSES, status="405", view="livez", method="<invalid method>") == 1
    assert moved(before, after, LATENCY + "_count", view="livez", method="<invalid method>") == 1
    assert not any(dict(labels).get("method") == "BREW" for _name, labels in after)


@pytest.mark.django_db
def test_only_the_request_families_that_are_read_are_declared(client):
    client.get("/livez")
    text = client.get("/metrics", **BEARER).content.decode()
    declared = {name for name in re.findall(r"^# HELP (django_http_\S+)", text, re.M)}

    assert declared == {
        "django_http_requests_before_middlewares_total",
        "django_http_responses_before_middlewares_total",
        "django_http_requests_latency_including_middlewares_seconds",
        "django_http_requests_unknown_latency_including_middlewares_total",
        "django_http_responses_total_by_status_view_method_total",
        "django_http_requests_latency_seconds_by_view_method",
        "django_http_requests_unknown_latency_total",
        "django_http_exceptions_total_by_type_total",
        "django_http_exceptions_total_by_view_total",
    }
