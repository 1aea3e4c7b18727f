"""kernel.api.json_bytes: the answers sent as the cache keeps them are written by orjson, byte for byte as DRF's
JSONRenderer writes them (the plain-JSON answer and the browsable or indented one must say the same)."""

import dataclasses
import datetime as dt
import json
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import models
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from kernel.api import json_bytes


class Colour(models.TextChoices):
    BLUE = "blue", "Blue"


@dataclasses.dataclass
class Point:
    x: int
    label: str


VALUES = {
    "an aware time with microseconds, in UTC": dt.datetime(2026, 12, 7, 8, 30, 0, 123456, tzinfo=dt.UTC),
    "an aware time elsewhere": dt.datetime(2026, 12, 7, 8, 30, tzinfo=ZoneInfo("Africa/Tunis")),
    "a naive time": dt.datetime(2026, 12, 7, 8, 30, 5),
    "a day": dt.date(2026, 12, 7),
    "a time of day with microseconds": dt.time(23, 59, 1, 999999),
    "a duration": dt.timedelta(hours=2, minutes=5),
    "a decimal": Decimal("12.50"),
    "a lazy translation": gettext_lazy("Adult"),
    "a uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "a choice": Colour.BLUE,
    "keys that are not strings": {1: "one", 2: [True, None, 1.5]},
    "a float": 1234.5,
    "text beyond ASCII": "Tunis → Marseille, Fauteuil réservé, «عربى», 🚢",
    "the line separators JavaScript refuses": "a\u2028b\u2029c",
    "quotes, backslashes and controls": 'say "hi"\\ \n\t\x01',
    "a large integer": 2**62,
    "an integer beyond 64 bits": 2**70,
    "keys that are numbers": {1: "one", 2.5: "two and a half"},
    "a set-free nest": [{"a": [{"b": ()}]}],
}


@pytest.mark.parametrize("name", VALUES)
def test_each_kind_of_value_is_written_byte_for_byte_as_drf_writes_it(name):
    value = {"value": VALUES[name]}

    assert json_bytes(value) == JSONRenderer().render(value)


@pytest.mark.parametrize("number", [1e-05, 2.5e-07, 1e22, 0.1 + 0.2])
def test_a_float_in_any_form_reads_back_as_the_same_number_as_drfs(number):
    value = {"value": number, "price": Decimal("1e-5")}

    assert json.loads(json_bytes(value)) == json.loads(JSONRenderer().render(value))


@pytest.mark.parametrize("value", [object(), Point(3, "é")], ids=["an object", "a dataclass"])
def test_what_drf_cannot_write_is_refused_alike(value):
    with pytest.raises(TypeError):
        JSONRenderer().render({"value": value})
    with pytest.raises(TypeError):
        json_bytes({"value": value})
