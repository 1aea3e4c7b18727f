"""Promo codes: applied on the server as a price line of each leg they apply to, within their limits, counted in the
booking's own transaction (twenty bookings at once never use a code more often than allowed), refused with an error
on `promo_code` that writes nothing, and guessed no faster than the limit allows."""

import datetime as dt
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from bookings.flows import cancelling, checkout, quotes
from bookings.models import Booking, PromoCode, PromoCodeUse
from bookings.policy import refund_due
from bookings.requests import parse_booking_request
from bookings.services import booking_create, booking_rehold, booking_transition, bookings_expire_overdue
from bookings.tests.factories import ADULT, CONTACT, held_booking, pay_with_demo_card, request_data
from bookings.tests.test_change_races import at_once
from bookings.tests.test_website import adult, details, details_url, field_error, text_of
from ferries.choices import Resource
from ferries.models import SailingInventory
from ferries.tests.factories import RouteFactory, sailing_factory
from kernel.throttling import forget_outage
from maritime.tests.pages import admin_form_data
from payments.models import DemoIntent, Refund

pytestmark = pytest.mark.django_db

BOOKINGS = "/api/v1/bookings"


def promo(code="SUMMER10", **fields) -> PromoCode:
    fields.setdefault("kind", PromoCode.Kind.AMOUNT if "amount_minor" in fields else PromoCode.Kind.PERCENT)
    if fields["kind"] == PromoCode.Kind.PERCENT:
        fields.setdefault("percent", 10)
    routes = fields.pop("routes", [])
    code = PromoCode.objects.create(code=code, **fields)
    code.routes.set(routes)
    return code


def lines_of(booking: Booking, direction: str = "outbound") -> dict[str, int]:
    """The leg's price lines that cost something (deck passage is free), by code."""
    leg = booking.legs.get(direction=direction)
    return {line["code"]: line["total"]["amount_minor"] for line in leg.price_lines if line["total"]["amount_minor"]}


def nothing_held() -> bool:
    taken = SailingInventory.objects.aggregate(total=Sum("taken"))["total"] or 0
    return (Booking.objects.count(), PromoCodeUse.objects.count(), taken) == (0, 0, 0)


def expire(booking: Booking) -> None:
    """The booking's hold runs out, as the sweep finds it: expired, its places given back."""
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert bookings_expire_overdue() == [booking.pk]


def refusal(data: dict) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        booking_create(request=parse_booking_request(data))
    return refused.value.message_dict["promo_code"]


# --- what a code takes off -----------------------------------------------------------------------------------------


def test_a_percentage_comes_off_each_leg_as_a_line_of_its_own_and_the_total_is_what_is_charged(trip):
    promo(percent=10)

    booking = held_booking(trip["out"], trip["back"], promo_code=" summer10 ", passengers=[ADULT, ADULT])

    assert lines_of(booking, "outbound") == {"adult": 20000, "promo:SUMMER10": -2000}
    assert lines_of(booking, "return") == {"adult": 20000, "promo:SUMMER10": -2000}
    assert [leg.price_minor for leg in booking.legs.order_by("direction")] == [18000, 18000]
    assert booking.total_minor == 36000
    use = booking.promo_use
    assert (use.promo_code.code, use.email, use.discount_minor, use.currency) == ("SUMMER10", "amira@example.com",
                                                                                 4000, "EUR")  # fmt: skip
    paid = pay_with_demo_card(booking)  # the demo provider is asked for, and takes, the discounted total
    assert paid.status == Booking.Status.PAID
    assert paid.payments.get().amount_minor == 36000


def test_a_fixed_amount_is_shared_in_proportion_and_never_touches_cancellation_protection(trip):
    promo("TENOFF", amount_minor=1001)

    booking = held_booking(
        trip["out"], trip["back"], promo_code="TENOFF", cancellation_protection=True,
        return_extras={"dinners": 1, "breakfasts": 0, "priority_boarding": False},
    )  # fmt: skip

    out, back = lines_of(booking, "outbound"), lines_of(booking, "return")
    # Discountable: 100.00 out, 125.00 back (dinner included); protection (8.00 a leg) aside.
    assert out["protection"] == back["protection"] == 800
    assert (out["promo:TENOFF"], back["promo:TENOFF"]) == (-444, -557)  # 1001 × 100/225 rounded down; the rest
    assert booking.total_minor == 10800 + 13300 - 1001


