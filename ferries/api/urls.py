from django.urls import path

from ferries.api import views

urlpatterns = [
    path("ports", views.PortListApi.as_view(), name="api-port-list"),
    path("routes", views.RouteListApi.as_view(), name="api-route-list"),
    path("sailings/search", views.SailingSearchApi.as_view(), name="api-sailing-search"),
    path("sailings/calendar", views.FareCalendarApi.as_view(), name="api-sailing-calendar"),
]
