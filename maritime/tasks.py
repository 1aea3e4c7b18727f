from celery import shared_task
from django.utils import timezone

from maritime.alerts import alerts_check


@shared_task(bind=True)
def ping_task(self) -> dict:
    """Tells which worker took it from which queue (`manage.py ping_queues` sends it)."""
    return {
        "worker": self.request.hostname,
        "queue": (self.request.delivery_info or {}).get("routing_key"),
        "at": timezone.now().isoformat(),
    }


@shared_task
def check_alerts_task() -> list[str]:
    """Beat, every minute: sample the queues and alert staff of each threshold crossed (maritime/alerts.py)."""
    return alerts_check()
