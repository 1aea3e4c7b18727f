"""The site's /metrics for Prometheus: the counters of every web process (kernel/metrics.py), and the operations
figures read at the scrape — e-mails by status, queue lengths, the ages the alerts watch, the alert thresholds.

Only the web serves the figures read at the scrape (one database aggregate per figure, one pipelined read of the
broker): each worker serves its own counters on WORKER_METRICS_PORT (maritime/celery.py), and would repeat them.
"""

import logging

from django.conf import settings
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from kernel.metrics import exposition, metrics_registry, token_accepted
from maritime.operations import figures_read
from notifications.models import Email

logger = logging.getLogger(__name__)

PATH = "/metrics"
# The e-mail alerts' thresholds (maritime/alerts.py), exposed so that Prometheus's rules compare with the same values.
THRESHOLDS = (
    "ALERT_QUEUE_BACKLOG",
    "ALERT_FAILED_TASKS_PER_HOUR",
    "ALERT_EMAIL_AGE_MINUTES",
    "ALERT_WEBHOOK_AGE_MINUTES",
)


class MetricsEndpointMiddleware:
    """Answers /metrics itself, first of all middleware: Prometheus scrapes the web processes from inside their network,
    by an address that is no public host name (ALLOWED_HOSTS) and over plain HTTP (the HTTPS redirect) — neither of
    which matters to an answer that builds no link and sets no cookie. The bearer token is what protects it; without
    one configured, production answers 404 as for any unknown address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != PATH or (settings.PRODUCTION and not settings.METRICS_TOKEN):
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        if not token_accepted(request.headers.get("Authorization")):
            return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
        body, content_type = exposition(metrics_registry(OperationsCollector()))
        return HttpResponse(body, content_type=content_type, headers={"Cache-Control": "no-store"})


class OperationsCollector:
    """The operations figures (maritime/operations.py), read at each scrape. A figure that cannot be read (the
    broker down, say) is left out, and `maritime_figure_readable` says so."""

    def collect(self):
        now = timezone.now()
        figures = figures_read(["queues", "tasks", "emails", "webhooks"], now=now)
        statuses = _email_statuses()
        readable = GaugeMetricFamily(
            "maritime_figure_readable",
            "1 when the figure was read at this scrape, 0 when it could not be.",
            labels=["figure"],
        )
        for name, figure in [*figures.items(), ("email_statuses", statuses)]:
            readable.add_metric([name], 0 if figure is None else 1)
        yield readable
        yield from _queues(figures["queues"])
        yield from _tasks(figures["tasks"])
        yield from _emails(figures["emails"], statuses)
        yield from _webhooks(figures["webhooks"])
        yield _thresholds()


def _email_statuses() -> dict[str, int] | None:
    """E-mails in the outbox by status, every status named (0 when none)."""
    try:
        counts = dict(Email.objects.values_list("status").annotate(count=Count("pk")).order_by())
    except Exception as exc:  # as figures_read: a figure that cannot be read is reported as unknown, never raised
        logger.warning("operations figure email_statuses could not be read: %r", exc)
        return None
    return {status: counts.get(status, 0) for status in Email.Status.values}


def _queues(figure: dict | None):
    if figure is None:
        return
    length = GaugeMetricFamily("maritime_queue_length", "Tasks waiting in each Celery queue.", labels=["queue"])
    age = GaugeMetricFamily(
        "maritime_queue_oldest_age_seconds",
        "How long the oldest task waiting in each queue has waited (0 when none waits or its age is unknown).",
        labels=["queue"],
    )
    for queue, values in figure.items():
        length.add_metric([queue], values["length"])
        age.add_metric([queue], values["oldest_age_seconds"] or 0)
    yield from (length, age)


def _tasks(figure: dict | None):
    if figure is not None:
        yield GaugeMetricFamily(
            "maritime_tasks_failed_last_hour",
            "Tasks whose final state, recorded in the last hour, is a failure (as the failed-tasks alert counts them).",
            value=figure["failed_last_hour"],
        )


def _emails(figure: dict | None, statuses: dict[str, int] | None):
    if statuses is not None:
        emails = GaugeMetricFamily("maritime_emails", "E-mails in the outbox, by status.", labels=["status"])
        for status, count in statuses.items():
            emails.add_metric([status], count)
        yield emails
    if figure is not None:
        yield GaugeMetricFamily(
            "maritime_email_oldest_unsent_age_seconds",
            "Age of the oldest e-mail to a traveller not sent yet (0 when none waits).",
            value=figure["oldest_unsent_age_seconds"] or 0,
        )


def _webhooks(figure: dict | None):
    if figure is None:
        return
    yield GaugeMetricFamily(
        "maritime_webhooks_unprocessed", "Stripe events received and not processed yet.", value=figure["unprocessed"]
    )
    yield GaugeMetricFamily(
        "maritime_webhook_oldest_unprocessed_age_seconds",
        "Age of the oldest Stripe event not processed yet (0 when none waits).",
        value=figure["oldest_unprocessed_age_seconds"] or 0,
    )


def _thresholds() -> GaugeMetricFamily:
    thresholds = GaugeMetricFamily(
        "maritime_alert_threshold",
        "The alert thresholds of the settings, in their own units (tasks; tasks per hour; minutes).",
        labels=["setting"],
    )
    for name in THRESHOLDS:
        thresholds.add_metric([name], getattr(settings, name))
    return thresholds
