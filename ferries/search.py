"""Search sailings across every operator: one answer for the website and the API.

A leg (one direction) is answered from the cache when fresh; otherwise every operator serving the
port pair is asked at once — remote ones in parallel threads with a bounded wait, our own inventory
in the request's thread — and the merged answer is cached. A slow or failing operator leaves its
sailings out and is flagged; the rest of the answer stands (and is cached only briefly).

Availability is laid over the cached sailings at every read, from its own one-minute cache that
capacity changes invalidate, so "seats left" stays fresh while prices and timetables are reused.

A leg without a sailing the party can book says why (`Reason`: no route between the ports, no vessel with the
accommodation asked, an operator silent, all full, none fit, none that day) and, where it helps, what to search
instead: the ports each end is linked to, what the route's vessels offer, the nearby days with sailings the party
can book and their lowest price. Those days are searched as any other (and cached as such), so they are parts of
the answer like its own legs.

The API sends the same answer as bytes kept whole (`sailing_search_answer`): for as long as every part of it
would still be read from the cache, and no longer than the first sailing listed stays on sale.

Whether a return can follow an outbound is decided here too (`return_problem`), for the results page, the choice
of sailings and the booking request alike.
"""

import dataclasses
import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ferries.cache import AVAILABILITY_TTL, PARTIAL_SEARCH_TTL, SEARCH_TTL, cache_service
from ferries.cache.service import AnswerLookup
from ferries.choices import CABIN_BERTHS, Accommodation, Resource
from ferries.errors import OperatorError, OperatorTimeout
from ferries.models import Operator, Port, Route, Sailing
from ferries.operators import adapter_for
from ferries.operators.base import Offer
from ferries.party import Party
from ferries.queries import NEARBY_DAYS, CalendarQuery, LegQuery, SearchQuery, searchable_days
from ferries.results import BOOKABLE, arranged
from ferries.search_rows import sailing_row
from ferries.selectors import bookable_after, local_day_bounds, route_list, routes_between

logger = logging.getLogger(__name__)

# Below this many places left, a sailing shows as "limited".
FEW_PLACES = 20


class Reason(StrEnum):
    """Why a leg has no sailing the party can book, in the order they are told apart."""

    NO_ROUTE = "no_route"  # no ferry between these ports at all
    NO_SUCH_ACCOMMODATION = "no_such_accommodation"  # no vessel of the route has what the party asks for
    OPERATOR_UNAVAILABLE = "operator_unavailable"  # an operator did not answer: its sailings may be missing
    SOLD_OUT = "sold_out"  # sailings that day, none with room left for the party
    UNAVAILABLE = "unavailable"  # sailings that day, none that can take the party's vehicle or accommodation
    NO_SAILING_THIS_DAY = "no_sailing_this_day"  # the route runs, not that day


operator_pool = ThreadPoolExecutor(max_workers=settings.OPERATOR_MAX_CONCURRENCY, thread_name_prefix="operator")


def sailing_search(*, query: SearchQuery) -> dict:
    """{"outbound": [...], "return": [...], "operators": [...], "complete": bool, "explanations": {"outbound":
    why it has nothing to book or None, "return": ...}}."""
    return _search(query, counted=True).results


def answer_lookup(query: SearchQuery) -> AnswerLookup | None:
    """The lookup of the answer kept whole for `query`, to send with the request's rate limits (kernel.throttling's
    `ride_along`) and give `sailing_search_answer`; None where it cannot go with them."""
    return cache_service.answer_lookup(query)


def sailing_search_answer(
    *, query: SearchQuery, render: Callable[[dict], bytes], lookup: AnswerLookup | None = None
) -> bytes:
    """sailing_search's answer as `render` makes it into bytes, kept whole in the cache while it holds; `lookup`: its
    `answer_lookup`, sent with the request's rate limits (looked up here when not given)."""
    lookup = lookup or answer_lookup(query)
    kept = kept_search_answer(query, lookup)
    if kept is not None:
        return kept
    return _keep_answer(query, render, lookup)


