"""Invoices and credit notes: one per payment and per refund, numbered per year without gaps even under concurrency,
VAT at each route's rate, made out to the billing details given at booking, as PDFs to download and in the e-mails."""

import datetime as dt
import io
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from bookings.access import access_token
from bookings.flows import cancelling, changing, confirmation
from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import held_booking, pay, request_data
from notifications.models import Email
from notifications.rendering import build_message
from payments import invoices
from payments.models import Invoice, InvoiceSeries, Payment, Refund

pytestmark = pytest.mark.django_db

YEAR = timezone.now().year
BILLING = {"name": "Amira Ben Salah", "address": "12 rue de Marseille, 1000 Tunis, Tunisia",
           "company": "Ben Salah Trading SARL", "vat_number": "fr 12 345678901"}  # fmt: skip


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def paid(fake_stripe, *sailings, **kwargs) -> Booking:
    booking = held_booking(*sailings, **kwargs)
    pay(fake_stripe, booking)
    return Booking.objects.get(pk=booking.pk)


def test_a_payment_is_invoiced_with_each_legs_vat_and_the_receipt_carries_the_pdf(fake_stripe, trip):
    trip["out"].route.__class__.objects.filter(pk=trip["out"].route_id).update(vat_percent=Decimal("10"))
    booking = paid(fake_stripe, trip["out"], trip["back"], billing=BILLING)

    invoice = Invoice.objects.get()
    assert (invoice.kind, invoice.number, invoice.total_minor) == ("invoice", f"INV-{YEAR}-000001", 20000)
    assert [(line["vat_percent"], line["gross_minor"], line["vat_minor"], line["net_minor"])
            for line in invoice.lines] == [("10", 10000, 909, 9091), ("0", 10000, 0, 10000)]  # fmt: skip
    assert invoice.vat_minor == 909
    assert invoice.buyer == {**BILLING, "vat_number": "FR12345678901"}
    assert invoice.seller["name"] == "Maritime Ferries SA"
    receipt = Email.objects.get(booking=booking, kind=Email.Kind.PAYMENT_SUCCESS)
    message, *_rest = build_message(receipt)
    attached = {name: content for name, content, _type in message.attachments if isinstance(name, str)}
    text = pdf_text(attached[f"{invoice.number}.pdf"])
    for expected in (invoice.number, "Ben Salah Trading SARL", "FR12345678901", "Maritime Ferries SA", "€200.00",
                     "€9.09"):  # fmt: skip
        assert expected in text, expected


def test_without_billing_details_the_invoice_is_made_out_to_the_contact(fake_stripe, trip):
    paid(fake_stripe, trip["out"])

    assert Invoice.objects.get().buyer == {"name": "Amira Ben Salah", "address": "", "company": "", "vat_number": ""}


def test_bad_billing_details_name_the_field_and_book_nothing():
    from django.core.exceptions import ValidationError

    from bookings.requests import parse_booking_request

    with pytest.raises(ValidationError) as invalid:
        parse_booking_request(request_data(billing={"name": "", "address": "x", "vat_number": "12"}))

    assert set(invalid.value.message_dict) == {"billing.name", "billing.vat_number"}


def test_a_refund_gets_a_credit_note_split_over_the_rates_invoiced(fake_stripe, trip):
    trip["out"].route.__class__.objects.filter(pk=trip["out"].route_id).update(vat_percent=Decimal("10"))
    booking = paid(fake_stripe, trip["out"], trip["back"])
    confirmation.booking_confirm(booking_id=booking.pk)

    cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")
    refund = Refund.objects.get()
    from bookings.flows import refunds as refund_flow

    refund_flow.refund_send(refund_id=refund.pk)  # Stripe (answered locally) makes it at once

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert (note.number, note.refund, note.total_minor) == (f"CN-{YEAR}-000001", refund, 20000)
    assert [(line["vat_percent"], line["gross_minor"]) for line in note.lines] == [("0", 10000), ("10", 10000)]
    mail = Email.objects.get(booking=booking, kind=Email.Kind.REFUND)
    message, *_rest = build_message(mail)
    assert any(name == f"{note.number}.pdf" for name, *_x in message.attachments if isinstance(name, str))