def test_a_fixed_amount_larger_than_the_price_brings_it_to_zero_and_the_booking_is_paid_at_once(trip):
    promo("FREE", amount_minor=50000)
    request = parse_booking_request(request_data(trip["out"], promo_code="FREE"))

    booking = checkout.booking_book(request=request)

    assert booking.total_minor == 0
    assert lines_of(booking)["promo:FREE"] == -10000
    assert booking.status in {Booking.Status.PAID, Booking.Status.CONFIRMED}
    assert not booking.payments.exists()


def test_a_code_for_some_routes_and_days_discounts_only_the_legs_it_covers(trip, tunis_marseille):
    out_day = trip["out"].local_day
    promo("TUNIS", percent=50, routes=[tunis_marseille], travel_from=out_day, travel_to=out_day)

    booking = held_booking(trip["out"], trip["back"], promo_code="TUNIS")

    assert lines_of(booking, "outbound") == {"adult": 10000, "promo:TUNIS": -5000}
    assert lines_of(booking, "return") == {"adult": 10000}
    assert booking.total_minor == 15000


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"active": False}, "This promo code is not valid."),
        ({"starts_at": timezone.now() + dt.timedelta(days=1)}, "This promo code is not valid yet."),
        (
            {"ends_at": timezone.now() - dt.timedelta(minutes=1), "starts_at": timezone.now() - dt.timedelta(days=9)},
            "This promo code has expired.",
        ),
        ({"min_total_minor": 10001}, "This promo code is for bookings of €100.01 or more."),
        (
            {"kind": PromoCode.Kind.AMOUNT, "amount_minor": 500, "currency": "TND"},
            "This promo code is not valid for prices in EUR.",
        ),
        ({"travel_to": dt.date(2020, 1, 1)}, "This promo code is not valid for these sailings."),
    ],
)
def test_a_code_that_does_not_apply_is_refused_on_its_field_and_holds_nothing(trip, fields, message):
    promo(**fields)

    assert refusal(request_data(trip["out"], promo_code="SUMMER10")) == [message]
    assert nothing_held()


def test_an_unknown_code_and_one_for_other_routes_are_refused_before_any_place_is_held(trip):
    promo(routes=[RouteFactory()])

    assert refusal(request_data(trip["out"], promo_code="NOSUCH")) == ["This promo code is not valid."]
    assert refusal(request_data(trip["out"], promo_code="SUMMER10")) == [
        "This promo code is not valid for these sailings."
    ]
    assert nothing_held()


def test_a_first_booking_code_is_refused_to_an_address_that_paid_before_in_any_letter_case(trip):
    promo("WELCOME", first_booking_only=True)
    pay_with_demo_card(held_booking(trip["out"]))  # amira@example.com has paid once

    shouting = request_data(trip["later_out"], promo_code="WELCOME", contact={**CONTACT, "email": "AMIRA@example.com"})
    assert refusal(shouting) == ["This promo code is for a first booking only."]
    newcomer = held_booking(trip["later_out"], promo_code="WELCOME", contact={**CONTACT, "email": "new@example.com"})
    assert newcomer.promo_use.email == "new@example.com"
    # …and once only, even before paying.
    again = request_data(trip["out"], promo_code="WELCOME", contact={**CONTACT, "email": "New@Example.com"})
    assert refusal(again) == ["This promo code is for a first booking only."]


