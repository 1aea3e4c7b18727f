from celery import shared_task
from django.utils import timezone


@shared_task(bind=True)
def ping_task(self) -> dict:
    """Tells which worker took it from which queue.

    Checks that a queue has a live consumer:
    `celery -A maritime call maritime.tasks.ping_task --queue emails`, then read the result.
    """
    return {
        "worker": self.request.hostname,
        "queue": (self.request.delivery_info or {}).get("routing_key"),
        "at": timezone.now().isoformat(),
    }
