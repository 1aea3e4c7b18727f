from django.apps import AppConfig


class MaritimeConfig(AppConfig):
    """The project package as an app: site-wide operations commands and the health check."""

    name = "maritime"
    verbose_name = "Maritime"
