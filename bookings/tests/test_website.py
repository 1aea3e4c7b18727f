"""The traveller's booking journey on the website, through Django's test client: choosing sailings, giving the
travellers' details, the booking page, finding a booking again and cancelling it."""

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bookings.models import Booking, Passenger
from bookings.tests.factories import born_years_before, held_booking, pay_with_demo_card
from ferries.choices import Resource
from ferries.models import CapacityHold, Fare, PassengerFare, Route, SailingInventory
from ferries.tests.factories import VesselFactory, sailing_factory

pytestmark = pytest.mark.django_db

DAY = timezone.now().date() + dt.timedelta(days=10)
BACK = DAY + dt.timedelta(days=7)


def sailing_at(route: Route, *, day: dt.date = DAY, time: str = "19:00", hours: float = 21, **options):
    """A sailing leaving at `time` on `day`, in the time of its port of departure."""
    departs = dt.datetime.combine(day, dt.time.fromisoformat(time), tzinfo=route.origin.tz)
    return sailing_factory(route=route, departs_in=departs - timezone.now(), hours=hours, **options)


def search(client, **params):
    query = {"from": "TNTUN", "to": "FRMRS", "date": DAY.isoformat(), **params}
    return client.get(f"{reverse('sailing_results')}?{urlencode(query)}")


def details_url(outbound, inbound=None, **party) -> str:
    params = {"outbound": outbound.pk, "adults": 1, **party}
    if inbound:
        params["return"] = inbound.pk
    return f"{reverse('booking_new')}?{urlencode(params)}"


def adult(index: int = 0, **changes) -> dict:
    fields = {"first_name": "Amira", "last_name": "Ben Salah", "date_of_birth": "1985-04-12"}
    fields |= {"nationality": "TN", "document_number": "X1234567", **changes}
    return {f"passengers-{index}-{name}": value for name, value in fields.items()}


def details(**changes) -> dict:
    """What a traveller types for one adult on deck, with a contact."""
    data = adult() | {"accommodation": "deck", "pets": "0"}
    data |= {
        "contact-name": "Amira Ben Salah",
        "contact-email": "amira@example.com",
        "contact-phone": "+216 71 000 000",
    }
    return data | changes


def text_of(page) -> str:
    html = page if isinstance(page, str) else page.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def field_error(response, name: str) -> str:
    """The error shown next to an input, tied to it by aria-describedby."""
    html = response.content.decode()
    found = re.search(rf'<ul class="errorlist" id="id_{name}_error">(.*?)</ul>', html, re.S)
    assert found, f"no error shown next to {name}"
    assert re.search(rf'<[^>]+id="id_{name}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="id_{name}"', html)
    return text_of(found.group(1)).strip()


def errors_above_the_form(response) -> str:
    found = re.search(r'<ul class="errorlist nonfield">(.*?)</ul>', response.content.decode(), re.S)
    assert found, "no error shown above the form"
    return text_of(found.group(1)).strip()


def taken(sailing, resource=Resource.PASSENGERS) -> int:
    return SailingInventory.objects.get(sailing=sailing, resource=resource).taken


def nothing_written() -> bool:
    return not Booking.objects.exists() and not Passenger.objects.exists() and not CapacityHold.objects.exists()


def book(client, sailing, **party) -> Booking:
    response = client.post(details_url(sailing, **party), details())
    assert response.status_code == 302, response.content.decode()[:2000]
    return Booking.objects.get()


# --- Choosing sailings on the results page -----------------------------------------------------------------


def test_each_sailing_of_a_one_way_search_is_selected_straight_into_the_details_page(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    response = search(client, adults="2", children="1", vehicle="car")

    html = response.content.decode()
    form = re.search(r'<form class="sailing-choice" action="/book" method="get".*?</form>', html, re.S).group(0)
    buttons = re.findall(
        rf'<button class="select-button" type="submit" name="outbound" value="{sailing.pk}:(\w+)">', form
    )
    assert buttons == ["basic", "standard", "flex"], "one button per fare family, in their order"
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))
    assert hidden == {
        "adults": "2",
        "children": "1",
        "infants": "0",
        "seniors": "0",
        "vehicle": "car",
        "vehicle_length_cm": "450",
        "vehicle_height_cm": "160",
        "accommodation": "deck",
    }
    assert 'type="radio"' not in form