def give_back(lookup: AnswerLookup | None) -> None:
    """Give back the locks `lookup` took for the legs of a missing answer that nothing searched (the request refused
    by its limits, say): at the end of every request that looked an answer up."""
    cache_service.give_back(lookup)


def kept_search_answer(query: SearchQuery, lookup: AnswerLookup | None = None) -> bytes | None:
    """The answer kept whole for `query`, as sent, or None; the lookups of its legs are counted either way. `lookup`
    is answered once: `sailing_search_answer` given it again after a miss computes without looking up again."""
    return cache_service.get_search_answer(query, lookup)


def warm_search_answer(*, query: SearchQuery, render: Callable[[dict], bytes], margin: float) -> bytes:
    """Make the whole answer to `query` again and keep it, each part of it with less than `margin` seconds left
    made afresh (its leg searches, the availability of its sailings), so that it stays kept as long as it can;
    nothing is counted as asked (warming the most asked answers before they expire)."""
    with cache_service.warming(margin):
        return _keep_answer(query, render)


def _keep_answer(query: SearchQuery, render: Callable[[dict], bytes], lookup: AnswerLookup | None = None) -> bytes:
    # What the miss keeps (its leg searches, their availability, the answer) goes to Redis in one round trip; its legs
    # were looked up (their locks taken) with the answer, when `lookup` found it missing.
    with cache_service.writes_together(), cache_service.legs_looked_up(lookup):
        answer = _search(query, counted=False)
        body = render(answer.results)
        # Rows of nearby days count as much as those listed: their places and prices make the dates offered.
        rows = answer.rows
        if all(row["availability"]["status"] != "unknown" for row in rows):  # else ask the operator again next time
            sailing_ids = [row["sailing_id"] for row in rows]
            ttl = answer_ttl(rows, answer.fresh_for)
            cache_service.set_search_answer(query, body, ttl=ttl, sailing_ids=sailing_ids, nearby=answer.nearby)
    return body


def answer_ttl(rows: list[dict], fresh_for: float) -> int:
    """How long an answer made from `rows` may be kept whole: while its parts stay cached (`fresh_for`), and until
    the sales of its earliest sailing close."""
    closes = [dt.datetime.fromisoformat(row["departs_at"]) for row in rows]
    on_sale_for = (min(closes) - bookable_after()).total_seconds() if closes else fresh_for
    return math.floor(min(fresh_for, on_sale_for))


@dataclass(frozen=True)
class _Answer:
    results: dict
    fresh_for: float  # seconds for which every part of it stays cached
    rows: list[dict]  # every sailing it was made from: those listed, and those of the nearby days looked at
    nearby: list[LegQuery]  # the searches of nearby days it was made from


def _search(query: SearchQuery, *, counted: bool) -> _Answer:
    outbound = leg_search(query=query.outbound, counted=counted)
    try:
        inbound = leg_search(query=query.inbound, counted=counted) if query.inbound else None
    except ValidationError as error:  # an open-jaw return's port that is not one of ours
        raise ValidationError({f"return_{name}": messages for name, messages in error.message_dict.items()}) from None
    # Days offered instead keep the journey possible: the outbound not after the return, the return not before it.
    first, last = searchable_days()
    latest = min(last, query.inbound.day) if query.inbound else last
    why_outbound, nearby = _explanation(query.outbound, outbound, days=(first, latest))
    why_return = None
    if inbound:
        why_return, nearby_return = _explanation(query.inbound, inbound, days=(max(first, query.outbound.day), last))
        nearby += nearby_return
    operators = _merge_statuses(outbound["operators"] + (inbound["operators"] if inbound else []))
    shown, left_out = arranged(outbound["sailings"], query.view)
    shown_back, left_out_back = arranged(inbound["sailings"], query.view) if inbound else ([], 0)
    results = {
        "outbound": shown,
        "return": shown_back,
        "operators": operators,
        "complete": all(op["status"] == "ok" for op in operators),
        "explanations": {"outbound": why_outbound, "return": why_return},
        "filtered_out": {"outbound": left_out, "return": left_out_back},
    }
    legs = [outbound, *([inbound] if inbound else []), *(found for _leg, found in nearby)]
    return _Answer(
        results=results,
        fresh_for=min(leg["fresh_for"] for leg in legs),
        rows=[row for leg in legs for row in leg["sailings"]],
        nearby=[leg for leg, _found in nearby],
    )


