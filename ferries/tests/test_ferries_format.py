"""The template filters that put search results into words."""

import pytest
from django.template import Context, Template
from django.test import override_settings
from django.utils import translation

from ferries.party import Party, Vehicle
from ferries.templatetags.ferries_format import (
    availability_label,
    duration,
    money,
    party_summary,
    price_line,
    price_line_label,
    vehicle_summary,
)


def render(source: str, **context) -> str:
    return Template("{% load ferries_format %}" + source).render(Context(context))


def test_money_shows_euros_with_their_symbol_and_cents():
    assert money({"amount_minor": 123450, "currency": "EUR"}) == "€1,234.50"


def test_money_shows_dinars_with_their_three_decimals_and_code():
    assert money({"amount_minor": 95500, "currency": "TND"}) == "TND95.500"  # the CLDR's British English


def test_duration_shows_hours_and_two_digit_minutes():
    assert duration(1260) == "21 h 00"
    assert duration(75) == "1 h 15"


@override_settings(TIME_ZONE="UTC")
def test_port_time_keeps_the_ports_own_time_instead_of_the_sites():
    assert render("{{ value|port_time|time:'H:i' }}", value="2026-06-12T19:00:00+01:00") == "19:00"
    assert render("{{ value|port_time|date:'D j M' }}", value="2026-06-13T00:30:00+02:00") == "Sat 13 Jun"


def test_port_time_of_something_that_is_not_a_time_shows_nothing():
    assert render("{{ value|port_time|time:'H:i' }}", value="soon") == ""


def test_few_places_are_counted_in_the_singular_and_the_plural():
    assert availability_label({"status": "limited", "places_left": 1}) == "Only 1 place left"
    assert availability_label({"status": "limited", "places_left": 7}) == "Only 7 places left"


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("available", "Available"),
        ("sold_out", "Sold out"),
        ("unavailable", "Not available for your vehicle or cabin"),
        ("cancelled", "Cancelled"),
        ("unknown", "Availability to be confirmed"),
        ("something new", "Availability to be confirmed"),
    ],
)
def test_each_availability_has_words_for_the_traveller(status, label):
    assert availability_label({"status": status, "places_left": None}) == label


def test_party_summary_counts_each_kind_of_passenger_on_board():
    assert party_summary(Party(adults=2, children=1, infants=0, seniors=1)) == "2 adults, 1 child, 1 senior"


def test_vehicle_summary_gives_the_kind_and_size_or_says_there_is_none():
    assert vehicle_summary(Vehicle(category="car", length_cm=450, height_cm=160)) == "Car, 450 × 160 cm"
    assert vehicle_summary(None) == "No vehicle"


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("adult", "Adult (12–64)"),
        ("vehicle:car", "Car"),
        ("accommodation:inside_2", "Inside cabin, 2 berths"),
        ("pets", "Pets"),
        ("fuel_surcharge", "fuel_surcharge"),
    ],
)
def test_price_lines_are_named_in_words(code, label):
    assert price_line_label(code) == label


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ({"code": "pets", "quantity": 1}, "1 pet"),
        ({"code": "pets", "quantity": 2}, "2 pets"),
        ({"code": "adult", "quantity": 2}, "2 × Adult (12–64)"),
        ({"code": "vehicle:car", "quantity": 1}, "1 × Car"),
    ],
)
def test_a_price_line_reads_as_its_quantity_and_what_it_is(line, text):
    assert price_line(line) == text


def test_pets_on_a_price_line_take_the_french_plural():
    with translation.override("fr"):
        assert [price_line({"code": "pets", "quantity": n}) for n in (1, 2)] == ["1 animal", "2 animaux"]
