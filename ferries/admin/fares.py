"""Fares in the admin: a route's prices for a season, its extras, and the fare families it is sold in."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ferries.choices import PassengerType
from ferries.models import AccommodationFare, Fare, FareFamily, PassengerFare, Route, VehicleFare
from ferries.services import fares_changed
from kernel.money import format_money


class PriceInline(admin.TabularInline):
    """A fare's prices, each shown in the fare's currency next to the amount in minor units."""

    extra = 0
    readonly_fields = ["price"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("fare")

    @admin.display(description=_("price"))
    def price(self, row: PassengerFare | VehicleFare | AccommodationFare) -> str | None:
        if row.pk is None:
            return None
        return format_money(row.amount_minor, row.fare.currency)


class PassengerFareInline(PriceInline):
    model = PassengerFare
    fields = ["passenger_type", "amount_minor", "price"]


class VehicleFareInline(PriceInline):
    model = VehicleFare
    fields = ["category", "max_length_cm", "amount_minor", "price"]


class AccommodationFareInline(PriceInline):
    model = AccommodationFare
    fields = ["accommodation", "amount_minor", "price"]


class FareFamilyInline(admin.StackedInline):
    """The families the fare is sold in: each a percentage of the prices above, with its own rules."""

    model = FareFamily
    extra = 0
    min_num = 1  # a fare without a family is sold in none

    def get_formset(self, request: HttpRequest, obj: Fare | None = None, **kwargs):
        return super().get_formset(request, obj, validate_min=True, **kwargs)

    fieldsets = [
        (None, {"fields": [("code", "name", "position", "price_percent")]}),
        (_("Cancelling"), {"fields": [("refund_full_days", "refund_partial_hours", "refund_partial_percent")]}),
        (
            _("Changing"),
            {
                "fields": [
                    ("changes_allowed", "change_until_hours", "max_changes"),
                    ("change_fee_minor", "change_fee_percent", "change_fee_min_minor"),
                ]
            },
        ),
    ]


@admin.register(Fare)
class FareAdmin(admin.ModelAdmin):
    list_display = ["route", "name", "valid_from", "valid_to", "currency", "adult"]
    list_filter = ["route__operator", "currency"]
    list_select_related = ["route__origin", "route__destination", "route__operator"]
    search_fields = ["name", "route__origin__code", "route__destination__code"]
    autocomplete_fields = ["route"]
    inlines = [PassengerFareInline, VehicleFareInline, AccommodationFareInline, FareFamilyInline]

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # The searches and fare calendars of the route (and of the one the fare was moved from) show new prices.
        for route in {form.instance.route, form.initial.get("route") and Route.objects.get(pk=form.initial["route"])}:
            if route:
                fares_changed(route=route)

    def delete_model(self, request: HttpRequest, obj: Fare) -> None:
        super().delete_model(request, obj)
        fares_changed(route=obj.route)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Fare]) -> None:
        routes = {fare.route for fare in queryset.select_related("route__origin", "route__destination")}
        super().delete_queryset(request, queryset)
        for route in routes:
            fares_changed(route=route)

    fieldsets = [
        (None, {"fields": ["route", "name", "valid_from", "valid_to", "currency"]}),
        (_("Pets, per crossing"), {"fields": [("dog_amount_minor", "cat_amount_minor", "pet_amount_minor")]}),
        (
            _("Extras (empty where not sold)"),
            {
                "fields": [
                    ("dinner_amount_minor", "breakfast_amount_minor"),
                    ("priority_amount_minor", "protection_amount_minor"),
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Fare]:
        return super().get_queryset(request).prefetch_related("passenger_fares")

    @admin.display(description=_("adult"))
    def adult(self, fare: Fare) -> str | None:
        prices = [p.amount_minor for p in fare.passenger_fares.all() if p.passenger_type == PassengerType.ADULT]
        return format_money(prices[0], fare.currency) if prices else None
