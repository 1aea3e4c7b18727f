from django.urls import path

from payments.api import views

urlpatterns = [
    path("bookings/<api_reference:reference>/payment", views.BookingPaymentApi.as_view(), name="api-booking-payment"),
    path(
        "bookings/<api_reference:reference>/invoices", views.BookingInvoicesApi.as_view(), name="api-booking-invoices"
    ),
    path("payments/demo/<str:intent_id>/card", views.DemoCardApi.as_view(), name="api-demo-card"),
]
