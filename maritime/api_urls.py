"""Everything under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("ferries.api.urls")),
    path("", include("bookings.api.urls")),
]
