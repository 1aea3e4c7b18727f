import logging.config

from celery.signals import setup_logging
from django.apps import AppConfig
from django.conf import settings


class MaritimeConfig(AppConfig):
    """The project package as an app: site-wide operations commands, the health check and operations figures."""

    name = "maritime"
    verbose_name = "Maritime"

    def ready(self):
        if settings.LOG_FORMAT == "json":
            # Workers and beat then keep Django's LOGGING (JSON lines on stdout, with the task's context) instead
            # of Celery's own text format. Celery asks this before configuring anything itself.
            setup_logging.connect(_logging_from_django_settings, weak=False)


def _logging_from_django_settings(**kwargs) -> None:
    logging.config.dictConfig(settings.LOGGING)
