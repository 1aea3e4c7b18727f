"""The sailing search's examples in the OpenAPI schema: the parameters' (the parameters themselves are described by
`ferries.queries.SearchQuerySerializer`, the declaration that reads them) and the answers'."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from ferries.choices import USUAL_FARE_FAMILIES
from ferries.queries import CalendarQuerySerializer, SearchQuerySerializer


def _with_examples(name: str, *examples: OpenApiExample, serializer=SearchQuerySerializer) -> OpenApiParameter:
    """A parameter of the search as its serializer declares it, with examples (which a field cannot carry)."""
    field = serializer().fields[name]
    schema = type(field).openapi
    return OpenApiParameter(
        name, schema, required=field.required, description=str(field.help_text), examples=list(examples)
    )


SEARCH_PARAMETERS = [
    SearchQuerySerializer,
    _with_examples("from", OpenApiExample("Tunis", value="TNTUN")),
    _with_examples("to", OpenApiExample("Marseille", value="FRMRS")),
    _with_examples("vehicle_length_cm", OpenApiExample("A family car", value=450)),
    _with_examples("vehicle_height_cm", OpenApiExample("A family car", value=160)),
]

CALENDAR_PARAMETERS = [
    CalendarQuerySerializer,
    *(
        _with_examples(name, example, serializer=CalendarQuerySerializer)
        for name, example in [
            ("from", OpenApiExample("Tunis", value="TNTUN")),
            ("to", OpenApiExample("Marseille", value="FRMRS")),
            ("month", OpenApiExample("July 2027", value="2027-07")),
            ("vehicle_length_cm", OpenApiExample("A family car", value=450)),
            ("vehicle_height_cm", OpenApiExample("A family car", value=160)),
        ]
    ),
]

# The examples are the demo network's (`manage.py demo_setup`): its ports, operators and vessels, a sailing its
# timetable runs on the day shown, at the price its fares give then; each search example says what was asked. Sailing
# ids are numbered by the database: a demo database has this one (it numbers its ~1,900 sailings from 1), though which
# sailing carries it depends on the day the demo was made. maritime/tests/test_api_examples.py checks all of it.
EXAMPLE_SAILING_ID = 1500
EXAMPLE_SAILING = {
    "sailing_id": EXAMPLE_SAILING_ID,
    "sailing_ref": "CTN2707151200TUNMRS",
    "operator": {"code": "CTN", "name": "Compagnie Tunisienne de Navigation"},
    "departs_at": "2027-07-15T11:00:00+00:00",
    "arrives_at": "2027-07-16T08:00:00+00:00",
    "departs_local": "2027-07-15T12:00:00+01:00",
    "arrives_local": "2027-07-16T10:00:00+02:00",
}
TUNIS = {"code": "TNTUN", "name": "Tunis (La Goulette)"}
MARSEILLE = {"code": "FRMRS", "name": "Marseille"}


def example_price_line(code: str, label: str, quantity: int, unit_minor: int) -> dict:
    return {
        "code": code,
        "label": label,
        "quantity": quantity,
        "unit": {"amount_minor": unit_minor, "currency": "EUR"},
        "total": {"amount_minor": quantity * unit_minor, "currency": "EUR"},
    }


def example_fare_family(code: str) -> dict:
    """The demo's fare family coded `code`, as a sailing's `fares` or a booking leg show it: its name and rules."""
    family = next(family for family in USUAL_FARE_FAMILIES if family["code"] == code)

    def eur(minor: int) -> dict:
        return {"amount_minor": minor, "currency": "EUR"}

    return {
        "fare_family": {"code": code, "name": family["name"]},
        "cancellation_policy": {
            key: family[key] for key in ("refund_full_days", "refund_partial_hours", "refund_partial_percent")
        },
        "change_policy": {
            "allowed": family["changes_allowed"],
            "until_hours": family["change_until_hours"],
            "fee_fixed": eur(family.get("change_fee_minor", 0)),
            "fee_percent": family.get("change_fee_percent", 0),
            "fee_minimum": eur(family.get("change_fee_min_minor", 0)),
            "max_changes": family["max_changes"],
        },
    }


def example_fares(lines: list[tuple[str, str, int, int]]) -> list[dict]:
    """A sailing's `fares` in the demo's families, from its Standard price lines (code, label, quantity, unit):
    each unit at the family's percentage, rounded to the cent."""
    fares = []
    for family in USUAL_FARE_FAMILIES:
        priced = [
            example_price_line(code, label, quantity, (unit * family["price_percent"] + 50) // 100)
            for code, label, quantity, unit in lines
        ]
        total = {"amount_minor": sum(line["total"]["amount_minor"] for line in priced), "currency": "EUR"}
        fares.append(example_fare_family(family["code"]) | {"price": total, "price_lines": priced})
    return fares


_EXAMPLE_LINES = [("adult", "Adult (12–64)", 2, 23800), ("accommodation:deck", "Deck passage", 2, 0),
                  ("vehicle:car", "Car", 1, 27200)]  # fmt: skip


def _operators_asked() -> list[dict]:
    """Both operators of the demo that sail from Tunis to Marseille, as a search answers them (by code)."""
    return [
        {"code": "CLN", "name": "Corsica Linea", "status": "ok", "message": ""},
        {"code": "CTN", "name": "Compagnie Tunisienne de Navigation", "status": "ok", "message": ""},
    ]


SEARCH_RESPONSE_EXAMPLE = OpenApiExample(
    "Two adults and a car, one way",
    description="`?from=TNTUN&to=FRMRS&date=2027-07-15&adults=2&vehicle=car`",
    response_only=True,
    value={
        "outbound": [
            {
                **EXAMPLE_SAILING,
                "vessel": "Carthage",
                "from": {**TUNIS, "time_zone": "Africa/Tunis"},
                "to": {**MARSEILLE, "time_zone": "Europe/Paris"},
                "duration_minutes": 1260,
                "max_vehicle_height_cm": 450,
                "price": {"amount_minor": 74800, "currency": "EUR"},
                "price_lines": [example_price_line(*line) for line in _EXAMPLE_LINES],
                "fares": example_fares(_EXAMPLE_LINES),
                "availability": {"status": "available", "places_left": 2134},
                "amenities": [
                    "restaurant",
                    "cafe",
                    "shop",
                    "wifi",
                    "lounge",
                    "play_area",
                    "pet_kennels",
                    "accessible_cabins",
                    "lifts",
                ],
                "labels": [],
            }
        ],
        "return": [],
        "operators": _operators_asked(),
        "complete": True,
        "explanations": {"outbound": None, "return": None},
        "filtered_out": {"outbound": 0, "return": 0},
    },
)

SEARCH_EMPTY_EXAMPLE = OpenApiExample(
    "No sailing on the day asked: the nearby days with sailings the party can book",
    description="`?from=TNTUN&to=FRMRS&date=2027-07-14&adults=2&vehicle=car` (no ferry sails from Tunis to "
    "Marseille on that Wednesday)",
    response_only=True,
    value={
        "outbound": [],
        "return": [],
        "operators": _operators_asked(),
        "complete": True,
        "explanations": {
            "outbound": {
                "reason": "no_sailing_this_day",
                "destinations_from_origin": [],
                "origins_to_destination": [],
                "accommodation_offered": [],
                "nearby_dates": [
                    {"date": "2027-07-12", "lowest_price": {"amount_minor": 63580, "currency": "EUR"}},
                    {"date": "2027-07-13", "lowest_price": {"amount_minor": 62220, "currency": "EUR"}},
                    {"date": "2027-07-15", "lowest_price": {"amount_minor": 63580, "currency": "EUR"}},
                ],
            },
            "return": None,
        },
        "filtered_out": {"outbound": 0, "return": 0},
    },
)

SEARCH_NO_ROUTE_EXAMPLE = OpenApiExample(
    "No ferry between the two ports: the ports each one is linked to",
    description="`?from=TNTUN&to=ESBCN&date=2027-07-15`",
    response_only=True,
    value={
        "outbound": [],
        "return": [],
        "operators": [],
        "complete": True,
        "explanations": {
            "outbound": {
                "reason": "no_route",
                "destinations_from_origin": [
                    {"code": "ITCIV", "name": "Civitavecchia"},
                    {"code": "ITGOA", "name": "Genoa"},
                    MARSEILLE,
                    {"code": "ITPMO", "name": "Palermo"},
                ],
                "origins_to_destination": [
                    {"code": "ITCIV", "name": "Civitavecchia"},
                    {"code": "ITGOA", "name": "Genoa"},
                ],
                "accommodation_offered": [],
                "nearby_dates": [],
            },
            "return": None,
        },
        "filtered_out": {"outbound": 0, "return": 0},
    },
)
