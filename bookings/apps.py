from django.apps import AppConfig


class BookingsConfig(AppConfig):
    """Bookings, legs, passengers and vehicles; capacity holds, pricing, operator confirmation."""

    name = "bookings"
    verbose_name = "Bookings"

    def ready(self):
        from django.urls import register_converter

        from bookings.converters import ApiBookingReferenceConverter, ApiChangeIdConverter, BookingReferenceConverter

        register_converter(BookingReferenceConverter, "reference")
        register_converter(ApiBookingReferenceConverter, "api_reference")
        register_converter(ApiChangeIdConverter, "api_change")
