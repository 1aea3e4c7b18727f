from django.apps import AppConfig


class BookingsConfig(AppConfig):
    """Bookings, legs, passengers and vehicles; capacity holds, pricing, operator confirmation."""

    name = "bookings"
    verbose_name = "Bookings"
