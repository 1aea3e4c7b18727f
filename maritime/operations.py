"""Operational figures: queue backlogs, failing tasks, the e-mail outbox, Stripe webhooks and the cache.

Read by /healthz, `manage.py queue_stats`, the admin's operations page and the alert check; nothing here
changes what it reads.

Queues are read straight from the broker's Redis, laid out as kombu's Redis transport lays them: a queue
is one list per priority step — the queue's own name for priority 0, "<name>\\x06\\x16<step>" for steps
3, 6 and 9 — under the broker's `global_keyprefix`. Messages are pushed on the left and taken from the
right, so a list's oldest message is its last element. A message knows when it was published from the
header maritime/celery.py adds (Celery's protocol records no publishing time); a message without it (sent
by an older release, say) leaves its queue's age unknown rather than guessed. Tasks a worker has taken,
including retries waiting for their countdown, are no longer in the lists and count as in progress.
"""

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable

import redis
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q
from django.db.models.functions import TruncHour
from django.utils import timezone
from django_celery_results.models import TaskResult
from kombu.transport.redis import PRIORITY_STEPS, Channel
from kombu.utils.url import maybe_sanitize_url

from ferries.cache import cache_service
from maritime.celery import PUBLISHED_AT_HEADER
from maritime.celery import app as celery_app
from notifications.models import Email
from payments.models import WebhookEvent

logger = logging.getLogger(__name__)

QUEUES = tuple(queue.name for queue in settings.CELERY_TASK_QUEUES)
# Reading figures must stay well within a load balancer's patience, even when the broker hangs.
BROKER_READ_TIMEOUT = 1.0
# Queue lengths sampled by the alert check (every minute), for the operations page's chart.
SAMPLES_KEY = "operations:queue-samples"
SAMPLE_HOURS = 12

_broker_clients: dict[str, redis.Redis] = {}


class BrokerUnavailable(Exception):
    """The broker's Redis could not be read; the message names the broker (its password hidden)."""


# --- queues ---------------------------------------------------------------------------------------


def queue_figures(*, now: float | None = None) -> dict[str, dict]:
    """Per queue: messages waiting ("length") and the age in seconds of the oldest ("oldest_age_seconds", None
    when the queue is empty or the age unknown). One round trip to Redis, pipelined."""
    if celery_app.conf.task_always_eager:
        # The embedded default runs tasks in the request: nothing ever waits in a queue.
        return {queue: {"length": 0, "oldest_age_seconds": None, "mode": "eager"} for queue in QUEUES}
    now = time.time() if now is None else now
    lists = {queue: _priority_lists(queue) for queue in QUEUES}
    try:
        pipe = _broker_client().pipeline(transaction=False)
        for keys in lists.values():
            for key in keys:
                pipe.llen(key)
                pipe.lindex(key, -1)
        answers = iter(pipe.execute())
    except redis.RedisError as exc:
        raise BrokerUnavailable(f"cannot read the broker at {broker_address()}: {exc}") from exc
    figures = {}
    for queue, keys in lists.items():
        length, oldest = 0, []
        for _key in keys:
            count, last = next(answers), next(answers)
            length += count
            if last is not None:
                oldest.append(_published_at(last))
        known = bool(oldest) and None not in oldest
        age = round(max(now - min(oldest), 0.0), 1) if known else None
        figures[queue] = {"length": length, "oldest_age_seconds": age}
    return figures


def broker_address() -> str:
    return maybe_sanitize_url(settings.CELERY_BROKER_URL)


def _priority_lists(queue: str) -> list[str]:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    prefix = options.get("global_keyprefix", "")
    sep = options.get("sep", Channel.sep)
    steps = options.get("priority_steps", PRIORITY_STEPS)
    return [prefix + (f"{queue}{sep}{step}" if step else queue) for step in steps]


def _broker_client() -> redis.Redis:
    url = settings.CELERY_BROKER_URL
    if url not in _broker_clients:
        _broker_clients[url] = redis.Redis.from_url(
            url, socket_timeout=BROKER_READ_TIMEOUT, socket_connect_timeout=BROKER_READ_TIMEOUT
        )
    return _broker_clients[url]


def _published_at(raw: bytes) -> float | None:
    try:
        return float(json.loads(raw)["headers"][PUBLISHED_AT_HEADER])
    except (ValueError, TypeError, KeyError):
        return None


