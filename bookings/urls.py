"""The traveller's booking pages, next to the search pages (no namespace, like them)."""

from django.contrib.auth.views import LogoutView
from django.urls import path

from bookings import views
from bookings.views import changes, quay

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
    path(
        "bookings/<reference:reference>/disruptions/<int:disruption_id>",
        views.booking_disruption,
        name="booking_disruption",
    ),
    # The check-in page for port agents.
    path("port/", quay.quay_sailings_page, name="quay_sailings"),
    path("port/login", quay.QuayLoginView.as_view(), name="quay_login"),
    path("port/logout", LogoutView.as_view(next_page="quay_login"), name="quay_logout"),
    path("port/sailings/<int:sailing_id>", quay.quay_sailing_page, name="quay_sailing"),
    path("port/sailings/<int:sailing_id>/scans/<int:scan_id>", quay.quay_scan_page, name="quay_scan"),
]
