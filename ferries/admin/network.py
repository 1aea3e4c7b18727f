"""The ferry network in the admin: staff edit operators, ports, vessels, routes and sailings (fares: fares.py).

Sailings are scheduled through `services.sailings_schedule`, which sizes their inventory from the
vessel; what is held or sold (`taken`) changes only through the capacity services, so the admin
shows inventory and holds but never edits them.

Cancelling a sailing cancels its bookings too: that action is added to the sailings' admin by
bookings/admin/sailings.py, since this app knows nothing of bookings.
"""

import datetime as dt
import zoneinfo

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_countries.filters import CountryFilter

from ferries.choices import Amenity, Resource
from ferries.logos import logo_checked, logo_set
from ferries.models import (
    CapacityHold,
    Operator,
    OperatorTerminal,
    Port,
    Route,
    Sailing,
    SailingInventory,
    Vessel,
    VesselAccommodation,
)
from ferries.selectors import CABINS, sailing_loads
from ferries.services import availability_changed, sailings_schedule


def local_time(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    """The port's wall-clock time, with the UTC instant in a tooltip."""
    return format_html(
        '<span title="{} UTC">{}</span>',
        f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M}",
        f"{moment.astimezone(tz):%Y-%m-%d %H:%M %Z}",
    )


def load_factor(held: int, sold: int, capacity: int, *, scale: int = 1, unit: str = "") -> str:
    """Held and sold against capacity: how full, e.g. "12 held · 340 sold / 2200 (16 %)"."""
    percent = round(100 * (held + sold) / capacity) if capacity else 0
    return gettext("%(held)s held · %(sold)s sold / %(capacity)s%(unit)s (%(percent)s %%)") % {
        "held": f"{held / scale:g}",
        "sold": f"{sold / scale:g}",
        "capacity": f"{capacity / scale:g}",
        "unit": unit,
        "percent": percent,
    }


class HttpsURLField(forms.URLField):
    def __init__(self, **kwargs):
        super().__init__(**{**kwargs, "assume_scheme": "https"})


class OperatorForm(forms.ModelForm):
    logo_upload = forms.FileField(
        label=_("Logo"), required=False,
        help_text=_("PNG, JPEG or WebP, at most 200 KB and 1024 pixels a side; shown beside the operator's sailings."),
    )  # fmt: skip
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    class Meta:
        model = Operator
        fields = ["code", "name", "integration", "api_url", "active", "check_in_closes_minutes"]
        # Operator APIs are served over HTTPS: an address typed without a scheme must not become http://.
        field_classes = {"api_url": HttpsURLField}

    def clean_logo_upload(self):
        upload = self.cleaned_data.get("logo_upload")
        self.logo_content = upload.read() if upload else None
        if self.logo_content is not None:
            try:
                logo_checked(self.logo_content)
            except ValidationError as error:
                raise forms.ValidationError(error.messages) from None
        return upload


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    form = OperatorForm
    list_display = ["code", "name", "logo_preview", "integration", "check_in_closes_minutes", "active"]
    list_display_links = ["code", "name"]
    list_editable = ["active"]
    list_filter = ["integration", "active"]
    search_fields = ["code", "name"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # as OperatorForm's, for the admin's others

    def save_model(self, request, obj: Operator, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("remove_logo"):
            logo_set(operator=obj, content=None)
        elif form.cleaned_data.get("logo_upload"):
            logo_set(operator=obj, content=form.logo_content)

    @admin.display(description=_("logo"))
    def logo_preview(self, operator: Operator) -> str:
        if not operator.logo_url:
            return "—"
        return format_html('<img src="{}" alt="" style="max-height:24px;max-width:96px">', operator.logo_url)


class OperatorTerminalInline(admin.TabularInline):
    model = OperatorTerminal
    extra = 0
    autocomplete_fields = ["operator"]
    verbose_name_plural = _("operators' own terminals (where they are not the port's)")


@admin.register(Port)
class PortAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "country", "time_zone", "terminal", "check_in_closes_minutes"]
    list_display_links = ["code", "name"]
    list_filter = [("country", CountryFilter)]  # the countries of our ports, not all 249
    search_fields = ["code", "name", "terminal"]
    fieldsets = [
        (None, {"fields": ["code", "name", "country", "time_zone"]}),
        (
            _("Check-in"),
            {
                "fields": ["terminal", "terminal_address", "check_in_closes_minutes", "vehicle_lane_rules"],
                "description": _("Printed on the e-tickets and in the reminders of departures from this port."),
            },
        ),
    ]
    inlines = [OperatorTerminalInline]


class VesselAccommodationInline(admin.TabularInline):
    model = VesselAccommodation
    extra = 0


class VesselForm(forms.ModelForm):
    amenities = forms.TypedMultipleChoiceField(
        label=_("Amenities"), choices=Amenity.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Vessel
        fields = ["amenities"]  # the admin's fieldsets add the others

    def clean_amenities(self) -> list[str]:
        chosen = set(self.cleaned_data["amenities"])
        return [value for value in Amenity.values if value in chosen]  # in the list's order


@admin.register(Vessel)
class VesselAdmin(admin.ModelAdmin):
    form = VesselForm
    list_display = ["name", "operator", "imo", "passenger_capacity", "lane_metres", "max_vehicle_height_cm"]
    list_filter = ["operator"]
    list_select_related = ["operator"]
    search_fields = ["name", "imo"]
    inlines = [VesselAccommodationInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "operator",
                    "name",
                    "imo",
                    "passenger_capacity",
                    "lane_metres",
                    "max_vehicle_height_cm",
                    "priority_boarding_places",
                    "kennels",
                    "amenities",
                ],
                # Inventory is sized once, when a sailing is scheduled; resizing it would have to respect
                # what is already sold, so a change here does not reach sailings that exist.
                "description": _(
                    "Capacities and accommodations size the inventory of sailings scheduled from now on; "
                    "sailings already scheduled keep theirs."
                ),
            },
        )
    ]


