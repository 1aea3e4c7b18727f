from django.apps import AppConfig


class FerriesConfig(AppConfig):
    """Operators, ports, vessels, routes, sailings and fares; operator adapters and the search cache."""

    name = "ferries"
    verbose_name = "Ferries"

    def ready(self):
        from celery.signals import task_postrun
        from django.core.signals import request_finished

        from ferries.cache import cache_service

        # What a request or a task sent to the search cache without waiting for Redis's answer is read as it ends.
        request_finished.connect(cache_service.settle, dispatch_uid="ferries.cache.settle")
        task_postrun.connect(cache_service.settle, dispatch_uid="ferries.cache.settle", weak=False)
