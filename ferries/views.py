"""The traveller's search pages: the home page with the search form, and the sailings found."""

import datetime as dt
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_safe

from ferries.calendar import DayStatus, fare_calendar
from ferries.choices import Accommodation
from ferries.forms import LEG_TITLES, SearchForm
from ferries.models import Operator, Port
from ferries.queries import (
    CalendarQuery,
    LegQuery,
    ResultsView,
    SearchQuery,
    days_around,
    parse_calendar_query,
    party_params,
    searchable_days,
)
from ferries.returns import returns_that_can_follow, trip_stops
from ferries.search import sailing_search

# The search's parameters that name each leg's ports and day: the return leg sails from `to` back to `from`.
LEG_PARAMS = (
    {"origin": "from", "destination": "to", "date": "date"},
    {"origin": "to", "destination": "from", "date": "return_date"},
)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "ferries/home.html", {"form": SearchForm()})


@require_safe
def sailing_results(request: HttpRequest) -> HttpResponse:
    if not request.GET:
        return redirect("home")
    form = SearchForm(request.GET)
    results = None
    if form.is_valid():
        try:
            results = sailing_search(query=form.query)
        except ValidationError as error:  # a well-formed port code that is not one of ours
            form.add_query_errors(error)
    if results is None or form.errors:  # a trip of several legs may have a leg in error
        return render(request, "ferries/sailing_results.html", {"form": form}, status=400)
    legs = _legs(params=request.GET, form=form, results=results)
    operators = results["operators"]
    if form.onward:
        try:
            onward = _onward_legs(params=request.GET, form=form)
        except ValidationError as error:  # a well-formed port code that is not one of ours
            form.add_query_errors(error)
            return render(request, "ferries/sailing_results.html", {"form": form}, status=400)
        legs += [leg for leg, _results in onward]
        operators = _all_operators([results, *(found for _leg, found in onward)])
    _accommodation_links(params=request.GET, legs=legs)
    context = {
        "form": form,
        "query": form.query,
        "legs": legs,
        "several_legs": bool(form.onward),
        "picking": len(legs) > 1,  # a sailing picked on each leg, then sent together
        "stops": trip_stops([(leg["origin"], leg["destination"]) for leg in legs]),
        "silent_operators": [op["name"] for op in operators if op["status"] != "ok"],
        "arrange": _arrange(params=request.GET, view=form.query.view, operators=operators),
    }
    return render(request, "ferries/sailing_results.html", context)


def _onward_legs(*, params: QueryDict, form: SearchForm) -> list[tuple[dict, dict]]:
    """The legs of a trip of several legs after the first, each a one-way search of its own (cached as any other),
    with its results."""
    found, previous = [], form.query.outbound
    for number, leg in enumerate(form.onward, start=2):
        slug = f"leg_{number}"
        names = {"origin": f"{slug}_from", "destination": f"{slug}_to", "date": f"{slug}_date"}
        try:
            results = sailing_search(query=SearchQuery(outbound=leg, view=form.query.view))
        except ValidationError as error:  # named as the leg's own fields
            fields = {"from": names["origin"], "to": names["destination"]}
            raise ValidationError({fields.get(k, k): v for k, v in error.message_dict.items()}) from None
        shown = _leg(form=form, leg=leg, sailings=results["outbound"], title=LEG_TITLES[slug], slug=slug)
        shown["filtered_out"] = results["filtered_out"]["outbound"]
        explanation = results["explanations"]["outbound"]
        shown["explanation"] = explanation and _explanation(params=params, names=names, explanation=explanation)
        shown["strip"] = _fare_strip(params=params, names=names, leg=leg, days=days_around(
            leg.day, not_before=previous.day
        ))  # fmt: skip
        found.append((shown, results))
        previous = leg
    return found


def _all_operators(answers: list[dict]) -> list[dict]:
    """The operators of every leg's search, once each; one that did not answer for a leg did not answer."""
    operators: dict[str, dict] = {}
    for answer in answers:
        for operator in answer["operators"]:
            kept = operators.setdefault(operator["code"], operator)
            if operator["status"] != "ok":
                operators[operator["code"]] = kept | {"status": operator["status"]}
    return list(operators.values())


# The search's parameters that only arrange its results (ferries.queries.ResultsView).
VIEW_PARAMS = ("sort", "operator", "departs", "available_only")
TIME_BAND_LABELS = {
    "night": _lazy("Night (0–6 h)"),
    "morning": _lazy("Morning (6–12 h)"),
    "afternoon": _lazy("Afternoon (12–18 h)"),
    "evening": _lazy("Evening (18–24 h)"),
}
SORT_LABELS = {"departure": _lazy("Departure time"), "price": _lazy("Price"), "duration": _lazy("Crossing time")}


