"""The traveller's pages. Named without a namespace: `home` is the site's front page, linked from the layout."""

from django.urls import path

from ferries import views

urlpatterns = [
    path("", views.home, name="home"),
    path("sailings/search", views.sailing_results, name="sailing_results"),
    path("sailings/calendar", views.fare_calendar_page, name="fare_calendar"),
    path("operators/<str:code>/logo/<str:version>", views.operator_logo, name="operator_logo"),
]