def _merge_statuses(statuses: list[dict]) -> list[dict]:
    """One line per operator; a failure on either leg is the one shown."""
    merged: dict[str, dict] = {}
    for status in statuses:
        if merged.get(status["code"], {}).get("status", "ok") == "ok":
            merged[status["code"]] = status
    return list(merged.values())


def leg_search(*, query: LegQuery, counted: bool = True) -> dict:
    """{"sailings": [...], "operators": [...], "fresh_for": seconds for which the sailings and their availability
    stay cached (0 when not cached), and what the network says when the day has nothing to book: "no_route" (the
    ports linked to each end) or None, "accommodation_offered" or None}; `counted=False` when the lookup was counted
    already."""
    return leg_searches([query], counted=counted)[0]


def leg_searches(queries: list[LegQuery], *, counted: bool = True) -> list[dict]:
    """`leg_search` of each query (the days around a day, say): their kept searches looked up in one round trip, the
    availability of all their sailings read in one more."""
    computed: dict[int, dict] = {}  # the availability read by the searches that ran in this request
    entries = cache_service.ferry_search_entries(queries, lambda leg: _compute_leg(leg, computed), counted=counted)
    cutoff = bookable_after().isoformat()
    listed = [[s for s in cached["sailings"] if s["departs_at"] >= cutoff] for cached, _fresh_for in entries]
    availability, availability_for = availability_of([s for sailings in listed for s in sailings], known=computed)
    answers = []
    for query, (cached, fresh_for), sailings in zip(queries, entries, listed, strict=True):
        for sailing in sailings:
            known = availability.get(sailing["sailing_id"])
            sailing["availability"] = party_availability(sailing, known, query.party)
            for option in sailing.get("accommodations", ()):
                party = replace(query.party, accommodation=option["kind"])
                option["status"] = party_availability(sailing, known, party)["status"]
                option["cabins"], option["berths"] = party.cabins or None, CABIN_BERTHS.get(option["kind"])
        answers.append({
            "sailings": sailings,
            "operators": cached["operators"],
            "fresh_for": min(fresh_for, availability_for),
            "no_route": cached.get("no_route"),
            "accommodation_offered": cached.get("accommodation_offered"),
        })  # fmt: skip
    return answers


def party_availability(sailing: dict, availability: dict | None, party: Party) -> dict:
    """Whether the party fits on the sailing, and how many places are left, from raw remaining capacity."""
    if availability is None:
        return {"status": "unknown", "places_left": None}
    remaining = availability["remaining"]
    places_left = remaining.get(Resource.PASSENGERS, 0)
    if availability["status"] != Sailing.Status.SCHEDULED:
        return {"status": availability["status"], "places_left": 0}
    needs = party.needs()
    if party.too_tall(sailing["max_vehicle_height_cm"]) is not None or any(r not in remaining for r in needs):
        return {"status": "unavailable", "places_left": places_left}
    if any(remaining[resource] < amount for resource, amount in needs.items()):
        return {"status": "sold_out", "places_left": places_left}
    return {"status": "limited" if places_left < FEW_PLACES else "available", "places_left": places_left}