def test_a_code_is_used_no_more_often_than_allowed_in_all_and_per_address(trip):
    promo(max_uses=3, max_uses_per_email=2)
    held_booking(trip["out"], promo_code="SUMMER10")
    held_booking(trip["out"], promo_code="SUMMER10")

    third_by_amira = request_data(trip["out"], promo_code="SUMMER10")
    assert refusal(third_by_amira) == ["You have already used this promo code as often as it may be."]
    held_booking(trip["out"], promo_code="SUMMER10", contact={**CONTACT, "email": "sami@example.com"})
    fourth = request_data(trip["out"], promo_code="SUMMER10", contact={**CONTACT, "email": "lina@example.com"})
    assert refusal(fourth) == ["This promo code has been used as often as it may be."]
    assert PromoCodeUse.objects.count() == Booking.objects.count() == 3


# --- uses given back, and taken again ------------------------------------------------------------------------------


def test_a_hold_that_expires_or_is_cancelled_unpaid_gives_its_use_back_but_a_paid_cancellation_does_not(trip):
    code = promo(max_uses=1)
    expiring = held_booking(trip["out"], promo_code="SUMMER10")

    expire(expiring)
    cancelled = held_booking(trip["out"], promo_code="SUMMER10")  # the use was free again
    cancelling.booking_cancel(booking_id=cancelled.pk, actor="traveller", reason="changed my mind")
    paid = pay_with_demo_card(held_booking(trip["out"], promo_code="SUMMER10"))
    cancelling.booking_cancel(booking_id=paid.pk, actor="traveller", reason="changed my mind")

    assert refusal(request_data(trip["out"], promo_code="SUMMER10")) == [
        "This promo code has been used as often as it may be."
    ]
    counting = {use.booking_id: use.released_at is None for use in code.uses.all()}
    assert counting == {expiring.pk: False, cancelled.pk: False, paid.pk: True}


def test_money_arriving_after_the_hold_expired_takes_the_use_again_only_if_the_code_has_room(trip):
    promo(max_uses=1)
    late = held_booking(trip["out"], promo_code="SUMMER10")
    expire(late)
    taken_meanwhile = held_booking(trip["out"], promo_code="SUMMER10")

    assert booking_rehold(booking_id=late.pk) is False
    assert PromoCodeUse.objects.get(booking=late).released_at is not None  # given back still: the code is full
    assert SailingInventory.objects.get(sailing=trip["out"], resource=Resource.PASSENGERS).taken == 1  # nor places
    booking_transition(booking_id=taken_meanwhile.pk, to=Booking.Status.CANCELLED, actor="traveller", reason="no")
    assert booking_rehold(booking_id=late.pk) is True
    assert PromoCodeUse.objects.get(booking=late).released_at is None


def test_paid_late_with_its_code_used_up_the_money_is_refunded_in_full(trip):
    promo(max_uses=1)
    late = held_booking(trip["out"], promo_code="SUMMER10")
    payment = checkout.payment_open(booking_id=late.pk)
    expire(late)
    held_booking(trip["out"], promo_code="SUMMER10")

    DemoIntent.objects.filter(intent_id=payment.intent_id).update(status="succeeded")
    checkout.payment_reconcile(payment_id=payment.pk)

    late.refresh_from_db()
    assert late.status == Booking.Status.CANCELLED
    refund = Refund.objects.get(payment=payment)
    assert (refund.amount_minor, refund.cause) == (9000, Refund.Cause.NOT_HONOURED)


# --- the refund promised is the refund made ------------------------------------------------------------------------


def test_cancelling_a_discounted_booking_refunds_what_was_paid_as_promised(trip):
    promo(percent=25)
    booking = pay_with_demo_card(held_booking(trip["out"], trip["back"], promo_code="SUMMER10"))

    promised = quotes.booking_refund_quote(booking=booking)
    cancellation = cancelling.booking_cancel(booking_id=booking.pk, actor="traveller", reason="plans changed")

    assert promised.amount_minor == refund_due(booking=booking, at=timezone.now()) <= booking.total_minor == 15000
    assert cancellation.refund_minor == promised.amount_minor
    assert Refund.objects.filter(payment__booking=booking).aggregate(Sum("amount_minor"))["amount_minor__sum"] == (
        promised.amount_minor
    )


