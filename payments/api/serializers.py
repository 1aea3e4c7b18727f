from rest_framework import serializers

from kernel.money import money
from notifications.invoices import invoice_link


class MoneyOutputSerializer(serializers.Serializer):
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()


class PaymentOutputSerializer(serializers.Serializer):
    """What a mobile app needs to take the card with Stripe's SDK (PaymentSheet)."""

    provider = serializers.ChoiceField(choices=["stripe", "demo"])
    payment_intent_id = serializers.CharField(source="intent_id")
    client_secret = serializers.CharField()
    publishable_key = serializers.CharField()
    status = serializers.CharField()
    amount = serializers.SerializerMethodField()

    def get_amount(self, payment) -> MoneyOutputSerializer:
        return money(payment.amount_minor, payment.currency)


class DemoCardInputSerializer(serializers.Serializer):
    """A test card as Stripe's SDK takes it; checked as Stripe checks a card (number, expiry, security code)."""

    card_number = serializers.CharField(max_length=23, help_text="One of Stripe's test cards, e.g. 4242424242424242.")
    exp_month = serializers.IntegerField(min_value=1, max_value=12, help_text="Expiry month, 1 to 12.")
    exp_year = serializers.IntegerField(
        min_value=0, max_value=9999, help_text="Expiry year, as 2034 or 34; not in the past."
    )
    cvc = serializers.RegexField(
        r"^[0-9]{3,4}$", help_text="Security code: 3 digits, 4 for American Express.", max_length=4
    )


class DemoCardOutputSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="The payment's status once the demo event was delivered.")
    error = serializers.CharField(allow_blank=True)


class InvoiceOutputSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="INV-2026-000123 for an invoice, CN-2026-000045 for a credit note.")
    kind = serializers.ChoiceField(choices=["invoice", "credit_note"])
    issued_at = serializers.DateTimeField()
    total = serializers.SerializerMethodField(
        help_text="Gross, VAT included: paid (invoice) or refunded (credit note)."
    )
    vat = serializers.SerializerMethodField(help_text="The VAT it includes.")
    pdf_url = serializers.SerializerMethodField(
        help_text="The PDF, for a day without other credentials: open it in a viewer or a browser."
    )

    def get_total(self, invoice) -> MoneyOutputSerializer:
        return money(invoice.total_minor, invoice.currency)

    def get_vat(self, invoice) -> MoneyOutputSerializer:
        return money(invoice.vat_minor, invoice.currency)

    def get_pdf_url(self, invoice) -> str:
        return invoice_link(invoice)
