from django.urls import path

from notifications import views

urlpatterns = [
    path("bookings/<reference:reference>/e-tickets.pdf", views.eticket_download, name="eticket_download"),
    path("bookings/<reference:reference>/invoices/<str:number>.pdf", views.invoice_download, name="invoice_download"),
]
