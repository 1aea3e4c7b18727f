from django.urls import path

from bookings.api import views

urlpatterns = [
    path("bookings", views.BookingListCreateApi.as_view(), name="api-booking-list"),
    path("bookings/<api_reference:reference>", views.BookingDetailApi.as_view(), name="api-booking-detail"),
    path("bookings/<api_reference:reference>/cancel", views.BookingCancelApi.as_view(), name="api-booking-cancel"),
]
