"""Beat inside the development server, for the embedded default.

In production `celery beat` sends the periodic tasks of CELERY_BEAT_SCHEDULE (hold expiry, the sweepers, the
alerts) to the workers. The embedded default (`make run`: no broker, tasks run eagerly) has neither beat nor a
worker, so an overdue hold would stay "Held" with its places and nobody would be e-mailed. `EmbeddedBeat` runs
the same schedule there: a thread of the serving process calls each task when beat would send it, through
`apply_async`, which with eager tasks runs it in that thread — the same task code, the same schedule object.

It is started by `manage.py runserver` (maritime/management/commands/runserver.py) once the server is listening,
only when tasks are eager; under the autoreloader that is the serving process, never the one that watches files.

* Every task runs once at start (whatever fell due while the server was stopped), then at its interval.
* One task at a time, in one thread with its own database connection, closed after each task: on SQLite a task's
  writes queue behind a request's like any other writer's (IMMEDIATE transactions, a 20 s busy timeout).
* A task that fails is logged and tried again at its next interval, as beat would; the thread goes on.
* It stops at exit (a reload, CONTROL-C): the running task may finish, then the thread ends. A process killed
  outright leaves nothing half done either: each task's transaction rolls back, and every task is idempotent.
"""

import atexit
import logging
import threading

from celery import Celery
from celery.schedules import maybe_schedule
from django.db import connections

logger = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 30  # how long a running task may take to finish when the server stops
IDLE_SECONDS = 60.0  # with nothing scheduled


class EmbeddedBeat:
    """The app's beat schedule, run in a thread of this process."""

    def __init__(self, app: Celery):
        self.app = app
        self.schedule = app.conf.beat_schedule  # CELERY_BEAT_SCHEDULE itself, not a copy
        self._timers = {name: maybe_schedule(entry["schedule"], app=app) for name, entry in self.schedule.items()}
        self._last_run: dict = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embedded-beat", daemon=True)

    def start(self) -> None:
        self.app.loader.import_default_modules()  # every app's tasks, as a worker imports them
        self._thread.start()
        atexit.register(self.stop)
        logger.info("periodic tasks: %s run in this process (no broker, no beat)", ", ".join(self.schedule))

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._stopping.wait(self.run_due())

    def run_due(self) -> float:
        """Run the tasks that are due (all of them the first time); the seconds until the next one is."""
        waits = []
        for name, timer in self._timers.items():
            if self._stopping.is_set():
                break
            last = self._last_run.get(name)
            if last is None or timer.is_due(last).is_due:
                self._call(name)
                self._last_run[name] = last = timer.now()
            waits.append(timer.is_due(last).next)
        return min(waits, default=IDLE_SECONDS)

    def _call(self, name: str) -> None:
        entry = self.schedule[name]
        try:
            task = self.app.tasks[entry["task"]]
            result = task.apply_async(entry.get("args", ()), entry.get("kwargs", {}), **entry.get("options", {}))
            if result.failed():
                logger.error("periodic tasks: %s failed: %r", name, result.result)
        except Exception:
            logger.exception("periodic tasks: %s failed", name)
        finally:
            connections.close_all()  # this thread's connections only