class OriginCountryFilter(CountryFilter):
    """The countries routes leave from, not every country there is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A route has two countries; the field's own name ("country") would not say which.
        self.title = _("origin country")


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ["ports", "operator", "vat_percent", "active"]
    list_filter = ["operator", ("origin__country", OriginCountryFilter), "active"]
    search_fields = ["origin__code", "origin__name", "destination__code", "destination__name"]
    autocomplete_fields = ["operator", "origin", "destination"]
    fields = ["operator", "origin", "destination", "vat_percent", "travel_documents", "active"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Route]:
        # Route.__str__ names both ports and the operator: the changelist, the autocomplete answers
        # of the sailing and fare forms all need them.
        return super().get_queryset(request).select_related("operator", "origin", "destination")

    @admin.display(description=_("route"), ordering="origin__name")
    def ports(self, route: Route) -> str:
        return f"{route.origin} → {route.destination}"


class SailingInventoryInline(admin.TabularInline):
    """What the sailing can sell and how much is held or sold: changed only by holds and sales."""

    model = SailingInventory
    fields = ["resource", "capacity", "taken", "remaining"]
    readonly_fields = fields
    can_delete = False
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Sailing | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Sailing | None = None) -> bool:
        return False


class DepartureFilter(admin.SimpleListFilter):
    """Staff work on what is still to sail: the list opens on upcoming sailings, with departed and all of them one
    click away. Without a choice in the address (or with one it does not know) the list is of upcoming sailings,
    so "all" is a choice of its own rather than Django's usual "All" that removes the parameter."""

    title = _("departure")
    parameter_name = "departure"
    DEFAULT = "upcoming"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("upcoming", _("Upcoming")), ("departed", _("Departed")), ("all", _("All"))]

    def value(self) -> str:
        value = super().value()
        return value if value in {"upcoming", "departed", "all"} else self.DEFAULT

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Sailing]) -> QuerySet[Sailing]:
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(departs_at__gte=now)
        if self.value() == "departed":
            return queryset.filter(departs_at__lt=now)
        return queryset


