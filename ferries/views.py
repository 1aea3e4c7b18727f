"""The traveller's search pages: the home page with the search form, and the sailings found."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from ferries.forms import SearchForm
from ferries.queries import LegQuery
from ferries.returns import returns_that_can_follow
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
        # Which returns each outbound can be followed by, for the page's script to grey out the others.
        follows = returns_that_can_follow(outbound=results["outbound"], inbound=results["return"])
        for sailing in legs[0]["sailings"]:
            sailing["followed_by"] = " ".join(str(pk) for pk in follows[sailing["sailing_id"]])
    for leg, names in zip(legs, LEG_PARAMS, strict=False):
        explanation = results["explanations"][leg["slug"]]
        leg["explanation"] = explanation and _explanation(params=params, names=names, explanation=explanation)
    return legs


def _leg(*, form: SearchForm, leg: LegQuery, sailings: list[dict], title: str, slug: str) -> dict:
    return {
        "slug": slug,
        "title": title,
        "origin": form.port_names.get(leg.origin, leg.origin),
        "destination": form.port_names.get(leg.destination, leg.destination),
        "day": leg.day,
        "sailings": sailings,
    }


def _explanation(*, params: QueryDict, names: dict[str, str], explanation: dict) -> dict:
    """Why the leg has nothing to book, with the searches worth trying instead as links."""

    def url(**changes) -> str:
        other = params.copy()
        for name, value in changes.items():
            other[names.get(name, name)] = value
        return f"{reverse('sailing_results')}?{other.urlencode()}"

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
