from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """The e-mail outbox, e-mail templates and tasks, e-tickets."""

    name = "notifications"
    verbose_name = "Notifications"