# --- twenty at once ------------------------------------------------------------------------------------------------


def holding(data: dict):
    """A traveller's booking, to be run `at_once` with others: "held", or the message that refused it."""

    def book() -> str:
        booking_create(request=parse_booking_request(data))
        return "held"

    return book


@pytest.mark.django_db(transaction=True)
def test_twenty_bookings_at_once_use_a_five_use_code_exactly_five_times(tunis_marseille):
    promo(max_uses=5)
    sailing = sailing_factory(route=tunis_marseille)
    requests = [
        request_data(sailing, promo_code="SUMMER10", contact={**CONTACT, "email": f"t{n}@example.com"})
        for n in range(20)
    ]

    outcomes = at_once(*map(holding, requests))

    assert outcomes == {"held": 5, "This promo code has been used as often as it may be.": 15}
    assert PromoCodeUse.objects.count() == Booking.objects.count() == 5
    assert SailingInventory.objects.get(sailing=sailing, resource=Resource.PASSENGERS).taken == 5  # refused: undone


@pytest.mark.django_db(transaction=True)
def test_twenty_bookings_at_once_from_one_address_use_a_code_no_more_than_its_limit_per_address(tunis_marseille):
    promo(max_uses_per_email=2)
    sailing = sailing_factory(route=tunis_marseille)

    outcomes = at_once(*[holding(request_data(sailing, promo_code="SUMMER10")) for _ in range(20)])

    assert outcomes == {"held": 2, "You have already used this promo code as often as it may be.": 18}
    assert PromoCodeUse.objects.filter(email="amira@example.com").count() == 2


# --- the API and the website ---------------------------------------------------------------------------------------


@pytest.fixture
def rates(settings):
    forget_outage()

    def set_rates(**given: str) -> None:
        everything = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "booking_create": "1000/hour", **given}
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": everything}

    yield set_rates
    forget_outage()


