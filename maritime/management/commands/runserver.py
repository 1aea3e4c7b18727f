"""`manage.py runserver`, which `make run` starts: Django's development server (serving static files, as
django.contrib.staticfiles' own does), plus the periodic tasks of CELERY_BEAT_SCHEDULE when tasks run eagerly —
the embedded default has no beat (maritime/scheduler.py).

"maritime" comes before "django.contrib.staticfiles" in INSTALLED_APPS so that this command is the one found.
"""

from django.contrib.staticfiles.management.commands.runserver import Command as StaticFilesRunserver

from maritime.celery import app as celery_app
from maritime.scheduler import EmbeddedBeat


class Command(StaticFilesRunserver):
    help = (
        "Starts the development server (static files included) and, when tasks run eagerly (no broker), "
        "the periodic tasks beat runs in production."
    )

    def on_bind(self, server_port: int) -> None:
        # Called once the server listens, in the process that serves: under the autoreloader, the child it
        # restarts on each change, never the parent that watches the files. One schedule per serving process.
        super().on_bind(server_port)
        if celery_app.conf.task_always_eager:
            EmbeddedBeat(celery_app).start()
            self.stdout.write("Periodic tasks (CELERY_BEAT_SCHEDULE) run in this process: tasks are eager, no beat.")
