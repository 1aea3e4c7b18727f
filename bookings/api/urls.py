from django.urls import path

from bookings.api import views

urlpatterns = [
    path("bookings", views.BookingListCreateApi.as_view(), name="api-booking-list"),
    path("bookings/<str:reference>", views.BookingDetailApi.as_view(), name="api-booking-detail"),
    path("bookings/<str:reference>/cancel", views.BookingCancelApi.as_view(), name="api-booking-cancel"),
]
