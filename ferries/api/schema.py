"""How the OpenAPI schema describes the sailing search's query: documentation only.

The rules themselves (required fields, ranges, the party's make-up) are enforced by
`ferries.search_query.parse_search_query`, for the website and the API alike; keep these words in step.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from ferries.api.serializers import ACCOMMODATION_CHOICES, VEHICLE_CHOICES
from ferries.choices import MAX_PASSENGERS, VEHICLE_LIMITS
from ferries.search_query import PORT_CODE

COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_PASSENGERS}
# A UN/LOCODE as the search reads it: either case (PORT_CODE is the upper-case form).
PORT = {"type": "string", "pattern": "^" + PORT_CODE.pattern.replace("A-Z", "A-Za-z") + "$"}
# The widest limits of any vehicle type (each type has narrower ones).
LENGTH_CM = {
    "type": "integer",
    "minimum": min(limits.min_length_cm for limits in VEHICLE_LIMITS.values()),
    "maximum": max(limits.max_length_cm for limits in VEHICLE_LIMITS.values()),
}
HEIGHT_CM = {
    "type": "integer",
    "minimum": 50,
    "maximum": max(limits.max_height_cm for limits in VEHICLE_LIMITS.values()),
}


def _count(name: str, who: str) -> OpenApiParameter:
    return OpenApiParameter(name, COUNT, description=f"{who}.")


SEARCH_PARAMETERS = [
    OpenApiParameter(
        "from",
        PORT,
        required=True,
        description="Departure port, by UN/LOCODE (see `/api/v1/ports`). Case does not matter.",
        examples=[OpenApiExample("Tunis", value="TNTUN")],
    ),
    OpenApiParameter(
        "to",
        PORT,
        required=True,
        description="Arrival port, by UN/LOCODE; not the departure port.",
        examples=[OpenApiExample("Marseille", value="FRMRS")],
    ),
    OpenApiParameter(
        "date",
        OpenApiTypes.DATE,
        required=True,
        description="Outbound departure day in the departure port's time, YYYY-MM-DD: from today up to the "
        "search horizon (the error message names its last day).",
    ),
    OpenApiParameter(
        "return_date",
        OpenApiTypes.DATE,
        description="For a return journey: the day of the way back, not before `date`. Leave out for one way.",
    ),
    OpenApiParameter(
        "adults",
        COUNT,
        description="Adults (12–64); 1 when no passenger count is given at all.",
    ),
    _count("children", "Children (4–11); they travel with an adult or a senior"),
    _count("infants", "Infants (0–3); each on the lap of an adult or a senior"),
    _count("seniors", f"Seniors (65+). At most {MAX_PASSENGERS} passengers in all"),
    OpenApiParameter(
        "vehicle",
        OpenApiTypes.STR,
        enum=VEHICLE_CHOICES,
        default="none",
        description="The vehicle taken on board, if any.",
    ),
    OpenApiParameter(
        "vehicle_length_cm",
        LENGTH_CM,
        description="Only with a vehicle. Defaults to a typical length for its type; each type has its limits.",
        examples=[OpenApiExample("A family car", value=450)],
    ),
    OpenApiParameter(
        "vehicle_height_cm",
        HEIGHT_CM,
        description="Only with a vehicle. Defaults to a typical height for its type; a sailing whose vessel "
        "cannot take it shows as unavailable.",
        examples=[OpenApiExample("A family car", value=160)],
    ),
    OpenApiParameter(
        "accommodation",
        OpenApiTypes.STR,
        enum=ACCOMMODATION_CHOICES,
        default="deck",
        description="Deck passage, a reserved seat or a cabin for the whole party.",
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
                "price_lines": [
                    example_price_line("adult", "Adult (12–64)", 2, 23800),
                    example_price_line("accommodation:deck", "Deck passage", 2, 0),
                    example_price_line("vehicle:car", "Car", 1, 27200),
                ],
                "availability": {"status": "available", "places_left": 2134},
            }
        ],
        "return": [],
        "operators": _operators_asked(),
        "complete": True,
        "explanations": {"outbound": None, "return": None},
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
                    {"date": "2027-07-12", "lowest_price": {"amount_minor": 74800, "currency": "EUR"}},
                    {"date": "2027-07-13", "lowest_price": {"amount_minor": 73200, "currency": "EUR"}},
                    {"date": "2027-07-15", "lowest_price": {"amount_minor": 74800, "currency": "EUR"}},
                ],
            },
            "return": None,
        },
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
    },
)