def queue_samples_record(*, lengths: dict[str, int], at: float) -> None:
    """Keep this sample of queue lengths, and those of the last SAMPLE_HOURS hours (display only: kept in the
    cache, lost without harm if Redis restarts)."""
    horizon = at - SAMPLE_HOURS * 3600
    samples = [sample for sample in cache.get(SAMPLES_KEY, []) if sample[0] > horizon]
    samples.append([round(at), lengths])
    cache.set(SAMPLES_KEY, samples, timeout=SAMPLE_HOURS * 3600)


def queue_samples(*, now: float) -> list[tuple[float, dict[str, int]]]:
    horizon = now - SAMPLE_HOURS * 3600
    return [(at, lengths) for at, lengths in cache.get(SAMPLES_KEY, []) if at > horizon]


# --- tasks, e-mails, webhooks, cache --------------------------------------------------------------


def task_figures(*, now: dt.datetime) -> dict:
    """Tasks failed in the last 24 hours and in the last hour, and tasks waiting to be retried (a task that
    was retried and then succeeded counts as succeeded: a result keeps its last state only)."""
    return TaskResult.objects.filter(
        date_done__gte=now - dt.timedelta(hours=24), status__in=["FAILURE", "RETRY"]
    ).aggregate(
        failed_24h=Count("pk", filter=Q(status="FAILURE")),
        failed_last_hour=Count("pk", filter=Q(status="FAILURE", date_done__gte=now - dt.timedelta(hours=1))),
        retrying_24h=Count("pk", filter=Q(status="RETRY")),
    )


def tasks_per_hour(*, now: dt.datetime, hours: int = SAMPLE_HOURS) -> list[dict]:
    """Tasks succeeded and failed in each of the last `hours` clock hours, oldest first."""
    first = now.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=hours - 1)
    buckets = {first + dt.timedelta(hours=i): {"succeeded": 0, "failed": 0} for i in range(hours)}
    rows = (
        TaskResult.objects.filter(date_done__gte=first, status__in=["SUCCESS", "FAILURE"])
        .annotate(hour=TruncHour("date_done"))
        .values("hour", "status")
        .annotate(count=Count("pk"))
    )
    for row in rows:
        if row["hour"] in buckets:
            buckets[row["hour"]]["succeeded" if row["status"] == "SUCCESS" else "failed"] += row["count"]
    return [{"hour": hour, **counts} for hour, counts in buckets.items()]


def email_figures(*, now: dt.datetime) -> dict:
    """E-mails to travellers not sent yet (queued, or being sent) and the age of the oldest.

    Staff alerts are left out: an unsent alert must not raise an alert of its own, hour after hour.
    """
    unsent = (
        Email.objects.filter(status__in=[Email.Status.QUEUED, Email.Status.SENDING])
        .exclude(kind=Email.Kind.STAFF_ALERT)
        .aggregate(count=Count("pk"), oldest=Min("created_at"))
    )
    return {"unsent": unsent["count"], "oldest_unsent_age_seconds": _age(unsent["oldest"], now)}


def webhook_figures(*, now: dt.datetime) -> dict:
    """Stripe events received but not processed yet, and the age of the oldest."""
    unprocessed = WebhookEvent.objects.filter(processed_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("received_at")
    )
    return {"unprocessed": unprocessed["count"], "oldest_unprocessed_age_seconds": _age(unprocessed["oldest"], now)}


def cache_figures() -> dict:
    stats = cache_service.stats(entries=False)  # the hit rates only: entries are counted by reading every key
    return {"search_hit_rate": stats["search"]["hit_rate"], "availability_hit_rate": stats["availability"]["hit_rate"]}


def _age(moment: dt.datetime | None, now: dt.datetime) -> float | None:
    return round(max((now - moment).total_seconds(), 0.0), 1) if moment else None


# --- all of them ----------------------------------------------------------------------------------

FIGURES: dict[str, Callable[[dt.datetime], dict]] = {
    "queues": lambda now: queue_figures(now=now.timestamp()),
    "tasks": lambda now: task_figures(now=now),
    "emails": lambda now: email_figures(now=now),
    "webhooks": lambda now: webhook_figures(now=now),
    "cache": lambda now: cache_figures(),
}


def figures_read(names: Iterable[str] = FIGURES, *, now: dt.datetime | None = None) -> dict[str, dict | None]:
    """The named figures; one that cannot be read is None, and the reason goes to the log."""
    now = now or timezone.now()
    figures = {}
    for name in names:
        try:
            figures[name] = FIGURES[name](now)
        except Exception as exc:  # a figure that cannot be read is reported as unknown, never raised
            logger.warning("operations figure %s could not be read: %r", name, exc)
            figures[name] = None
    return figures