def test_a_sold_out_sailing_cannot_be_selected(client, tunis_marseille):
    full = sailing_at(tunis_marseille, time="09:00")
    SailingInventory.objects.filter(sailing=full).update(taken=F("capacity"))
    open_one = sailing_at(tunis_marseille, time="19:00")

    html = search(client).content.decode()

    assert f'value="{full.pk}:' not in html
    assert f'name="outbound" value="{open_one.pk}:standard"' in html


def test_a_return_search_asks_for_one_sailing_each_way_and_a_continue_button(client, tunis_marseille, marseille_tunis):
    out = sailing_at(tunis_marseille)
    back = sailing_at(marseille_tunis, day=BACK, time="11:45")

    html = search(client, return_date=BACK.isoformat()).content.decode()

    assert re.search(rf'<input type="radio" name="outbound" value="{out.pk}:standard" required', html)
    assert re.search(rf'<input type="radio" name="return" value="{back.pk}:flex" required', html)
    assert re.search(r'<div class="choice-bar" data-choice-bar>.*?<button type="submit">Continue</button>', html, re.S)


def test_continuing_a_return_search_without_a_return_sailing_goes_back_to_the_results(client, tunis_marseille):
    out = sailing_at(tunis_marseille)

    response = client.get(f"{details_url(out)}&return_date={BACK.isoformat()}", follow=True)

    assert response.redirect_chain[0][0].startswith(reverse("sailing_results"))
    assert "Choose a return sailing as well" in text_of(response)


def test_a_return_that_leaves_before_the_outbound_arrives_is_refused_at_selection_on_the_results_page(
    client, tunis_marseille, marseille_tunis
):
    out = sailing_at(tunis_marseille, time="19:00", hours=21)
    too_early = sailing_at(marseille_tunis, day=DAY + dt.timedelta(days=1), time="08:00")

    response = client.get(details_url(out, too_early, adults=2), follow=True)

    results, status = response.redirect_chain[0]
    assert status == 302
    assert results.startswith(reverse("sailing_results"))
    assert f"return_date={(DAY + dt.timedelta(days=1)).isoformat()}" in results
    assert "adults=2" in results
    assert "The return must leave after the outbound arrives." in text_of(response)
    assert 'class="booking-form"' not in response.content.decode()


def test_a_return_that_sails_the_same_way_is_refused_at_selection_on_the_results_page(client, tunis_marseille):
    out = sailing_at(tunis_marseille, time="19:00")
    same_way = sailing_at(tunis_marseille, day=BACK, time="19:00")

    response = client.get(details_url(out, same_way), follow=True)

    assert response.redirect_chain[0][0].startswith(reverse("sailing_results"))
    assert "The return cannot leave from where the outbound leaves." in text_of(response)


# --- The details page -------------------------------------------------------------------------------------


def test_the_details_page_asks_for_each_passenger_of_the_party(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    response = client.get(details_url(sailing, adults=2, seniors=1, children=1, infants=1))

    assert response.status_code == 200
    html = response.content.decode()
    legends = re.findall(r"<legend>([^<]+)</legend>", html)
    assert legends == ["Adult 1", "Adult 2", "Senior 1", "Child 1", "Infant 1", "Extras", "Cabin and pets", "Contact"]
    for index in range(5):
        for name in ("first_name", "last_name", "date_of_birth", "nationality", "document_number"):
            assert f'name="passengers-{index}-{name}"' in html
    assert 'name="passengers-5-first_name"' not in html


def nationality_options(html: str, index: int = 0) -> list[tuple[str, str]]:
    found = re.search(rf'<select name="passengers-{index}-nationality"[^>]*>(.*?)</select>', html, re.S)
    assert found, "no country list for the nationality"
    return re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(1))


