from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me", views.MeApi.as_view(), name="api-me"),
    path("me/travellers", views.TRAVELLERS.list_view().as_view(), name="api-me-travellers"),
    path("me/travellers/<api_saved_id:item_id>", views.TRAVELLERS.item_view().as_view(), name="api-me-traveller"),
    path("me/vehicles", views.VEHICLES.list_view().as_view(), name="api-me-vehicles"),
    path("me/vehicles/<api_saved_id:item_id>", views.VEHICLES.item_view().as_view(), name="api-me-vehicle"),
    path("me/bookings/claim", views.ClaimApi.as_view(), name="api-me-bookings-claim"),
    path("me/export", views.ExportApi.as_view(), name="api-me-export"),
    path("me/delete", views.DeleteApi.as_view(), name="api-me-delete"),
]