def _arrange(*, params: QueryDict, view: ResultsView, operators: list[dict]) -> dict:
    """The sort and filter form: the search's other parameters kept as they are, the choices with theirs ticked."""
    kept = params.copy()
    for name in VIEW_PARAMS:
        kept.pop(name, None)
    return {
        "kept": [(name, value) for name, values in kept.lists() for value in values],
        "sorts": [(value, label, value == view.sort) for value, label in SORT_LABELS.items()],
        "operators": [(op["code"], op["name"], op["code"] in view.operators) for op in operators],
        "bands": [(band, label, band in view.departs) for band, label in TIME_BAND_LABELS.items()],
        "available_only": view.available_only,
        "filtered": bool(view.operators or view.departs or view.available_only),
        "reset_url": f"{reverse('sailing_results')}?{kept.urlencode()}",
    }


def _legs(*, params: QueryDict, form: SearchForm, results: dict) -> list[dict]:
    """The outbound leg, and the return leg when there is one, as the page shows them side by side."""
    query = form.query
    legs = [_leg(form=form, leg=query.outbound, sailings=results["outbound"], title=_("Outbound"), slug="outbound")]
    if query.inbound:
        legs.append(_leg(form=form, leg=query.inbound, sailings=results["return"], title=_("Return"), slug="return"))
        # Which returns each outbound can be followed by, for the page's script to grey out the others.
        follows = returns_that_can_follow(outbound=results["outbound"], inbound=results["return"])
        for sailing in legs[0]["sailings"]:
            sailing["followed_by"] = " ".join(str(pk) for pk in follows[sailing["sailing_id"]])
    leg_params = _leg_params(params)
    for leg, names in zip(legs, leg_params, strict=False):
        leg["filtered_out"] = results["filtered_out"][leg["slug"]]
        explanation = results["explanations"][leg["slug"]]
        leg["explanation"] = explanation and _explanation(params=params, names=names, explanation=explanation)
    legs[0]["strip"] = _fare_strip(params=params, names=LEG_PARAMS[0], leg=query.outbound, days=days_around(
        query.outbound.day, not_after=query.inbound and query.inbound.day
    ))  # fmt: skip
    if query.inbound:
        days = days_around(query.inbound.day, not_before=query.outbound.day)
        legs[1]["strip"] = _fare_strip(params=params, names=leg_params[1], leg=query.inbound, days=days)
    return legs


def _accommodation_links(*, params: QueryDict, legs: list[dict]) -> None:
    """Each accommodation a sailing sells, a link to the same search with the party in it on that leg, the other legs
    keeping theirs (deck passage out, a cabin back): the outbound's is `accommodation`, the others' their own."""
    kept = {leg["accommodation_param"]: leg["accommodation"] for leg in legs} if len(legs) > 1 else {}
    for leg in legs:
        name = leg["accommodation_param"]
        in_accommodation = {kind: _search_url(params, **(kept | {name: kind})) for kind in Accommodation.values}
        for sailing in leg["sailings"]:
            for option in sailing.get("accommodations", ()):
                option["url"] = in_accommodation[option["kind"]]
                option["chosen"] = option["kind"] == leg["accommodation"]


def _leg_params(params: QueryDict) -> tuple[dict[str, str], dict[str, str]]:
    """The parameters that name each leg's ports and day: an open-jaw return names its own ports, where given."""
    if not (params.get("return_from") or params.get("return_to")):
        return LEG_PARAMS
    back = {
        "origin": "return_from" if params.get("return_from") else "to",
        "destination": "return_to" if params.get("return_to") else "from",
        "date": "return_date",
    }
    return LEG_PARAMS[0], back


def _fare_strip(*, params: QueryDict, names: dict[str, str], leg: LegQuery, days: tuple[dt.date, dt.date]) -> dict:
    """The leg's lowest price on the days around the one searched, each day a link to its search."""
    calendar = fare_calendar(query=CalendarQuery(leg.origin, leg.destination, *days, leg.party))
    days = [
        {
            "day": dt.date.fromisoformat(entry["date"]),
            "lowest": entry["lowest"],
            "status": entry["status"],
            "cheapest": entry["cheapest"],
            "chosen": entry["date"] == leg.day.isoformat(),
            "url": _search_url(params, **{names["date"]: entry["date"]}),
        }
        for entry in calendar["days"]
    ]
    month = params.copy()
    month["month"], month["leg"] = leg.day.strftime("%Y-%m"), "return" if names["date"] == "return_date" else "outbound"
    return {"days": days, "month_url": f"{reverse('fare_calendar')}?{month.urlencode()}"}


def _search_url(params: QueryDict, **changes) -> str:
    other = params.copy()
    for name, value in changes.items():
        other[name] = value
    return f"{reverse('sailing_results')}?{other.urlencode()}"


