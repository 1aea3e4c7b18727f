"""What the bookings' list shows and filters by: the status badge, departures by port calendar, disputes."""

import datetime as dt
import zoneinfo

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from bookings.models import Booking, BookingLeg
from ferries.models import Port
from payments.refunds import bookings_disputed

S = Booking.Status
S = Booking.Status
STATUS_COLOURS = {
    S.HELD: "#a15c00",
    S.PAID: "#1f5fa8",
    S.CONFIRMED: "#2e7d32",
    S.EXPIRED: "#6b6b6b",
    S.CANCELLED: "#4a4a4a",
    S.REFUNDED: "#6a3d9a",
    S.FAILED: "#c62828",
}


def format_html_join_lines(lines) -> str:
    return format_html_join(format_html("<br>"), "{}", ((line,) for line in lines))


def status_badge(booking: Booking) -> str:
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 6px;border-radius:4px;white-space:nowrap">{}</span>',
        STATUS_COLOURS.get(booking.status, "#6b6b6b"),
        booking.get_status_display(),
    )


def legs_departing_within(*, days: int) -> QuerySet[BookingLeg]:
    """Legs sailing today or on the `days - 1` days after, each by the calendar of its port of departure.

    Ports are a few time zones: one window per zone keeps a 00:30 departure from Tunis on its own day
    in every database, where a single UTC window would put it on the day before.
    """
    now = timezone.now()
    window = Q(pk__in=[])
    for name in Port.objects.order_by("time_zone").values_list("time_zone", flat=True).distinct():
        tz = zoneinfo.ZoneInfo(name)
        today = now.astimezone(tz).date()
        start = dt.datetime.combine(today, dt.time(), tzinfo=tz)
        end = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(), tzinfo=tz)
        window |= Q(sailing__route__origin__time_zone=name, sailing__departs_at__gte=start, sailing__departs_at__lt=end)
    return BookingLeg.objects.filter(window)


class DepartureFilter(admin.SimpleListFilter):
    """Bookings with a sailing on the chosen days (a return sailing counts: its passengers board too),
    or whose every sailing has left."""

    title = _("departure")
    parameter_name = "departure"
    WINDOWS = {"today": 1, "next7": 7, "next30": 30}

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [
            ("today", _("Today")),
            ("next7", _("Next 7 days")),
            ("next30", _("Next 30 days")),
            ("past", _("Past")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Booking]) -> QuerySet[Booking]:
        if self.value() in self.WINDOWS:
            legs = legs_departing_within(days=self.WINDOWS[self.value()])
            return queryset.filter(Exists(legs.filter(booking=OuterRef("pk"))))
        if self.value() == "past":
            still_to_sail = BookingLeg.objects.filter(booking=OuterRef("pk"), sailing__departs_at__gte=timezone.now())
            return queryset.exclude(Exists(still_to_sail))
        return queryset


class DisputedFilter(admin.SimpleListFilter):
    """Bookings whose payment a traveller's bank disputes: staff must answer in the Stripe dashboard in time."""

    title = _("payment disputed")
    parameter_name = "disputed"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("open", _("Dispute open"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Booking]) -> QuerySet[Booking]:
        if self.value() == "open":
            return queryset.filter(bookings_disputed()).distinct()
        return queryset
