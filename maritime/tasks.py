from celery import shared_task
from django.utils import timezone


@shared_task(bind=True)
def ping_task(self) -> dict:
    """Tells which worker took it from which queue (`manage.py ping_queues` sends it)."""
    return {
        "worker": self.request.hostname,
        "queue": (self.request.delivery_info or {}).get("routing_key"),
        "at": timezone.now().isoformat(),
    }