def _compute_leg(query: LegQuery, computed: dict[int, dict]) -> tuple[dict, int]:
    """The leg's sailings; the availability the operators gave with them is also put in `computed`."""
    origin, destination, routes = leg_routes(query)
    if not routes:
        return {"sailings": [], "operators": [], "no_route": _ports_linked(origin, destination)}, SEARCH_TTL
    operators = sorted({route.operator for route in routes}, key=lambda op: op.code)
    by_day, statuses = ask_operators(operators, query.days_of(), routes=routes)
    sailings = offer_rows(by_day[query.day], origin, destination)
    availability = {s["sailing_id"]: offer.availability for s, offer in sailings}
    computed.update(availability)  # shared by the request's legs: each keeps only its own sailings'
    cache_service.set_availabilities(availability, after_miss=False)
    result = {"sailings": [s for s, _offer in sailings], "operators": statuses}
    wanted = query.party.accommodation
    if wanted != Accommodation.DECK and not any(wanted in offer.availability["remaining"] for _s, offer in sailings):
        result["accommodation_offered"] = _accommodation_offered(routes)
    complete = all(status["status"] == "ok" for status in statuses)
    return result, SEARCH_TTL if complete else PARTIAL_SEARCH_TTL


def _ports_linked(origin: Port, destination: Port) -> dict:
    """{"destinations": ports a ferry sails to from `origin`, "origins": ports from which one sails to
    `destination`}, each as [{"code", "name"}] by name."""
    routes = route_list()

    def refs(ports: set[Port]) -> list[dict]:
        return [{"code": port.code, "name": port.name} for port in sorted(ports, key=lambda port: port.name)]

    return {
        "destinations": refs({route.destination for route in routes.filter(origin=origin)}),
        "origins": refs({route.origin for route in routes.filter(destination=destination)}),
    }


def _accommodation_offered(routes: list[Route]) -> list[str] | None:
    """What the vessels that sail these routes from now on offer (deck passage on every one), or None when no
    sailing of theirs is ahead."""
    kinds = set(
        Sailing.objects.filter(route__in=routes, status=Sailing.Status.SCHEDULED, departs_at__gte=bookable_after())
        .values_list("vessel__accommodations__kind", flat=True)
        .order_by()
        .distinct()
    )
    if not kinds:
        return None
    return [kind for kind in Accommodation.values if kind == Accommodation.DECK or kind in kinds]


def leg_routes(query: LegQuery) -> tuple[Port, Port, list[Route]]:
    """The query's ports and the active routes between them, with their operators and ports, in one read when a
    route exists (the ports are then checked by the routes found)."""
    routes = routes_between(query.origin, query.destination)
    if routes:
        return routes[0].origin, routes[0].destination, routes
    origin, destination = query_ports(query)
    return origin, destination, []


def query_ports(query: LegQuery) -> tuple[Port, Port]:
    ports = {port.code: port for port in Port.objects.filter(code__in=[query.origin, query.destination])}
    errors = {}
    for field, code in (("from", query.origin), ("to", query.destination)):
        if code not in ports:
            errors[field] = [_("Unknown port %(code)s.") % {"code": code}]
    if errors:
        raise ValidationError(errors)
    return ports[query.origin], ports[query.destination]


def ask_operators(
    operators: list[Operator], query: CalendarQuery, *, routes: list[Route]
) -> tuple[dict[dt.date, list[tuple[Operator, Offer]]], list[dict]]:
    """Every day's offers of every operator, and how each answered: remote operators a request per day, all side by
    side, our own inventory every day at once meanwhile in this thread (from `routes`, the query's routes read
    already); no longer than the timeout."""
    deadline = time.monotonic() + settings.OPERATOR_TIMEOUT_SECONDS
    adapters = {op: adapter_for(op) for op in operators}
    futures = {
        operator_pool.submit(adapter.search, query.leg(day)): (op, day)
        for op, adapter in adapters.items()
        if adapter.is_remote
        for day in query.days
    }
    offers: dict[dt.date, list[tuple[Operator, Offer]]] = {day: [] for day in query.days}
    statuses = {op.code: operator_status(op, "ok") for op in operators}
    for op, adapter in adapters.items():
        if not adapter.is_remote:
            own = [route for route in routes if route.operator_id == op.pk]
            for day, found in adapter.search_days(query, routes=own).items():
                offers[day] += [(op, offer) for offer in found]
    done, late = wait(futures, timeout=max(deadline - time.monotonic(), 0))
    for future in late:
        future.cancel()
    late_ops, failed_ops = {futures[future][0] for future in late}, set()
    for future in done:
        op, day = futures[future]
        try:
            offers[day] += [(op, offer) for offer in future.result()]
        except OperatorTimeout:  # its request ran out of time (to connect, or for its answer): late either way
            late_ops.add(op)
        except OperatorError as exc:
            logger.warning("operator %s failed: %s", op.code, exc)
            failed_ops.add(op)
            statuses[op.code] = operator_status(op, "error", _("%(name)s is not answering.") % {"name": op.name})
    for op in late_ops - failed_ops:  # an error on another of its days says more
        logger.warning("operator %s did not answer within %ss", op.code, settings.OPERATOR_TIMEOUT_SECONDS)
        statuses[op.code] = operator_status(op, "timeout", _("%(name)s did not answer in time.") % {"name": op.name})
    return offers, [statuses[op.code] for op in operators]