def _leg(*, form: SearchForm, leg: LegQuery, sailings: list[dict], title: str, slug: str) -> dict:
    return {
        "filtered_out": 0,
        "slug": slug,
        "title": title,
        "origin": form.port_names.get(leg.origin, leg.origin),
        "destination": form.port_names.get(leg.destination, leg.destination),
        "day": leg.day,
        "accommodation": leg.party.accommodation,
        # The search's parameter of the leg's accommodation (the outbound's is the party's own).
        "accommodation_param": "accommodation" if slug == "outbound" else f"{slug}_accommodation",
        "sailings": sailings,
        # Travel alerts (a page of notifications, reached by its URL): places freeing up on a sold-out sailing (the
        # card adds the sailing), or the day's lowest price falling to a limit.
        "party_query": urlencode(party_params(leg.party)),
        "price_alert_url": f"{reverse('travel_alert_new')}?{urlencode({'kind': 'price'} | leg.search_params())}",
    }


def _explanation(*, params: QueryDict, names: dict[str, str], explanation: dict) -> dict:
    """Why the leg has nothing to book, with the searches worth trying instead as links."""

    def url(**changes) -> str:
        return _search_url(params, **{names.get(name, name): value for name, value in changes.items()})

    return {
        "reason": explanation["reason"],
        "destinations": [
            {"name": port["name"], "url": url(destination=port["code"])}
            for port in explanation["destinations_from_origin"]
        ],
        "origins": [
            {"name": port["name"], "url": url(origin=port["code"])} for port in explanation["origins_to_destination"]
        ],
        "accommodation": [
            {"kind": kind, "url": url(accommodation=kind)} for kind in explanation["accommodation_offered"]
        ],
        "nearby": [
            {
                "day": dt.date.fromisoformat(other["date"]),
                "lowest_price": other["lowest_price"],
                "url": url(date=other["date"]),
            }
            for other in explanation["nearby_dates"]
        ],
    }


# The month page's own parameters, besides the search's.
MONTH_PARAMS = ("month", "leg")


@require_safe
def fare_calendar_page(request: HttpRequest) -> HttpResponse:
    """A month of lowest prices for one leg of the search (`leg`: outbound, or return from `to` back to `from`);
    each day a link to the search with that day, as long as the journey stays possible."""
    params = request.GET
    slug = "return" if params.get("leg") == "return" else "outbound"
    names = _leg_params(params)[1] if slug == "return" else LEG_PARAMS[0]
    journey = ("from", "to", "date", "return_date", "return_from", "return_to", "leg")
    asked = {
        "from": params.get(names["origin"], ""),
        "to": params.get(names["destination"], ""),
        **{name: value for name, value in params.items() if name not in journey},
    }
    try:
        query = parse_calendar_query(asked)
        calendar = fare_calendar(query=query)
    except ValidationError as error:
        errors = [message for messages in error.message_dict.values() for message in messages]
        return render(request, "ferries/fare_calendar.html", {"errors": errors}, status=400)
    outbound_day, return_day = _day(params.get("date")), _day(params.get("return_date"))
    days = []
    for entry in calendar["days"]:
        day = dt.date.fromisoformat(entry["date"])
        possible = not (slug == "outbound" and return_day and day > return_day) and not (
            slug == "return" and outbound_day and day < outbound_day
        )
        url = _search_url(params, **{names["date"]: entry["date"]}) if possible else None
        days.append(entry | {"day": day, "url": url if entry["status"] == DayStatus.AVAILABLE else None})
    ports = dict(Port.objects.filter(code__in=[query.origin, query.destination]).values_list("code", "name"))
    context = {
        "query": query,
        "origin": ports.get(query.origin, query.origin),
        "destination": ports.get(query.destination, query.destination),
        "weeks": _weeks(days),
        "weekdays": [WEEKDAYS_ABBR[n] for n in range(7)],
        "complete": calendar["complete"],
        "previous_url": _month_url(params, query.first.replace(day=1) - dt.timedelta(days=1)),
        "next_url": _month_url(params, query.last + dt.timedelta(days=1)),
        "back_url": _search_url(params) if params.get("date") else None,
    }
    return render(request, "ferries/fare_calendar.html", context)


def _day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text or "")
    except ValueError:
        return None


def _weeks(days: list[dict]) -> list[list[dict | None]]:
    """The days as the rows of a calendar, Monday first; None where a row has no day of the month."""
    cells: list[dict | None] = [None] * days[0]["day"].weekday() + days if days else []
    cells += [None] * (-len(cells) % 7)
    return [cells[n : n + 7] for n in range(0, len(cells), 7)]


def _month_url(params: QueryDict, day: dt.date) -> str | None:
    """The month page of `day`'s month, if it has days that can be searched."""
    first, last = searchable_days()
    if day < first.replace(day=1) or day > last:
        return None
    other = params.copy()
    other["month"] = day.strftime("%Y-%m")
    return f"{reverse('fare_calendar')}?{other.urlencode()}"


@require_safe
def operator_logo(request: HttpRequest, code: str, version: str) -> HttpResponse:
    """An operator's logo, under the version of its content: kept by browsers for good (a new logo is a new
    address). An old version is not found."""
    operator = Operator.objects.filter(code=code, logo_version=version).exclude(logo_version="").first()
    if operator is None:
        raise Http404
    response = HttpResponse(bytes(operator.logo), content_type=operator.logo_type)
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
