"""How the OpenAPI schema describes the sailing search's query: documentation only.

The rules themselves (required fields, ranges, the party's make-up) are enforced by
`ferries.search_query.parse_search_query`, for the website and the API alike; keep these words in step.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from ferries.api.serializers import ACCOMMODATION_CHOICES, VEHICLE_CHOICES
from ferries.choices import MAX_PASSENGERS

COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_PASSENGERS}


def _count(name: str, who: str) -> OpenApiParameter:
    return OpenApiParameter(name, COUNT, description=f"{who}.")


SEARCH_PARAMETERS = [
    OpenApiParameter(
        "from",
        OpenApiTypes.STR,
        required=True,
        description="Departure port, by UN/LOCODE (see `/api/v1/ports`). Case does not matter.",
        examples=[OpenApiExample("Tunis", value="TNTUN")],
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.STR,
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
        OpenApiTypes.INT,
        description="Only with a vehicle. Defaults to a typical length for its type; each type has its limits.",
        examples=[OpenApiExample("A family car", value=450)],
    ),
    OpenApiParameter(
        "vehicle_height_cm",
        OpenApiTypes.INT,
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

_TUNIS = {"code": "TNTUN", "name": "Tunis", "time_zone": "Africa/Tunis"}
_MARSEILLE = {"code": "FRMRS", "name": "Marseille", "time_zone": "Europe/Paris"}
_OPERATOR = {"code": "CTN", "name": "Compagnie Tunisienne de Navigation"}

SEARCH_RESPONSE_EXAMPLE = OpenApiExample(
    "Two adults and a car, one way",
    response_only=True,
    value={
        "outbound": [
            {
                "sailing_id": 4211,
                "sailing_ref": "CTN2707141900TUNMRS",
                "operator": _OPERATOR,
                "vessel": "Tanit",
                "from": _TUNIS,
                "to": _MARSEILLE,
                "departs_at": "2027-07-14T18:00:00+00:00",
                "arrives_at": "2027-07-15T15:00:00+00:00",
                "departs_local": "2027-07-14T19:00:00+01:00",
                "arrives_local": "2027-07-15T17:00:00+02:00",
                "duration_minutes": 1260,
                "max_vehicle_height_cm": 400,
                "price": {"amount_minor": 35000, "currency": "EUR"},
                "price_lines": [
                    {
                        "code": "adult",
                        "label": "Adult (12–64)",
                        "quantity": 2,
                        "unit": {"amount_minor": 10000, "currency": "EUR"},
                        "total": {"amount_minor": 20000, "currency": "EUR"},
                    },
                    {
                        "code": "accommodation:deck",
                        "label": "Deck passage",
                        "quantity": 2,
                        "unit": {"amount_minor": 0, "currency": "EUR"},
                        "total": {"amount_minor": 0, "currency": "EUR"},
                    },
                    {
                        "code": "vehicle:car",
                        "label": "Car",
                        "quantity": 1,
                        "unit": {"amount_minor": 15000, "currency": "EUR"},
                        "total": {"amount_minor": 15000, "currency": "EUR"},
                    },
                ],
                "availability": {"status": "available", "places_left": 412},
            }
        ],
        "return": [],
        "operators": [{**_OPERATOR, "status": "ok", "message": ""}],
        "complete": True,
        "explanations": {"outbound": None, "return": None},
    },
)

SEARCH_EMPTY_EXAMPLE = OpenApiExample(
    "No sailing on the day asked: the nearby days with sailings the party can book",
    response_only=True,
    value={
        "outbound": [],
        "return": [],
        "operators": [{**_OPERATOR, "status": "ok", "message": ""}],
        "complete": True,
        "explanations": {
            "outbound": {
                "reason": "no_sailing_this_day",
                "destinations_from_origin": [],
                "origins_to_destination": [],
                "accommodation_offered": [],
                "nearby_dates": [
                    {"date": "2027-07-13", "lowest_price": {"amount_minor": 35000, "currency": "EUR"}},
                    {"date": "2027-07-16", "lowest_price": {"amount_minor": 32000, "currency": "EUR"}},
                ],
            },
            "return": None,
        },
    },
)

SEARCH_NO_ROUTE_EXAMPLE = OpenApiExample(
    "No ferry between the two ports: the ports each one is linked to",
    response_only=True,
    value={
        "outbound": [],
        "return": [],
        "operators": [],
        "complete": True,
        "explanations": {
            "outbound": {
                "reason": "no_route",
                "destinations_from_origin": [{"code": "FRMRS", "name": "Marseille"}],
                "origins_to_destination": [{"code": "FRMRS", "name": "Marseille"}],
                "accommodation_offered": [],
                "nearby_dates": [],
            },
            "return": None,
        },
    },
)
