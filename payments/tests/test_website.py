"""Paying on the website: the checkout page and the demo card, in a browser session that holds the booking."""

import pytest
from django.test import Client

from bookings.models import Booking
from bookings.selectors import BROWSER_SESSION_KEY
from bookings.tests.factories import held_booking
from payments.models import Payment
from payments.tests.conftest import card_form

pytestmark = pytest.mark.django_db(transaction=True)


def browser_with(booking) -> Client:
    client = Client()
    session = client.session
    session[BROWSER_SESSION_KEY] = [booking.reference]
    session.save()
    return client


def test_the_checkout_shows_the_demo_card_form_without_stripe_keys(eager_tasks):
    booking = held_booking()

    page = browser_with(booking).get(f"/bookings/{booking.reference}/pay")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Demo payments: no money moves" in text
    assert "4242424242424242" in text
    assert Payment.objects.get(booking=booking).provider == "demo"


def test_the_checkout_shows_stripes_card_form_with_keys(fake_stripe, eager_tasks):
    booking = held_booking()

    text = browser_with(booking).get(f"/bookings/{booking.reference}/pay").content.decode()

    payment = Payment.objects.get(booking=booking)
    assert 'src="https://js.stripe.com/v3/"' in text
    assert f'data-client-secret="{payment.client_secret}"' in text
    assert "Demo payments" not in text


def test_a_declined_demo_card_says_so_and_a_good_one_confirms_the_booking(eager_tasks):
    booking = held_booking()
    browser = browser_with(booking)
    browser.get(f"/bookings/{booking.reference}/pay")

    declined = browser.post(f"/bookings/{booking.reference}/pay", card_form("4000 0000 0000 0002"), follow=True)
    paid = browser.post(f"/bookings/{booking.reference}/pay", card_form("4242424242424242"), follow=True)

    assert "Your card was declined." in declined.content.decode()
    assert "Your booking is confirmed" in paid.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.CONFIRMED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"expiry": "01/20"}, "Your card&#x27;s expiration date is in the past."),
        ({"expiry": "12"}, "Your card&#x27;s expiration year is invalid."),
        ({"cvc": "12"}, "Your card&#x27;s security code is invalid."),
        ({"card_number": "4242 4242 4242 4241"}, "Your card number is invalid."),
    ],
    ids=["expired", "no year", "two-digit CVC", "not a card number"],
)
def test_a_card_stripe_would_refuse_is_refused_on_the_checkout_and_pays_nothing(eager_tasks, change, message):
    booking = held_booking()
    browser = browser_with(booking)
    browser.get(f"/bookings/{booking.reference}/pay")

    page = browser.post(f"/bookings/{booking.reference}/pay", card_form() | change, follow=True)

    assert page.redirect_chain[-1][0] == f"/bookings/{booking.reference}/pay"
    assert message in page.content.decode()
    assert Booking.objects.get(pk=booking.pk).status == Booking.Status.HELD
    assert not Payment.objects.filter(booking=booking, status=Payment.Status.SUCCEEDED).exists()


def test_another_browser_cannot_open_the_checkout():
    booking = held_booking()

    assert Client().get(f"/bookings/{booking.reference}/pay").status_code == 404
    assert not Payment.objects.exists()


def test_an_expired_booking_is_sent_back_with_the_reason(eager_tasks):
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.EXPIRED)

    page = browser_with(booking).get(f"/bookings/{booking.reference}/pay", follow=True)

    assert "cannot be paid" in page.content.decode()


def test_stripes_return_address_ignores_a_payment_intent_that_cannot_be_one(broker):
    booking = held_booking()

    response = browser_with(booking).get(f"/bookings/{booking.reference}/pay/done?payment_intent=pi_%00")

    assert response.status_code == 302
    assert response.url == f"/bookings/{booking.reference}"
    assert broker.queue_length("payments") == 0