def test_each_nationality_is_chosen_from_every_country_by_its_name(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    options = nationality_options(client.get(details_url(sailing, adults=2)).content.decode(), index=1)

    assert options[0] == ("", "Choose a country")
    assert ("TN", "Tunisia") in options
    assert ("AL", "Albania") in options
    assert len(options) == 1 + 249
    assert not {"ZZ", "XX"} & {code for code, _name in options}


def test_the_countries_are_named_and_ordered_in_the_page_language(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    client.cookies["django_language"] = "fr"

    options = nationality_options(client.get(details_url(sailing)).content.decode())

    assert ("TN", "Tunisie") in options
    assert ("DE", "Allemagne") in options
    names = [name for code, name in options[1:]]
    assert names.index("Allemagne") < names.index("Espagne") < names.index("Tunisie")


def test_the_chosen_nationality_stays_chosen_when_the_page_comes_back_with_errors(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    response = client.post(details_url(sailing), details(**adult(nationality="IT", last_name="")))

    assert response.status_code == 400
    assert '<option value="IT" selected>' in response.content.decode()


def test_the_details_page_sums_up_the_chosen_sailings_in_port_time_with_their_prices(
    client, tunis_marseille, marseille_tunis
):
    out = sailing_at(tunis_marseille, time="19:00", vessel=VesselFactory(name="Tanit"))
    back = sailing_at(marseille_tunis, day=BACK, time="11:45")

    response = client.get(details_url(out, back, adults=2))

    text = text_of(response)
    assert "19:00" in text, "Tunis time, not UTC"
    assert "11:45" in text, "Marseille time"
    assert "Tanit" in text
    assert "Total, both ways €400.00" in text
    assert "2 adults" in text


def test_the_vehicle_block_keeps_the_searched_category_and_size(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    response = client.get(details_url(sailing, vehicle="car", vehicle_length_cm=480, vehicle_height_cm=190))

    html = response.content.decode()
    assert "Vehicle: Car" in text_of(response)
    assert re.search(r'name="vehicles-0-length_cm" value="480"', html)
    assert re.search(r'name="vehicles-0-height_cm" value="190"', html)
    assert 'name="vehicles-0-category"' not in html, "the category is the one searched"


def test_the_details_page_of_a_sailing_sold_out_meanwhile_offers_other_sailings_instead_of_the_form(
    client, tunis_marseille
):
    sailing = sailing_at(tunis_marseille)
    SailingInventory.objects.filter(sailing=sailing).update(taken=F("capacity"))

    response = client.get(details_url(sailing))

    assert "Sold out. Please choose another sailing." in text_of(response)
    assert 'class="booking-form"' not in response.content.decode()


@pytest.mark.parametrize("outbound", ["abc", "999999", "", "-1", "1e3", "9" * 30])
def test_a_link_naming_no_sailing_of_ours_asks_to_choose_again(client, tunis_marseille, outbound):
    response = client.get(f"{reverse('booking_new')}?outbound={outbound}&adults=1")

    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert "We could not find the sailings you chose." in text_of(response)


def test_a_link_with_a_party_the_search_would_refuse_asks_to_choose_again(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    response = client.get(details_url(sailing, adults=0, children=1))

    assert response.status_code == 400
    assert "Children and infants must travel with an adult or a senior." in text_of(response)


# --- Holding the places ---------------------------------------------------------------------------------


def test_invoice_details_are_kept_for_the_invoices_and_a_bad_vat_number_shows_next_to_its_input(
    client, tunis_marseille
):
    sailing = sailing_at(tunis_marseille)
    billing = {"billing-name": "Amira Ben Salah", "billing-address": "12 rue de Marseille, Tunis",
               "billing-company": "Ben Salah Trading", "billing-vat_number": "12"}  # fmt: skip

    refused = client.post(details_url(sailing), details(**billing))
    assert refused.status_code == 400
    assert "country prefix" in field_error(refused, "billing-vat_number")
    assert nothing_written()
    client.post(details_url(sailing), details(**{**billing, "billing-vat_number": "TN1234567A"}))

    assert Booking.objects.get().billing == {
        "name": "Amira Ben Salah", "address": "12 rue de Marseille, Tunis", "company": "Ben Salah Trading",
        "vat_number": "TN1234567A",
    }  # fmt: skip


def test_valid_details_hold_the_places_and_lead_to_the_booking_page(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    response = client.post(details_url(sailing), details())

    booking = Booking.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("booking_detail", kwargs={"reference": booking.reference})
    assert booking.status == Booking.Status.HELD
    assert (booking.contact_email, booking.language, booking.owner) == ("amira@example.com", "en", None)
    assert taken(sailing) == 1
    passenger = booking.passengers.get()
    assert (passenger.type, passenger.last_name, passenger.date_of_birth) == (
        "adult",
        "Ben Salah",
        dt.date(1985, 4, 12),
    )


def test_sending_the_same_page_twice_holds_the_places_once(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    first = client.post(details_url(sailing), details())
    again = client.post(details_url(sailing), details())

    assert first.status_code == again.status_code == 302
    assert first.url == again.url
    assert Booking.objects.count() == 1
    assert taken(sailing) == 1


def test_the_same_details_sent_from_the_page_shown_again_hold_the_places_once(client, tunis_marseille):
    """Back to the details page — shown afresh by the browser — and the same details sent again."""
    sailing = sailing_at(tunis_marseille)
    client.get(details_url(sailing))
    first = client.post(details_url(sailing), details())

    assert client.get(details_url(sailing)).status_code == 200
    again = client.post(details_url(sailing), details())

    assert again.url == first.url
    assert Booking.objects.count() == 1
    assert taken(sailing) == 1


def test_the_same_details_typed_a_little_differently_are_still_the_same_booking(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    first = client.post(details_url(sailing), details())
    retyped = adult(last_name=" Ben  Salah ", document_number="x1234567")

    again = client.post(details_url(sailing), details(**retyped, **{"contact-email": "AMIRA@example.com"}))

    assert again.url == first.url
    assert Booking.objects.count() == 1


def test_other_details_from_the_same_browser_are_another_booking(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    first = client.post(details_url(sailing), details())

    other = client.post(details_url(sailing), details(**adult(first_name="Sami", document_number="Y7654321")))

    assert other.status_code == 302
    assert other.url != first.url
    assert Booking.objects.count() == 2
    assert taken(sailing) == 2


def test_the_same_details_from_another_browser_are_another_booking(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    first = client.post(details_url(sailing), details())

    elsewhere = Client().post(details_url(sailing), details())

    assert elsewhere.url != first.url
    assert Booking.objects.count() == 2


@pytest.mark.parametrize("ended", [Booking.Status.EXPIRED, Booking.Status.CANCELLED])
def test_the_same_details_sent_again_after_the_booking_ended_book_again(client, tunis_marseille, ended):
    sailing = sailing_at(tunis_marseille)
    client.post(details_url(sailing), details())
    Booking.objects.update(status=ended)

    first_again = client.post(details_url(sailing), details())
    second_again = client.post(details_url(sailing), details())

    booking = Booking.objects.get(status=Booking.Status.HELD)
    assert first_again.url == second_again.url == reverse("booking_detail", kwargs={"reference": booking.reference})
    assert Booking.objects.count() == 2


def test_a_whole_family_with_a_car_and_a_pet_is_held_as_typed(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    child = adult(1, first_name="Youssef", date_of_birth=born_years_before(sailing, 8))
    car = {"vehicles-0-registration": "123 tu 4567", "vehicles-0-length_cm": "450", "vehicles-0-height_cm": "160"}

    response = client.post(details_url(sailing, children=1, vehicle="car"), details(**child, **car, pets="1"))

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert sorted(booking.passengers.values_list("type", flat=True)) == ["adult", "child"]
    [vehicle] = booking.vehicles.all()
    assert (vehicle.category, vehicle.registration) == ("car", "123 TU 4567")
    assert booking.pets == 1
    assert taken(sailing, Resource.LANE_CM) == 500


def test_a_signed_in_traveller_owns_the_booking_and_opens_it_from_any_browser(
    client, tunis_marseille, django_user_model
):
    user = django_user_model.objects.create_user("amira", "amira@example.com", "pw")
    client.force_login(user)
    booking = book(client, sailing_at(tunis_marseille))

    elsewhere = Client()
    elsewhere.force_login(user)

    assert booking.owner == user
    assert elsewhere.get(reverse("booking_detail", kwargs={"reference": booking.reference})).status_code == 200


BAD_DETAILS = {
    "missing last name": (adult(last_name=""), "passengers-0-last_name", "This field is required."),
    "date of birth in words": (adult(date_of_birth="12/04/1985"), "passengers-0-date_of_birth", "YYYY-MM-DD"),
    "adult born last year": (adult(date_of_birth="2024-01-01"), "passengers-0-date_of_birth", "12 to 64 years old"),
    "child too old": (
        lambda sailing: adult(1, first_name="Youssef", date_of_birth=born_years_before(sailing, 15, days_after=0)),
        "passengers-1-date_of_birth",
        "A passenger of this type is 4 to 11 years old on the day of travel; this one is 15.",
    ),
    "country in words": (adult(nationality="Tunisia"), "passengers-0-nationality", "two-letter country code"),
    "no such country": (adult(nationality="ZZ"), "passengers-0-nationality", "ZZ is not a country code of ISO 3166-1"),
    "bad e-mail": ({"contact-email": "amira@"}, "contact-email", "Enter a valid e-mail address."),
    "bad phone": ({"contact-phone": "call me"}, "contact-phone", "with its country code"),
    "bad registration": ({"vehicles-0-registration": "$$$"}, "vehicles-0-registration", "as on the number plate"),
    "too tall for a car": ({"vehicles-0-height_cm": "300"}, "vehicles-0-height_cm", "Must be between 50 and 250"),
    "too many pets": ({"pets": "9"}, "pets", "Must be between 0 and 4"),
}
CAR = {"vehicles-0-registration": "123 TU 4567", "vehicles-0-length_cm": "450", "vehicles-0-height_cm": "160"}


@pytest.mark.parametrize(("changes", "name", "message"), BAD_DETAILS.values(), ids=BAD_DETAILS.keys())
def test_bad_details_are_refused_next_to_their_field_and_nothing_is_written(
    client, tunis_marseille, changes, name, message
):
    sailing = sailing_at(tunis_marseille)
    child = adult(1, first_name="Youssef", date_of_birth=born_years_before(sailing, 8))
    changes = changes(sailing) if callable(changes) else changes

    response = client.post(details_url(sailing, children=1, vehicle="car"), details(**CAR, **child) | changes)

    assert response.status_code == 400
    assert message in field_error(response, name)
    assert set(response.context["form"].errors) == {name}, "the other details were right"
    assert nothing_written()
    assert taken(sailing) == 0


def test_every_mistake_is_shown_at_once_and_what_was_typed_is_kept(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    response = client.post(
        details_url(sailing), details(**adult(first_name="Amira", last_name=""), **{"contact-phone": "x"})
    )

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"passengers-0-last_name", "contact-phone"}
    assert 'name="passengers-0-first_name" value="Amira"' in response.content.decode()


def test_a_sailing_sold_out_while_the_traveller_typed_is_refused_above_the_form(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    SailingInventory.objects.filter(sailing=sailing).update(taken=F("capacity"))

    response = client.post(details_url(sailing), details())

    assert response.status_code == 400
    assert errors_above_the_form(response).startswith("Outbound sailing: Sold out")
    assert nothing_written()


def test_a_vehicle_too_tall_for_the_vessel_is_refused_at_its_height(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille, vessel=VesselFactory(name="Tanit", max_vehicle_height_cm=200))

    response = client.post(details_url(sailing, vehicle="car"), details(**CAR | {"vehicles-0-height_cm": "220"}))

    assert response.status_code == 400
    assert "Vehicles up to 200 cm high fit on Tanit." in field_error(response, "vehicles-0-height_cm")
    assert nothing_written()


def test_an_operator_that_does_not_answer_asks_to_try_again_and_keeps_the_details(client, tunis_marseille, monkeypatch):
    from bookings.flows import checkout
    from bookings.services import OperatorUnavailable

    def unavailable(**kwargs):
        raise OperatorUnavailable("Local Lines is not answering; please try again.")

    monkeypatch.setattr(checkout, "booking_book", unavailable)
    sailing = sailing_at(tunis_marseille)

    response = client.post(details_url(sailing), details())

    assert response.status_code == 503
    assert "Local Lines is not answering; please try again." in errors_above_the_form(response)
    assert 'value="Ben Salah"' in response.content.decode()


NASTY_VALUES = ["", " ", "\x00", "ÄÖÜÉÈ", "-1", "1e9", "9" * 40, "2026-02-30", "../../etc", "<script>"]


def test_no_value_typed_in_any_field_makes_the_details_page_fail(client, tunis_marseille, unlimited_forms):
    sailing = sailing_at(tunis_marseille)
    url = details_url(sailing, vehicle="car")

    for name in details(**CAR):
        for value in NASTY_VALUES:
            response = client.post(url, details(**CAR) | {name: value})

            assert response.status_code in (302, 400), f"{name}={value!r}"
            assert b"<script>" not in response.content


def test_no_value_typed_in_manage_my_booking_makes_it_fail(client):
    for value in NASTY_VALUES:
        response = client.post(reverse("manage_booking"), {"reference": value, "email": value})

        assert response.status_code == 400, repr(value)
        assert b"<script>" not in response.content


# --- The booking page ----------------------------------------------------------------------------------


def test_the_booking_page_shows_the_held_booking_with_its_countdown_legs_and_prices(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille, time="19:00", vessel=VesselFactory(name="Tanit"))
    booking = book(client, sailing, children=0)

    response = client.get(reverse("booking_detail", kwargs={"reference": booking.reference}))

    assert response.status_code == 200
    text = text_of(response)
    assert booking.reference in text
    assert "Held, awaiting payment" in text
    until = booking.hold_expires_at.astimezone(tunis_marseille.origin.tz)
    assert f"Your places are held until {until:%H:%M} (Tunis time) — 20 min left" in text
    assert "19:00 Tunis" in text, "port time"
    assert "Local Lines Tanit" in text
    assert "Amira Ben Salah Adult (12–64)" in text
    assert "Nationality Tunisia" in text, "the country's name, not its code"
    assert "1 × Adult (12–64) €100.00" in text
    assert "Total €100.00" in text
    assert "We check with the operator that your sailings still run as booked" in text
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_booking_page_counts_pets_in_words_on_the_price_lines(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    client.post(details_url(sailing), details(pets="2", dogs="1"))
    booking = Booking.objects.get()

    text = text_of(client.get(reverse("booking_detail", kwargs={"reference": booking.reference})))

    assert "1 dog €20.00" in text
    assert "1 other pet €20.00" in text
    assert "× Dog" not in text


def test_the_booking_page_is_not_found_in_a_browser_that_does_not_have_it(client, tunis_marseille):
    booking = book(client, sailing_at(tunis_marseille))

    response = Client().get(reverse("booking_detail", kwargs={"reference": booking.reference}))

    assert response.status_code == 404


def test_an_unknown_reference_is_not_found_either(client):
    assert client.get(reverse("booking_detail", kwargs={"reference": "ZZZZZZ"})).status_code == 404


# --- Manage my booking ---------------------------------------------------------------------------------


def test_the_reference_and_e_mail_open_the_booking_in_another_browser(client, tunis_marseille):
    booking = book(client, sailing_at(tunis_marseille))
    other = Client()

    response = other.post(
        reverse("manage_booking"), {"reference": f" {booking.reference.lower()} ", "email": "AMIRA@example.com"}
    )

    assert response.status_code == 302
    assert response.url == reverse("booking_detail", kwargs={"reference": booking.reference})
    assert other.get(response.url).status_code == 200


@pytest.mark.parametrize("wrong", ["email", "reference"])
def test_a_wrong_reference_or_e_mail_says_nothing_matches_without_saying_which(client, tunis_marseille, wrong):
    booking = book(client, sailing_at(tunis_marseille))
    attempt = {"reference": booking.reference, "email": "amira@example.com", wrong: "someone@example.com"}
    if wrong == "reference":
        attempt["reference"] = "ZZZZZZ"
    other = Client()

    response = other.post(reverse("manage_booking"), attempt)

    assert response.status_code == 400
    assert errors_above_the_form(response) == "No booking matches this reference and e-mail. Check both and try again."
    assert other.get(reverse("booking_detail", kwargs={"reference": booking.reference})).status_code == 404


def test_the_site_links_to_manage_my_booking_from_every_page(client):
    assert f'<a href="{reverse("manage_booking")}">Manage my booking</a>' in client.get("/").content.decode()


# --- Cancelling ---------------------------------------------------------------------------------------


def cancel_url(booking) -> str:
    return reverse("booking_cancel", kwargs={"reference": booking.reference})


def test_cancelling_a_held_booking_asks_to_confirm_then_frees_the_places(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    booking = book(client, sailing)

    confirm = client.get(cancel_url(booking))
    response = client.post(cancel_url(booking), follow=True)

    assert "Nothing has been paid yet, so there is nothing to refund." in text_of(confirm)
    assert "Yes, cancel my booking" in text_of(confirm)
    assert Booking.objects.get().status == Booking.Status.CANCELLED
    assert taken(sailing) == 0
    assert "Your booking is cancelled and its places are released." in text_of(response)
    assert "This booking is cancelled" in text_of(response)


def test_cancelling_a_paid_booking_shows_the_refund_the_policy_gives_now(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    booking = pay_with_demo_card(book(client, sailing))

    page = client.get(reverse("booking_detail", kwargs={"reference": booking.reference}))
    response = client.post(cancel_url(booking), follow=True)

    assert "Cancelling now refunds €100.00 of the €100.00 paid." in text_of(page)
    assert "Outbound (Standard): Full refund until 7 days before departure, 50 % until 24 hours before" in text_of(page)
    assert "Your booking is cancelled. €100.00 will be refunded to the card you paid with." in text_of(response)
    assert taken(sailing) == 0


def test_cancelling_an_expired_booking_says_it_is_over(client, tunis_marseille):
    booking = book(client, sailing_at(tunis_marseille))
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.EXPIRED)

    response = client.post(cancel_url(booking), follow=True)

    assert response.status_code == 200
    assert "cannot be cancelled" in text_of(response)
    assert "This booking expired unpaid" in text_of(response)
    assert Booking.objects.get().status == Booking.Status.EXPIRED


def test_an_expired_booking_offers_no_cancel_button(client, tunis_marseille):
    booking = book(client, sailing_at(tunis_marseille))
    Booking.objects.filter(pk=booking.pk).update(status=Booking.Status.EXPIRED)

    response = client.get(reverse("booking_detail", kwargs={"reference": booking.reference}))

    assert cancel_url(booking) not in response.content.decode()
    assert client.get(cancel_url(booking)).status_code == 302


def test_another_browser_cannot_cancel_the_booking(client, tunis_marseille):
    booking = book(client, sailing_at(tunis_marseille))

    assert Client().post(cancel_url(booking)).status_code == 404
    assert Booking.objects.get().status == Booking.Status.HELD


# --- Forgery ------------------------------------------------------------------------------------------


def test_every_form_that_writes_refuses_a_post_without_its_csrf_token(tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    booking = held_booking(sailing)
    browser = Client(enforce_csrf_checks=True)
    session = browser.session
    session["bookings"] = [booking.reference]
    session.save()

    assert browser.post(details_url(sailing), details()).status_code == 403
    assert browser.post(cancel_url(booking)).status_code == 403
    assert (
        browser.post(reverse("manage_booking"), {"reference": booking.reference, "email": "x@y.z"}).status_code == 403
    )
    assert Booking.objects.get().status == Booking.Status.HELD
    assert taken(sailing) == 1


def test_the_details_form_carries_its_csrf_token(tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(details_url(sailing))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)

    assert browser.post(details_url(sailing), details(csrfmiddlewaretoken=token)).status_code == 302


# --- fare families ---------------------------------------------------------------------------------------------


def test_the_fare_chosen_on_the_results_page_is_the_one_held_and_shown_with_its_rules(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    url = details_url(sailing).replace(f"outbound={sailing.pk}", f"outbound={sailing.pk}%3Aflex")

    page = client.get(url)
    response = client.post(url, details())

    assert "Flex · €125.00" in text_of(page)
    booking = Booking.objects.get()
    assert response.status_code == 302
    assert (booking.legs.get().fare_family, booking.total_minor) == ("flex", 12500)
    detail = text_of(client.get(reverse("booking_detail", kwargs={"reference": booking.reference})))
    assert "Fare Flex" in detail


def test_a_fare_the_sailing_is_not_sold_in_is_refused_before_any_detail_is_asked(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    url = details_url(sailing).replace(f"outbound={sailing.pk}", f"outbound={sailing.pk}%3Afirst-class")

    response = client.get(url)

    assert response.status_code == 400
    assert "This sailing is not sold in the fare you chose; choose another." in text_of(response)
    assert not Booking.objects.exists()


# --- extras ----------------------------------------------------------------------------------------------------


def test_meals_priority_boarding_and_protection_are_offered_with_their_prices_and_held_with_the_booking(
    client, tunis_marseille
):
    sailing = sailing_at(tunis_marseille)
    url = details_url(sailing)

    page = text_of(client.get(url))
    response = client.post(
        url,
        details(**{
            "outbound_extras-dinners": "1", "outbound_extras-breakfasts": "0",
            "outbound_extras-priority_boarding": "on", "cancellation_protection": "on",
        }),
    )  # fmt: skip

    for offered in ("Dinner, €25.00 each", "Breakfast, €12.00 each", "Priority boarding, €15.00",
                    "Cancellation protection, €8.00 per passenger and crossing"):  # fmt: skip
        assert offered in page
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.cancellation_protection is True
    codes = {line["code"]: line["quantity"] for line in booking.legs.get().price_lines}
    assert (codes["meal:dinner"], codes["priority_boarding"], codes["protection"]) == (1, 1, 1)
    assert "meal:breakfast" not in codes
    assert booking.total_minor == 10000 + 2500 + 1500 + 800
    pay_with_demo_card(booking)
    detail = text_of(client.get(reverse("booking_detail", kwargs={"reference": booking.reference})))
    assert "Cancelling now refunds €140.00 of the €148.00 paid." in detail, "all but the protection"
    assert "Cancellation protection: everything but the protection itself back" in detail


def test_extras_the_sailing_does_not_sell_are_not_offered(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    Fare.objects.update(dinner_amount_minor=None, breakfast_amount_minor=None, protection_amount_minor=None)

    page = text_of(client.get(details_url(sailing)))

    assert "Priority boarding, €15.00" in page
    assert "Dinner" not in page
    assert "Breakfast" not in page
    assert "Cancellation protection" not in page


def test_more_meals_than_passengers_are_refused_next_to_the_field(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)

    response = client.post(details_url(sailing), details(**{"outbound_extras-dinners": "3"}))

    assert response.status_code == 400
    assert response.context["form"].errors["outbound_extras-dinners"] == ["At most one for each passenger (1)."]
    assert not Booking.objects.exists()


def test_a_booking_with_nothing_to_pay_is_not_offered_a_payment(client, tunis_marseille):
    sailing = sailing_at(tunis_marseille)
    PassengerFare.objects.filter(fare__route=tunis_marseille).update(amount_minor=0)

    booking = book(client, sailing)
    page = text_of(client.get(reverse("booking_detail", kwargs={"reference": booking.reference})))

    assert (booking.total_minor, booking.status) == (0, Booking.Status.PAID)
    assert "Nothing to pay" in page
    assert "Pay €" not in page
    assert "We are confirming your places with the operator." in page
