"""The traveller's booking pages, next to the search pages (no namespace, like them)."""

from django.urls import path

from bookings import views
from bookings.views import changes

urlpatterns = [
    path("book", views.booking_new, name="booking_new"),
    path("bookings/<reference:reference>", views.booking_detail, name="booking_detail"),
    path("bookings/<reference:reference>/cancel", views.booking_cancel, name="booking_cancel"),
    path("bookings/<reference:reference>/change", changes.booking_change, name="booking_change"),
    path("bookings/<reference:reference>/cancel-part", changes.booking_cancel_part, name="booking_cancel_part"),
    path(
        "bookings/<reference:reference>/changes/<int:number>", changes.booking_change_quote, name="booking_change_quote"
    ),
    path("manage", views.manage_booking, name="manage_booking"),
]
