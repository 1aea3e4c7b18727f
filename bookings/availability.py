"""Is there still room on a sailing? Asked of the operator before payment, answered for a minute from cache."""

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ferries.cache import cache_service
from ferries.choices import LANE_GAP_CM, VEHICLE_LIMITS, Resource, VehicleCategory
from ferries.models import Operator, Sailing
from ferries.operators import adapter_for

# A vehicle whose size is not given is counted as a car.
DEFAULT_LANE_CM = VEHICLE_LIMITS[VehicleCategory.CAR].default_length_cm + LANE_GAP_CM


def availability_check(
    *, operator: str, sailing_id: str, passenger_count: int, vehicle_count: int = 0, departure_time: str = ""
) -> dict:
    """{"status": "available" | "sold_out" | "cancelled" | "departed" | "unknown", "message", "places_left"}.

    `sailing_id` is the operator's reference for the sailing, as operators know it.
    """
    sailing = Sailing.objects.filter(route__operator__code=operator, ref=sailing_id).select_related("route").first()
    if sailing is None:
        return {"status": "unknown", "message": _("This sailing is not in our timetable."), "places_left": 0}
    if departure_time and dt.datetime.fromisoformat(departure_time.replace("Z", "+00:00")) != sailing.departs_at:
        return {"status": "unknown", "message": _("The sailing's departure time has changed."), "places_left": 0}
    data = cache_service.get_availability(sailing.pk)
    if data is None:
        answer = adapter_for(Operator.objects.get(code=operator)).availability([sailing.ref])  # OperatorError: retry
        data = answer.get(sailing.ref)
        if data is None:
            return {"status": "unknown", "message": _("The operator does not know this sailing."), "places_left": 0}
        cache_service.set_availability(sailing.pk, data)
    return _verdict(data, passenger_count, vehicle_count)


NOT_SAILING = {
    Sailing.Status.CANCELLED: gettext_lazy("This sailing is cancelled."),
    Sailing.Status.DEPARTED: gettext_lazy("This sailing has left."),
}


def _verdict(data: dict, passengers: int, vehicles: int) -> dict:
    remaining = data["remaining"]
    places = remaining.get(Resource.PASSENGERS, 0)
    if data["status"] != Sailing.Status.SCHEDULED:
        return {
            "status": data["status"],
            "message": str(NOT_SAILING.get(data["status"], _("This sailing cannot be booked."))),
            "places_left": 0,
        }
    if places < passengers or remaining.get(Resource.LANE_CM, 0) < vehicles * DEFAULT_LANE_CM:
        return {"status": "sold_out", "message": _("Not enough room left on this sailing."), "places_left": places}
    return {"status": "available", "message": _("Places are available."), "places_left": places}
