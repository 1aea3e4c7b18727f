from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """Stripe payment intents, verified webhooks and refunds. The only app that imports stripe."""

    name = "payments"
    verbose_name = "Payments"