def operator_status(operator: Operator, status: str, message: str = "") -> dict:
    return {"code": operator.code, "name": operator.name, "status": status, "message": message}


def offer_rows(offers: list[tuple[Operator, Offer]], origin: Port, destination: Port) -> list[tuple[dict, Offer]]:
    """Offers as result rows, with our sailing ids (remote offers are matched to our timetable by ref)."""
    remote_refs = [offer.sailing_ref for _op, offer in offers if offer.sailing_id is None]
    # A remote operator's sailing is ours by its ref; what is on board, our record of its vessel says.
    known = Sailing.objects.filter(ref__in=remote_refs).values_list("ref", "pk", "vessel__amenities")
    ours = {ref: (pk, tuple(amenities)) for ref, pk, amenities in known} if remote_refs else {}
    rows = []
    for operator, offer in offers:
        if offer.sailing_id is None and offer.sailing_ref in ours:
            sailing_id, amenities = ours[offer.sailing_ref]
            offer = dataclasses.replace(offer, sailing_id=sailing_id, amenities=amenities)
        if offer.sailing_id is None:
            logger.warning("operator %s offered sailing %s, unknown here", operator.code, offer.sailing_ref)
            continue
        rows.append((sailing_row(offer.sailing_id, operator, offer, origin, destination), offer))
    rows.sort(key=lambda pair: (pair[0]["departs_at"], pair[0]["operator"]["code"]))
    return rows


def availability_of(
    sailings: list[dict], *, timed: bool = True, known: dict[int, dict] | None = None
) -> tuple[dict[int, dict], float]:
    """Availability of these sailings: `known` (read from the operators in this request already), else cached for a
    minute, else asked again and cached; and for how long all of it stays cached (AVAILABILITY_TTL unless `timed`:
    reading how long each entry has left costs a read of many)."""
    known = known or {}
    found = {s["sailing_id"]: known[s["sailing_id"]] for s in sailings if s["sailing_id"] in known}
    entries = cache_service.availability_entries(
        [s["sailing_id"] for s in sailings if s["sailing_id"] not in found], timed=timed
    )
    found |= {i: availability for i, (availability, _left) in entries.items()}
    lefts = [left for _availability, left in entries.values() if left is not None]
    fresh_for = min(lefts, default=float(AVAILABILITY_TTL)) if settings.SEARCH_CACHE else 0.0
    missing = [s for s in sailings if s["sailing_id"] not in found]
    if not missing:
        return found, fresh_for
    fresh = {}
    by_operator: dict[str, list[dict]] = {}
    for sailing in missing:
        by_operator.setdefault(sailing["operator"]["code"], []).append(sailing)
    for operator in Operator.objects.filter(code__in=by_operator):
        rows = by_operator[operator.code]
        try:
            answer = adapter_for(operator).availability([s["sailing_ref"] for s in rows])
        except OperatorError as exc:
            logger.warning("availability from %s failed: %s", operator.code, exc)
            continue
        fresh.update({s["sailing_id"]: answer[s["sailing_ref"]] for s in rows if s["sailing_ref"] in answer})
    cache_service.set_availabilities(fresh)
    return {**found, **fresh}, fresh_for