def test_a_changes_difference_is_invoiced(fake_stripe, trip):
    booking = paid(fake_stripe, trip["out"], trip["back"])
    booking = confirmation.booking_confirm(booking_id=booking.pk)
    change = changing.change_request(booking=booking, data={"return_sailing_id": trip["later_back"].pk}, actor="t")
    change, payment = changing.change_confirm(change=change)
    fake_stripe.set_status(payment.intent_id, "succeeded")
    from bookings.flows import checkout

    checkout.payment_reconcile(payment_id=payment.pk)

    invoice = Invoice.objects.get(payment=payment)
    assert (invoice.number, invoice.total_minor) == (f"INV-{YEAR}-000002", 1500)
    assert "Change 1" in invoice.lines[0]["description"]


def test_each_payment_is_invoiced_once(fake_stripe, trip):
    booking = paid(fake_stripe, trip["out"])
    payment = Payment.objects.get(booking=booking)

    assert invoices.invoice_for_payment(payment=payment) == Invoice.objects.get()
    assert InvoiceSeries.objects.get(kind="invoice", year=YEAR).last == 1


@pytest.mark.django_db(transaction=True)
def test_numbers_follow_one_another_without_gaps_when_many_are_issued_at_once_and_some_fail(fake_stripe, trip):
    payments = []
    for _n in range(12):
        booking = held_booking(trip["out"])
        payments.append(Payment.objects.create(
            booking=booking, provider="stripe", attempt=1, idempotency_key=f"k-{booking.pk}",
            amount_minor=booking.total_minor, currency="EUR", status=Payment.Status.SUCCEEDED,
        ))  # fmt: skip
    start = threading.Barrier(len(payments))

    def issue(index: int, payment: Payment) -> None:
        start.wait()
        try:
            with transaction.atomic():
                invoices.invoice_for_payment(payment=payment)
                if index % 3 == 0:
                    raise RuntimeError("the rest of the transaction failed")
        except RuntimeError:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=pair) for pair in enumerate(payments)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 9))  # 8 issued, 4 rolled back with their numbers
    assert InvoiceSeries.objects.get(kind="invoice", year=YEAR).last == 8


def test_the_pdf_downloads_for_the_browser_the_app_link_and_staff_only(fake_stripe, trip, client, django_user_model):
    booking = paid(fake_stripe, trip["out"])
    invoice = Invoice.objects.get()
    url = f"/bookings/{booking.reference}/invoices/{invoice.number}.pdf"
    assert client.get(url).status_code == 404

    links = APIClient().get(f"/api/v1/bookings/{booking.reference}/invoices",
                            HTTP_X_BOOKING_TOKEN=access_token(booking)).json()  # fmt: skip
    assert [(item["number"], item["total"]["amount_minor"]) for item in links] == [(invoice.number, 10000)]
    by_link = client.get(links[0]["pdf_url"].removeprefix("http://127.0.0.1:8000"))
    assert by_link["Content-Type"] == "application/pdf"
    assert client.get(f"{url}?key=forged").status_code == 404
    assert client.get(f"/bookings/{booking.reference}/invoices/INV-{YEAR}-999999.pdf").status_code == 404

    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    assert client.get(url).content.startswith(b"%PDF")
    assert invoice.number in client.get(f"/bookings/{booking.reference}").content.decode()

    staff = django_user_model.objects.create_user("clerk", is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_booking"))
    other = client.__class__()
    other.force_login(staff)
    assert other.get(url).status_code == 200


def test_a_link_older_than_a_day_no_longer_opens(fake_stripe, trip, client, monkeypatch):
    booking = paid(fake_stripe, trip["out"])
    link = APIClient().get(f"/api/v1/bookings/{booking.reference}/invoices",
                           HTTP_X_BOOKING_TOKEN=access_token(booking)).json()[0]["pdf_url"]  # fmt: skip
    later = timezone.now() + dt.timedelta(days=1, minutes=1)
    monkeypatch.setattr("time.time", lambda: later.timestamp())

    assert client.get(link.removeprefix("http://127.0.0.1:8000")).status_code == 404


def test_staff_see_invoices_on_the_booking_and_in_their_own_list(fake_stripe, trip, admin_client):
    booking = paid(fake_stripe, trip["out"])
    invoice = Invoice.objects.get()
    pdf = f"/bookings/{booking.reference}/invoices/{invoice.number}.pdf"

    booking_page = admin_client.get(f"/admin/bookings/booking/{booking.pk}/change/").content.decode()
    listing = admin_client.get("/admin/payments/invoice/").content.decode()

    assert pdf in booking_page
    assert invoice.number in listing
    assert pdf in listing