@admin.register(Sailing)
class SailingAdmin(admin.ModelAdmin):
    list_display = [
        "ref",
        "route",
        "departure",
        "arrival",
        "vessel",
        "status",
        "passengers",
        "lane_metres",
        "cabins",
    ]
    list_filter = [DepartureFilter, "status", "route__operator"]
    list_select_related = ["route__origin", "route__destination", "route__operator", "vessel"]
    date_hierarchy = "departs_at"
    search_fields = ["ref", "route__origin__code", "route__destination__code"]
    autocomplete_fields = ["route", "vessel"]
    inlines = [SailingInventoryInline]

    class Media:
        css = {"all": ["css/admin-sailings.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Sailing]:
        return super().get_queryset(request).prefetch_related("inventory")

    def get_fields(self, request: HttpRequest, obj: Sailing | None = None) -> list[str]:
        if obj is None:
            # A new sailing is always scheduled; the status changes later.
            return ["route", "vessel", "ref", "departs_at", "arrives_at"]
        return ["route", "vessel", "ref", "status", "departs_at", "departure", "arrives_at", "arrival"]

    def get_readonly_fields(self, request: HttpRequest, obj: Sailing | None = None) -> list[str]:
        if obj is None:
            return []
        # The inventory was sized from this vessel and sold on this route under this reference.
        return ["route", "vessel", "ref", "departure", "arrival"]

    def get_inlines(self, request: HttpRequest, obj: Sailing | None) -> list:
        # A new sailing's inventory is created with it, from the vessel.
        return self.inlines if obj else []

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name in {"departs_at", "arrives_at"}:
            field.help_text = _("In UTC. The sailing list shows it in the port's local time.")
        return field

    def save_model(self, request: HttpRequest, obj: Sailing, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            # Cached availability carries the status: a cancelled sailing must not stay on sale.
            availability_changed(sailing_id=obj.pk)
            return
        # The list form of the service saves the form's own instance, so the admin's log entry and
        # redirect see the new primary key.
        sailings_schedule(sailings=[obj])

    @admin.display(description=_("departure (port time)"), ordering="departs_at")
    def departure(self, sailing: Sailing) -> str:
        return local_time(sailing.departs_at, sailing.route.origin.tz)

    @admin.display(description=_("arrival (port time)"), ordering="arrives_at")
    def arrival(self, sailing: Sailing) -> str:
        return local_time(sailing.arrives_at, sailing.route.destination.tz)

    def get_changelist_instance(self, request: HttpRequest):
        changelist = super().get_changelist_instance(request)
        # Held and sold are added up from the holds in one grouped query for the whole page.
        loads = sailing_loads(sailing_ids=[sailing.pk for sailing in changelist.result_list])
        for sailing in changelist.result_list:
            sailing.load = loads[sailing.pk]
        return changelist

    @admin.display(description=_("passengers"))
    def passengers(self, sailing: Sailing) -> str | None:
        return self._load_factor(sailing, "passengers", [Resource.PASSENGERS])

    @admin.display(description=_("lane metres"))
    def lane_metres(self, sailing: Sailing) -> str | None:
        return self._load_factor(sailing, "lane_cm", [Resource.LANE_CM], scale=100, unit=" m")

    @admin.display(description=_("cabins"))
    def cabins(self, sailing: Sailing) -> str | None:
        return self._load_factor(sailing, "cabins", CABINS)

    @staticmethod
    def _load_factor(sailing: Sailing, figure: str, resources: list[str], **display) -> str | None:
        """None (shown as "-") when the sailing offers none of it."""
        rows = [row for row in sailing.inventory.all() if row.resource in resources]
        if not rows:
            return None
        load = getattr(sailing, "load", None) or sailing_loads(sailing_ids=[sailing.pk])[sailing.pk]
        capacity = sum(row.capacity for row in rows)
        return load_factor(load["held"][figure], load["sold"][figure], capacity, **display)


@admin.register(CapacityHold)
class CapacityHoldAdmin(admin.ModelAdmin):
    """Holds are taken, confirmed and released by bookings; staff look, never edit."""

    list_display = ["ref", "sailing", "status", "expires_at", "created_at"]
    list_filter = ["status"]
    list_select_related = ["sailing__route__origin", "sailing__route__destination", "sailing__route__operator"]
    search_fields = ["ref", "sailing__ref", "confirmation_ref"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CapacityHold | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: CapacityHold | None = None) -> bool:
        return False
