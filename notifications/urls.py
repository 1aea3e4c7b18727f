from django.urls import path

from notifications import views

urlpatterns = [
    path("bookings/<reference:reference>/e-tickets.pdf", views.eticket_download, name="eticket_download"),
    path("bookings/<reference:reference>/invoices/<str:number>.pdf", views.invoice_download, name="invoice_download"),
    path("alerts/new", views.travel_alert_new, name="travel_alert_new"),
    path("alerts/confirm/<str:token>", views.travel_alert_confirm, name="travel_alert_confirm"),
    path("alerts/stop/<str:token>", views.travel_alert_stop, name="travel_alert_stop"),
]
