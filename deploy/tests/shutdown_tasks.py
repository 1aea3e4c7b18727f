"""A slow task for the shutdown tests in test_deployment.py.

Only the worker those tests start imports this module (`celery worker -I deploy.tests.shutdown_tasks`);
the test process sends the task by name, so it never joins the project's own task registry.
"""

import time
from pathlib import Path

from celery import shared_task


@shared_task(name="deploy.tests.shutdown_tasks.slow_task")
def slow_task(marker: str, seconds: float) -> str:
    """Touches `<marker>.started`, works for `seconds`, then touches `<marker>.done`."""
    Path(f"{marker}.started").touch()
    time.sleep(seconds)
    Path(f"{marker}.done").touch()
    return "done"
