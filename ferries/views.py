"""The traveller's search pages: the home page with the search form, and the sailings found."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from ferries.forms import SearchForm, query_params
from ferries.search import sailing_search
from ferries.search_query import LegQuery, parse_search_query

# How many days either side of a date without sailings the results page offers instead.
NEARBY_DAYS = (-2, -1, 1, 2)


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
    if results is None:
        return render(request, "ferries/sailing_results.html", {"form": form}, status=400)
    context = {
        "form": form,
        "query": form.query,
        "legs": _legs(params=request.GET, form=form, results=results),
        "silent_operators": [op["name"] for op in results["operators"] if op["status"] != "ok"],
    }
    return render(request, "ferries/sailing_results.html", context)


def _legs(*, params: QueryDict, form: SearchForm, results: dict) -> list[dict]:
    """The outbound leg, and the return leg when there is one, as the page shows them side by side."""
    query = form.query
    legs = [_leg(form=form, leg=query.outbound, sailings=results["outbound"], title=_("Outbound"), slug="outbound")]
    if query.inbound:
        legs.append(_leg(form=form, leg=query.inbound, sailings=results["return"], title=_("Return"), slug="return"))
    for leg, date_param in zip(legs, ("date", "return_date"), strict=False):
        if not leg["sailings"]:
            leg["nearby"] = _nearby_searches(params=params, date_param=date_param, day=leg["day"])
    return legs


def _leg(*, form: SearchForm, leg: LegQuery, sailings: list[dict], title: str, slug: str) -> dict:
    return {
        "slug": slug,
        "title": title,
        "origin": form.port_names.get(leg.origin, leg.origin),
        "destination": form.port_names.get(leg.destination, leg.destination),
        "day": leg.day,
        "sailings": sailings,
        "nearby": [],
    }


def _nearby_searches(*, params: QueryDict, date_param: str, day: dt.date) -> list[dict]:
    """The same search on the days around `day`, offered only where the search rules accept it."""
    searches = []
    for offset in NEARBY_DAYS:
        other_day = day + dt.timedelta(days=offset)
        other = params.copy()
        other[date_param] = other_day.isoformat()
        try:
            parse_search_query(query_params(other))
        except ValidationError:
            continue
        searches.append({"day": other_day, "url": f"{reverse('sailing_results')}?{other.urlencode()}"})
    return searches
