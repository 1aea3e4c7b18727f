from django.urls import path

from notifications.api import views

urlpatterns = [
    path("alerts", views.TravelAlertsApi.as_view(), name="api-travel-alerts"),
    path("alerts/<int:alert_id>", views.TravelAlertApi.as_view(), name="api-travel-alert"),
]
