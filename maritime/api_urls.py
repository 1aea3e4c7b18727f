"""Everything under /api/v1/."""

from django.urls import include, path

from maritime.api_auth import AuthTokenApi

urlpatterns = [
    path("", include("ferries.api.urls")),
    path("", include("bookings.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("accounts.api.urls")),
    path("auth/token", AuthTokenApi.as_view(), name="api-auth-token"),
]
