"""The account pages, beside allauth's (sign up, sign in, passwords, e-mail) under /accounts/."""

from django.urls import include, path

from accounts import headless, views

urlpatterns = [
    path("accounts/", views.account_home, name="account_home"),
    path("accounts/trips", views.my_trips, name="my_trips"),
    path("accounts/travellers/new", views.traveller_page, name="traveller_new"),
    path("accounts/travellers/<saved_id:traveller_id>", views.traveller_page, name="traveller_edit"),
    path("accounts/travellers/<saved_id:traveller_id>/delete", views.traveller_delete, name="traveller_delete"),
    path("accounts/vehicles/new", views.vehicle_page, name="vehicle_new"),
    path("accounts/vehicles/<saved_id:vehicle_id>", views.vehicle_page, name="vehicle_edit"),
    path("accounts/vehicles/<saved_id:vehicle_id>/delete", views.vehicle_delete, name="vehicle_delete"),
    path("accounts/claim", views.claim_page, name="booking_claim"),
    path("accounts/privacy", views.privacy_page, name="account_privacy"),
    path("accounts/privacy/export", views.export_download, name="account_export"),
    path("accounts/delete", views.account_delete, name="account_delete"),
    path("accounts/", include("allauth.urls")),
    # The mobile app's sign-up, sign-in, verification and password reset, and their OpenAPI description. Accounts
    # have no phone number: allauth's phone page would fail (a 500) rather than say so.
    path("_allauth/app/v1/account/phone", views.not_offered),
    path(f"_allauth/{headless.RESET_PATH}", headless.password_reset),
    path("_allauth/", include("allauth.headless.urls")),
]