def test_the_api_answers_the_code_and_its_line_and_refuses_a_bad_one_on_its_field(trip, rates):
    rates()
    promo(percent=10)
    api = APIClient()

    made = api.post(
        BOOKINGS, request_data(trip["out"], promo_code="summer10"), format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    malformed = api.post(BOOKINGS, request_data(trip["out"], promo_code="x!"), format="json")
    unknown = api.post(BOOKINGS, request_data(trip["out"], promo_code="WINTER"), format="json")

    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["promo_code"] == {"code": "SUMMER10", "discount": {"amount_minor": 1000, "currency": "EUR"}}
    line = body["legs"][0]["price_lines"][-1]
    assert (line["code"], line["label"], line["total"]["amount_minor"]) == ("promo:SUMMER10", "Promo code SUMMER10",
                                                                            -1000)  # fmt: skip
    assert body["total"]["amount_minor"] == 9000
    assert malformed.status_code == unknown.status_code == 400
    assert "letters, digits and hyphens" in malformed.json()["promo_code"][0]
    assert unknown.json()["promo_code"] == ["This promo code is not valid."]
    assert Booking.objects.count() == 1


def test_guessing_codes_is_limited_per_client_while_booking_without_one_is_not(trip, rates):
    rates(promo_code="3/hour")
    api = APIClient()
    guesses = [
        api.post(BOOKINGS, request_data(trip["out"], promo_code=f"GUESS{n}"), format="json").status_code
        for n in range(4)
    ]
    promo("GUESS9")

    right_but_late = api.post(BOOKINGS, request_data(trip["out"], promo_code="GUESS9"), format="json")
    without = api.post(BOOKINGS, request_data(trip["out"]), format="json")

    assert guesses == [400, 400, 400, 429]
    assert right_but_late.status_code == 429
    assert 0 < int(right_but_late["Retry-After"]) <= 3600
    assert without.status_code == 201
    assert not PromoCodeUse.objects.exists()


def test_the_website_applies_a_code_typed_with_the_details_and_shows_it_as_a_price_line(client, trip, rates):
    rates()
    promo(percent=20)

    held = client.post(details_url(trip["out"]), details(promo_code="summer10"))

    booking = Booking.objects.get()
    assert held.status_code == 302
    assert held["Location"] == reverse("booking_detail", args=[booking.reference])
    page = text_of(client.get(held["Location"]))
    assert "Promo code SUMMER10 −€20.00" in page
    assert booking.total_minor == 8000


def test_the_website_shows_a_refused_code_next_to_its_field_and_holds_nothing(client, trip, rates):
    rates()
    promo(percent=20, min_total_minor=50000)

    refused = client.post(details_url(trip["out"]), details(promo_code="SUMMER10") | adult(first_name="Amira"))

    assert refused.status_code == 400
    assert field_error(refused, "promo_code") == "This promo code is for bookings of €500.00 or more."
    assert nothing_held()


def test_the_website_limits_code_guesses_with_the_api(client, trip, rates):
    rates(promo_code="2/hour")
    api = APIClient()
    api.post(BOOKINGS, request_data(trip["out"], promo_code="GUESS1"), format="json")
    client.post(details_url(trip["out"]), details(promo_code="GUESS2"), REMOTE_ADDR="127.0.0.1")

    refused = client.post(details_url(trip["out"]), details(promo_code="GUESS3"))
    without = client.post(details_url(trip["out"]), details())

    assert refused.status_code == 429
    assert without.status_code == 302


# --- staff ---------------------------------------------------------------------------------------------------------


def test_staff_create_a_code_in_the_admin_and_see_its_uses(admin_client, trip):
    add = reverse("admin:bookings_promocode_add")
    form = admin_form_data(admin_client.get(add))
    form |= {"code": " spring-5 ", "kind": "percent", "percent": "", "currency": "EUR", "max_uses": "5",
             "min_total_minor": "0"}  # fmt: skip

    without_percent = admin_client.post(add, form)
    saved = admin_client.post(add, form | {"percent": "5", "amount_minor": "300"})

    assert without_percent.status_code == 200
    assert without_percent.context["adminform"].form.errors["percent"] == ["A percentage code needs its percentage."]
    assert saved.status_code == 302
    code = PromoCode.objects.get()
    assert (code.code, code.percent, code.amount_minor, code.max_uses) == ("SPRING-5", 5, None, 5)

    booking = held_booking(trip["out"], promo_code="spring-5")
    listing = text_of(admin_client.get(reverse("admin:bookings_promocode_changelist")))
    page = admin_client.get(reverse("admin:bookings_promocode_change", args=[code.pk]))

    assert "SPRING-5" in listing
    assert "1 of 5" in listing
    assert "€5.00" in listing
    assert booking.reference in text_of(page)
    assert "amira@example.com" in text_of(page)
    assert not page.context["has_delete_permission"]  # its bookings' price lines name it


def test_the_database_refuses_a_code_with_two_discounts_or_dates_out_of_order(db):
    for fields in (
        {"kind": PromoCode.Kind.PERCENT, "percent": 10, "amount_minor": 500},
        {"kind": PromoCode.Kind.AMOUNT, "percent": None},
        {"percent": 10, "travel_from": dt.date(2027, 5, 2), "travel_to": dt.date(2027, 5, 1)},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            PromoCode.objects.create(code="BAD", **fields)
    assert not PromoCode.objects.exists()


def test_the_demo_codes_are_made_once_and_work_as_the_walk_through_says(trip):
    call_command("seed_demo_promo_codes", stdout=StringIO())
    call_command("seed_demo_promo_codes", stdout=StringIO())  # again: nothing added, nothing changed

    assert sorted(PromoCode.objects.values_list("code", flat=True)) == ["SUMMER-20", "WELCOME10"]
    welcome = held_booking(trip["out"], promo_code="welcome10")
    assert welcome.total_minor == 9000
    assert refusal(request_data(trip["out"], promo_code="SUMMER-20")) == [
        "This promo code is for bookings of €150.00 or more."
    ]
    assert held_booking(trip["out"], trip["back"], promo_code="SUMMER-20").total_minor == 18000
