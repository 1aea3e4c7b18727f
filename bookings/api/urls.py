from django.urls import path

from bookings.api import changes, checkin, disruptions, views

urlpatterns = [
    path("bookings", views.BookingListCreateApi.as_view(), name="api-booking-list"),
    path("bookings/<api_reference:reference>", views.BookingDetailApi.as_view(), name="api-booking-detail"),
    path("bookings/<api_reference:reference>/cancel", views.BookingCancelApi.as_view(), name="api-booking-cancel"),
    path("bookings/<api_reference:reference>/changes", changes.BookingChangesApi.as_view(), name="api-booking-changes"),
    path(
        "bookings/<api_reference:reference>/changes/<api_change:change_id>",
        changes.BookingChangeApi.as_view(),
        name="api-booking-change",
    ),
    path(
        "bookings/<api_reference:reference>/changes/<api_change:change_id>/confirm",
        changes.BookingChangeConfirmApi.as_view(),
        name="api-booking-change-confirm",
    ),
    path(
        "bookings/<api_reference:reference>/disruption/accept",
        disruptions.BookingDisruptionAcceptApi.as_view(),
        name="api-booking-disruption-accept",
    ),
    # Port agents' hand-held devices.
    path("checkin/scan", checkin.CheckInScanApi.as_view(), name="api-checkin-scan"),
    path(
        "checkin/<api_reference:reference>/legs/<str:leg>/check-in",
        checkin.CheckInTravellersApi.as_view(),
        name="api-checkin-check-in",
    ),
    path(
        "checkin/<api_reference:reference>/legs/<str:leg>/board",
        checkin.CheckInBoardApi.as_view(),
        name="api-checkin-board",
    ),
]
