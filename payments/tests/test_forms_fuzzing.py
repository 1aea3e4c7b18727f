"""The demo card form and Stripe's return address given anything at all (Hypothesis): never a 5xx, and no value
but a paying test card pays the booking."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import given

from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import held_booking
from maritime.tests.hostile import FORM_EXAMPLES, database_state, hostile_form, hostile_text
from payments.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)


def browser_with(booking) -> Client:
    browser = Client()
    session = browser.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    return browser


@FORM_EXAMPLES
@given(card=hostile_text, extra=hostile_form(["cvc", "expiry", "name", "amount", "status"], min_size=0))
def test_no_card_number_but_a_test_card_pays_and_none_makes_the_checkout_fail(eager_tasks, card, extra):
    booking = held_booking()
    browser = browser_with(booking)

    response = browser.post(f"/bookings/{booking.reference}/pay", {**extra, "card_number": card})

    assert response.status_code == 302, card
    assert response.url == f"/bookings/{booking.reference}/pay"
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.HELD
    assert not Payment.objects.filter(booking=booking, status=Payment.Status.SUCCEEDED).exists()


@FORM_EXAMPLES
@given(answer=hostile_form(["payment_intent", "payment_intent_client_secret", "redirect_status"], min_size=0))
def test_any_answer_on_stripes_return_address_redirects_and_writes_nothing(broker, answer):
    booking = held_booking()
    browser = browser_with(booking)
    before = database_state()

    response = browser.get(f"/bookings/{booking.reference}/pay/done?{urlencode(answer)}")

    assert response.status_code == 302, answer
    assert response.url in (f"/bookings/{booking.reference}", f"/bookings/{booking.reference}/pay")
    assert database_state() == before
    assert broker.queue_length("payments") == 0, "a reconciliation was queued for no payment of the booking"
