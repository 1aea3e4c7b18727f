"""Refunds never give back more than was paid: what was refunded, or is being, counts against what is left."""

import pytest

from bookings.flows import confirmation, refunds
from bookings.models import Booking
from bookings.tests.factories import held_booking, pay
from payments.models import Refund
from payments.refunds import RefundNotAllowed, payment_refundable, refund_request, refund_request_amount

pytestmark = pytest.mark.django_db


@pytest.fixture
def payment(fake_stripe):
    """€100.00 paid for a booking."""
    return pay(fake_stripe, held_booking())


def test_a_refund_asked_after_part_was_given_back_gives_back_the_rest(payment):
    refund_request(payment=payment, amount_minor=3000, reason="goodwill", key="goodwill", cause="staff")

    rest = refund_request(payment=payment, amount_minor=10000, reason="cancelled", key="cancel", cause="staff")

    assert rest.amount_minor == 7000
    assert payment_refundable(payment=payment) == 0


def test_nothing_is_refunded_once_everything_was(payment):
    refund_request(payment=payment, amount_minor=10000, reason="cancelled", key="cancel", cause="staff")

    assert refund_request(payment=payment, amount_minor=500, reason="again", key="other", cause="staff") is None
    assert Refund.objects.count() == 1


def test_a_failed_refund_does_not_count_against_what_is_left(payment):
    refund_request(payment=payment, amount_minor=10000, reason="cancelled", key="cancel", cause="staff")
    Refund.objects.update(status=Refund.Status.FAILED)

    assert payment_refundable(payment=payment) == 10000


def test_asking_twice_with_one_key_makes_one_refund(payment):
    first = refund_request_amount(booking_id=payment.booking_id, amount_minor=1250, reason="goodwill", key="k")
    again = refund_request_amount(booking_id=payment.booking_id, amount_minor=1250, reason="goodwill", key="k")

    assert first == again
    assert payment_refundable(payment=payment) == 8750


@pytest.mark.parametrize(
    ("amount", "message"), [(10001, "At most €100.00 is left to refund."), (0, "A refund is more than nothing.")]
)
def test_staff_cannot_refund_more_than_is_left_or_nothing(payment, amount, message):
    with pytest.raises(RefundNotAllowed, match=message):
        refund_request_amount(booking_id=payment.booking_id, amount_minor=amount, reason="goodwill", key="k")
    assert not Refund.objects.exists()


@pytest.mark.parametrize("status", [Booking.Status.HELD, Booking.Status.EXPIRED])
def test_a_booking_that_was_not_paid_has_nothing_to_refund(fake_stripe, status):
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(status=status)

    with pytest.raises(RefundNotAllowed, match="was not paid"):
        refunds.booking_refundable(booking_id=booking.pk)


def test_a_failed_booking_whose_refund_failed_at_stripe_can_be_refunded_by_hand(payment):
    confirmation.booking_confirmation_failed(booking_id=payment.booking_id, reason="OperatorRefused: sold out")
    assert Booking.objects.get(pk=payment.booking_id).status == Booking.Status.FAILED
    with pytest.raises(RefundNotAllowed, match="Everything paid"):
        refunds.booking_refundable(booking_id=payment.booking_id)

    Refund.objects.update(status=Refund.Status.FAILED)

    money = refunds.booking_refundable(booking_id=payment.booking_id)
    assert (money.paid_minor, money.left_minor, money.currency) == (10000, 10000, "EUR")
