"""Payments, refunds and webhook events: read-only for staff, as Stripe recorded them and we applied them."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from kernel.money import format_money
from payments.models import Dispute, Invoice, Payment, Refund, WebhookEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    # Money moves only through services (and Stripe); staff read here, and act from the booking.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def booking_link(booking) -> str:
    url = reverse("admin:bookings_booking_change", args=[booking.pk])
    return format_html('<a href="{}">{}</a>', url, booking.reference)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["intent_id", "booking_ref", "attempt", "amount", "taken", "status", "provider", "updated_at"]
    list_filter = ["status", "provider", ("settled_at", admin.EmptyFieldListFilter)]
    search_fields = ["intent_id", "booking__reference", "booking__contact_email"]
    list_select_related = ["booking"]
    date_hierarchy = "created_at"

    @admin.display(description="booking", ordering="booking__reference")
    def booking_ref(self, obj):
        return booking_link(obj.booking)

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj):
        return format_money(obj.amount_minor, obj.currency)

    @admin.display(description="taken by the provider")
    def taken(self, obj):
        if obj.received_minor is None:
            return "—"
        return format_money(obj.received_minor, obj.received_currency or obj.currency)


class PaymentPartAdmin(ReadOnlyAdmin):
    """Refunds and disputes: parts of a payment, listed with their booking and amount."""

    search_fields = ["payment__intent_id", "payment__booking__reference"]
    list_select_related = ["payment__booking"]

    @admin.display(description="booking")
    def booking_ref(self, obj):
        return booking_link(obj.payment.booking)

    @admin.display(description="amount", ordering="amount_minor")
    def amount(self, obj):
        return format_money(obj.amount_minor, obj.currency)


@admin.register(Refund)
class RefundAdmin(PaymentPartAdmin):
    list_display = ["idempotency_key", "booking_ref", "amount", "status", "cause", "refund_id", "reason", "updated_at"]
    list_filter = ["status", "cause"]
    search_fields = ["refund_id", *PaymentPartAdmin.search_fields]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "received_at", "processed_at", "attempts", "outcome", "last_error"]
    list_filter = ["type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "type"]
    date_hierarchy = "received_at"


@admin.register(Dispute)
class DisputeAdmin(PaymentPartAdmin):
    """Chargebacks as Stripe last told us; staff answer them in the Stripe dashboard, by `evidence_due_by`."""

    list_display = ["dispute_id", "booking_ref", "amount", "reason", "status", "evidence_due_by", "updated_at"]
    list_filter = ["status", "reason"]
    search_fields = ["dispute_id", *PaymentPartAdmin.search_fields]


def invoice_pdf_link(invoice: Invoice) -> str:
    url = reverse("invoice_download", args=[invoice.booking.reference, invoice.number])
    return format_html('<a href="{}">{}</a>', url, "PDF")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Invoices and credit notes as issued: numbered per kind and year without gaps, never edited."""

    list_display = ["number", "kind", "booking_ref", "issued_at", "total", "vat", "pdf"]
    list_filter = ["kind", "year"]
    search_fields = ["number", "booking__reference"]
    list_select_related = ["booking"]
    date_hierarchy = "issued_at"
    readonly_fields = ["number", "kind", "booking_ref", "payment", "refund", "issued_at", "total", "vat", "seller",
                       "buyer", "lines", "pdf"]  # fmt: skip
    fields = readonly_fields

    @admin.display(description="booking", ordering="booking__reference")
    def booking_ref(self, obj):
        return booking_link(obj.booking)

    @admin.display(description="total, VAT included", ordering="total_minor")
    def total(self, obj):
        return format_money(obj.total_minor, obj.currency)

    @admin.display(description="VAT", ordering="vat_minor")
    def vat(self, obj):
        return format_money(obj.vat_minor, obj.currency)

    @admin.display(description="document")
    def pdf(self, obj):
        return invoice_pdf_link(obj)
