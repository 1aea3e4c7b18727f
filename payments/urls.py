from django.urls import path

from payments import views

urlpatterns = [
    path("webhooks/stripe", views.stripe_webhook, name="stripe-webhook"),
    path("bookings/<reference:reference>/pay", views.booking_pay, name="booking_pay"),
    path("bookings/<reference:reference>/pay/done", views.booking_pay_done, name="booking_pay_done"),
    path("bookings/<reference:reference>/changes/<int:number>/pay", views.change_pay, name="booking_change_pay"),
]
