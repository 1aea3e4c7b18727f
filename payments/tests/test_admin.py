import pytest

from bookings.flows.checkout import payment_open
from bookings.tests.factories import held_booking
from payments.models import Dispute, Payment, WebhookEvent
from payments.refunds import refund_request


@pytest.fixture
def recorded(fake_stripe):
    booking = held_booking()
    payment = payment_open(booking_id=booking.pk)
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.SUCCEEDED)
    payment.refresh_from_db()
    refund_request(payment=payment, amount_minor=500, reason="goodwill", key="t", cause="staff")
    WebhookEvent.objects.create(event_id="evt_1", type="payment_intent.succeeded", payload={})
    Dispute.objects.create(
        payment=payment,
        dispute_id="dp_1",
        amount_minor=500,
        currency="EUR",
        reason="fraudulent",
        status="needs_response",
    )
    return booking


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["payment", "refund", "webhookevent", "dispute"])
def test_staff_read_payments_refunds_and_events_with_a_link_to_the_booking(admin_client, recorded, model):
    page = admin_client.get(f"/admin/payments/{model}/")

    assert page.status_code == 200
    if model != "webhookevent":
        assert f"/admin/bookings/booking/{recorded.pk}/change/" in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["payment", "refund", "webhookevent", "dispute"])
def test_nothing_about_money_is_added_or_changed_in_the_admin(admin_client, recorded, model):
    assert admin_client.get(f"/admin/payments/{model}/add/").status_code == 403
