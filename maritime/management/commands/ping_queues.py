import math
import time

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings
from django.core.management import BaseCommand, CommandError

from maritime.tasks import ping_task

QUEUES = [queue.name for queue in settings.CELERY_TASK_QUEUES]
MAX_TIMEOUT = 3600.0  # a ping unanswered for an hour will not be answered; Celery cannot even express "never"


class Command(BaseCommand):
    help = "Sends a ping through each queue and reports the worker that answered; fails if a queue has none."

    def add_arguments(self, parser):
        parser.add_argument("queues", nargs="*", metavar="QUEUE", help=f"Queues to ping (default: {' '.join(QUEUES)})")
        parser.add_argument("--timeout", type=float, default=10.0, help="Seconds to wait for answers (default: 10)")

    def handle(self, *args, queues: list[str], timeout: float, **options):
        unknown = sorted(set(queues) - set(QUEUES))
        if unknown:
            raise CommandError(f"queues: unknown queue {', '.join(unknown)}; known queues are {', '.join(QUEUES)}.")
        if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
            raise CommandError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds; got {timeout:g}.")
        # A ping nobody takes in time expires instead of waiting in the queue for a worker that comes later.
        sent = {queue: ping_task.apply_async(queue=queue, expires=timeout) for queue in queues or QUEUES}
        deadline = time.monotonic() + timeout
        silent = []
        for queue, result in sent.items():
            try:
                answer = result.get(timeout=max(deadline - time.monotonic(), 0.1))
            except CeleryTimeoutError:
                silent.append(queue)
                self.stdout.write(f"{queue:<10} no worker answered within {timeout:g}s")
                continue
            self.stdout.write(f"{queue:<10} {answer['worker']}")
        if silent:
            raise CommandError(f"No worker answered on: {', '.join(silent)}.")
