"""Promo codes in the admin: staff create them with their limits, stop them, and see every booking that used one.

Uses are made by bookings (bookings.promotions), never typed: they are listed, not edited. A code that was used
cannot be deleted (its bookings' price lines name it); untick `active` to stop it."""

from django import forms
from django.contrib import admin
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bookings.models import PromoCode, PromoCodeUse
from kernel.money import format_money


class PromoCodeUseInline(admin.TabularInline):
    model = PromoCodeUse
    fields = ["booking_link", "booking_status", "email", "discount", "created_at", "released_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("bookings made with it")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromoCodeUse]:
        return super().get_queryset(request).select_related("booking")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("booking"))
    def booking_link(self, use: PromoCodeUse) -> str:
        url = reverse("admin:bookings_booking_change", args=[use.booking_id])
        return format_html('<a href="{}">{}</a>', url, use.booking.reference)

    @admin.display(description=_("status"))
    def booking_status(self, use: PromoCodeUse) -> str:
        return use.booking.get_status_display()

    @admin.display(description=_("discount"))
    def discount(self, use: PromoCodeUse) -> str:
        return format_money(use.discount_minor, use.currency)


class PromoCodeForm(forms.ModelForm):
    class Meta:
        model = PromoCode
        fields = [
            "code", "description", "active", "kind", "percent", "amount_minor", "currency", "routes", "travel_from",
            "travel_to", "min_total_minor", "first_booking_only", "max_uses", "max_uses_per_email", "starts_at",
            "ends_at",
        ]  # fmt: skip

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()  # typed in any case, kept as travellers' codes are read


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    form = PromoCodeForm
    list_display = ["code", "description", "discount", "uses", "discounted", "starts_at", "ends_at", "active"]
    list_filter = ["active", "kind", "first_booking_only"]
    search_fields = ["code", "description"]
    filter_horizontal = ["routes"]
    inlines = [PromoCodeUseInline]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["code", "description", "active"]}),
        (_("Discount"), {"fields": ["kind", "percent", "amount_minor", "currency"]}),
        (
            _("What it applies to"),
            {"fields": ["routes", "travel_from", "travel_to", "min_total_minor", "first_booking_only"]},
        ),
        (
            _("Limits"),
            {
                "fields": ["max_uses", "max_uses_per_email", "starts_at", "ends_at", "created_at"],
                "description": _("A booking counts as a use from when its places are held; one that expires unpaid "
                                 "or is cancelled before payment gives its use back."),
            },
        ),
    ]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[PromoCode]:
        counting = Q(uses__released_at__isnull=True)
        return (
            super()
            .get_queryset(request)
            .annotate(
                counting=Count("uses", filter=counting), discounted_minor=Sum("uses__discount_minor", filter=counting)
            )
        )

    def has_delete_permission(self, request: HttpRequest, obj: PromoCode | None = None) -> bool:
        return obj is None or not obj.uses.exists()

    @admin.display(description=_("discount"))
    def discount(self, promo: PromoCode) -> str:
        if promo.kind == PromoCode.Kind.PERCENT:
            return f"{promo.percent} %"
        return format_money(promo.amount_minor or 0, promo.currency)

    @admin.display(description=_("uses"), ordering="counting")
    def uses(self, promo: PromoCode) -> str:
        if promo.max_uses is None:
            return str(promo.counting)
        return gettext("%(used)d of %(max)d") % {"used": promo.counting, "max": promo.max_uses}

    @admin.display(description=_("given"), ordering="discounted_minor")
    def discounted(self, promo: PromoCode) -> str:
        """What the bookings counting against it were given, in all (in the code's currency, as the uses are)."""
        return format_money(promo.discounted_minor or 0, promo.currency)
