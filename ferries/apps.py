from django.apps import AppConfig


class FerriesConfig(AppConfig):
    """Operators, ports, vessels, routes, sailings and fares; operator adapters and the search cache."""

    name = "ferries"
    verbose_name = "Ferries"