# --- why a leg has nothing to book -------------------------------------------------------------------


def _explanation(
    query: LegQuery, found: dict, *, days: tuple[dt.date, dt.date]
) -> tuple[dict | None, list[tuple[LegQuery, dict]]]:
    """Why the leg (`found` by leg_search) has no sailing the party can book, or None when it has one; and the
    searches of the nearby days within `days` looked at for it, as [(LegQuery, leg_search's answer)]."""
    statuses = {row["availability"]["status"] for row in found["sailings"]}
    if statuses & BOOKABLE:
        return None, []
    explanation = {
        "reason": Reason.NO_SAILING_THIS_DAY,
        "destinations_from_origin": [],
        "origins_to_destination": [],
        "accommodation_offered": [],
        "nearby_dates": [],
    }
    if linked := found["no_route"]:
        explanation |= {"destinations_from_origin": linked["destinations"], "origins_to_destination": linked["origins"]}
        return explanation | {"reason": Reason.NO_ROUTE}, []
    offered = found["accommodation_offered"]  # known when no sailing of the day has what the party asks for
    if offered and query.party.accommodation not in offered:
        return explanation | {"reason": Reason.NO_SUCH_ACCOMMODATION, "accommodation_offered": offered}, []
    if any(operator["status"] != "ok" for operator in found["operators"]):
        # Asking again for other days would wait on the same operator; try this day again instead.
        return explanation | {"reason": Reason.OPERATOR_UNAVAILABLE}, []
    if "sold_out" in statuses:
        explanation["reason"] = Reason.SOLD_OUT
    elif "unavailable" in statuses:
        explanation["reason"] = Reason.UNAVAILABLE
    searches = _nearby_searches(query, days=days)
    explanation["nearby_dates"] = [
        {"date": leg.day.isoformat(), "lowest_price": lowest_price(bookable)}
        for leg, other in searches
        if (bookable := [row for row in other["sailings"] if row["availability"]["status"] in BOOKABLE])
    ]
    return explanation, searches


def _nearby_searches(query: LegQuery, *, days: tuple[dt.date, dt.date]) -> list[tuple[LegQuery, dict]]:
    """The same leg searched on the nearby days within `days` that the timetable has sailings on: operators are
    not asked about days on which nothing sails."""
    first, last = days
    candidates = [query.day + dt.timedelta(days=n) for n in NEARBY_DAYS]
    candidates = [day for day in candidates if first <= day <= last]
    sailing_days = _days_with_sailings(query, candidates)
    legs = [dataclasses.replace(query, day=day) for day in candidates if day in sailing_days]
    return list(zip(legs, leg_searches(legs), strict=True))


def _days_with_sailings(query: LegQuery, days: list[dt.date]) -> set[dt.date]:
    """Which of `days` (port time) a scheduled sailing between the leg's ports still leaves on."""
    origin = Port.objects.filter(code=query.origin).first() if days else None
    if origin is None:
        return set()
    start, _end = local_day_bounds(origin, min(days))
    _start, end = local_day_bounds(origin, max(days))
    departures = Sailing.objects.filter(
        route__origin=origin,
        route__destination__code=query.destination,
        route__active=True,
        route__operator__active=True,
        status=Sailing.Status.SCHEDULED,
        departs_at__gte=max(start, bookable_after()),
        departs_at__lt=end,
    ).values_list("departs_at", flat=True)
    return {departs.astimezone(origin.tz).date() for departs in departures}


def lowest_price(rows: list[dict]) -> dict | None:
    """The lowest of the rows' prices in any fare family, or None when they are not all in one currency."""
    prices = [fare["price"] for row in rows for fare in row["fares"]]
    if len({price["currency"] for price in prices}) != 1:
        return None
    return min(prices, key=lambda price: price["amount_minor"])
