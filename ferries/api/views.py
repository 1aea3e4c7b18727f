"""The ferry network for mobile apps: ports, routes and sailing search. Public reads, no account needed."""

from collections.abc import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ferries.api.schema import (
    CALENDAR_PARAMETERS,
    SEARCH_EMPTY_EXAMPLE,
    SEARCH_NO_ROUTE_EXAMPLE,
    SEARCH_PARAMETERS,
    SEARCH_RESPONSE_EXAMPLE,
)
from ferries.api.serializers import (
    FareCalendarOutputSerializer,
    PortOutputSerializer,
    RouteOutputSerializer,
    SailingSearchOutputSerializer,
    labelled_price_lines,
)
from ferries.cache.service import AnswerLookup
from ferries.calendar import calendar_answer_lookup, fare_calendar, fare_calendar_answer, kept_calendar_answer
from ferries.queries import (
    parse_calendar_query,
    parse_search_query,
    read_calendar_query,
    read_search_query,
)
from ferries.search import answer_lookup, give_back, kept_search_answer, sailing_search, sailing_search_answer
from ferries.selectors import port_list, route_list
from kernel.api import VALIDATION_ERROR_RESPONSE, api_validation_error, json_bytes
from kernel.throttling import ride_along


class PublicApi:
    # Nothing here depends on who asks, so no token or session is looked up for these requests.
    authentication_classes: list = []
    permission_classes = [AllowAny]


@extend_schema_view(get=extend_schema(operation_id="port_list", summary="Ports with at least one active route"))
class PortListApi(PublicApi, ListAPIView):
    serializer_class = PortOutputSerializer
    # A few dozen ports at most: clients want the whole list for their pickers, so no pages.
    pagination_class = None

    def get_queryset(self):
        return port_list()


@extend_schema_view(get=extend_schema(operation_id="route_list", summary="Active routes, by operator"))
class RouteListApi(PublicApi, ListAPIView):
    serializer_class = RouteOutputSerializer
    # A few hundred routes at most, read whole by clients to know which destinations a port serves: no pages.
    pagination_class = None

    def get_queryset(self):
        return route_list()


class KeptAnswerApi(PublicApi, APIView):
    """An endpoint whose JSON answer is kept whole as sent: the query read once per query string (`read_query`), the
    answer looked up (`lookup_of`, `kept_answer`) in the round trip that checks the rate limits — or in neither, when
    the process holds a copy Redis has said nothing against and the limits let the request through in the process.

    A request that finds its answer kept is sent it before DRF's request cycle (`kept_response`): bytes already made
    need no content negotiation beyond "plain JSON", no parser, no authentication (these endpoints have none) — and
    before most of Django's too (ferries.api.middleware). The rate limits are the view's own throttles, asked as DRF
    asks them; whatever is not a plain JSON hit within the limits (a miss, a refusal, an error in the query, another
    format) goes through DRF's cycle, which finds the limits decided and the answer looked up: nothing is counted
    twice."""

    read_query: Callable[[str], object]
    lookup_of: Callable[[object], AnswerLookup | None]
    kept_answer: Callable[[object, AnswerLookup], bytes | None]

    query: object = None
    lookup: AnswerLookup | None = None
    prepared = False
    _throttles: list | None = None

    @classmethod
    def kept_response(cls, request: HttpRequest) -> HttpResponseBase | None:
        """The view's response to `request` when it is a plain JSON GET whose answer is kept and the rate limits let
        it through; else None, what was done on the way left with the request for the view that will serve it."""
        view = cls()
        view.setup(request)
        response = view._kept_response(request)
        if response is None:
            request.maritime_kept_answer_view = view
        return response

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        tried = request.__dict__.pop("maritime_kept_answer_view", None)  # by `kept_response`, for this request
        if tried is not None:
            self.query, self.lookup, self.prepared, self._throttles = (
                tried.query, tried.lookup, tried.prepared, tried._throttles
            )  # fmt: skip
        else:
            kept = self._kept_response(request)
            if kept is not None:
                return kept
        return super().dispatch(request, *args, **kwargs)

    def _kept_response(self, request: HttpRequest) -> HttpResponseBase | None:
        if request.method != "GET" or not _plain_json(request):
            return None
        try:
            kept = self._kept(Request(request))
        except Exception:
            give_back(self.lookup)  # the locks its lookup may have taken: no view will finish this request
            raise
        if kept is None:
            return None
        self.headers = self.default_response_headers  # as DRF's cycle would send them (Allow, Vary)
        return self.finalize_response(request, HttpResponse(kept, content_type=JSONRenderer.media_type))

    def finalize_response(self, request, response, *args, **kwargs):
        # Whatever came of the request: the locks its lookup took for a missing answer's legs, if nothing used them.
        give_back(self.lookup)
        return super().finalize_response(request, response, *args, **kwargs)

    def get_throttles(self):
        # Made once a request: the hit's own check and the decision of all its limits share them.
        if self._throttles is None:
            self._throttles = super().get_throttles()
        return self._throttles

    def _kept(self, request: Request) -> bytes | None:
        self._prepare(request)
        if self.lookup is None or not all(throttle.allow_request(request, self) for throttle in self.get_throttles()):
            return None
        return type(self).kept_answer(self.query, self.lookup)

    def _prepare(self, request: Request) -> None:
        """The query, and the lookup of its answer riding with the rate limits (once per request)."""
        if self.prepared:
            return
        self.prepared = True
        try:
            self.query = type(self).read_query(request.META.get("QUERY_STRING", ""))
        except DjangoValidationError:
            return  # told by `get`
        self.lookup = type(self).lookup_of(self.query)
        if self.lookup is not None:
            ride_along(request, self.lookup.rider)

    def check_throttles(self, request: Request) -> None:
        if request.accepted_media_type == JSONRenderer.media_type:
            self._prepare(request)
        super().check_throttles(request)


def _plain_json(request: HttpRequest) -> bool:
    """Whether DRF would answer this request in plain JSON whatever the renderers: it asks for JSON or anything, and
    names no format in its query string (a conservative test: any doubt goes through DRF's negotiation)."""
    # META rather than `headers`, which would copy every header of the request first (a hit reads none other).
    meta = request.META
    return meta.get("HTTP_ACCEPT", "*/*") in _PLAIN_JSON and "format" not in meta.get("QUERY_STRING", "")


_PLAIN_JSON = {"", "*/*", JSONRenderer.media_type}


class SailingSearchApi(KeptAnswerApi):
    # The busiest endpoint.
    read_query = staticmethod(read_search_query)
    lookup_of = staticmethod(answer_lookup)
    kept_answer = staticmethod(kept_search_answer)

    @extend_schema(
        operation_id="sailing_search",
        summary="Sailings between two ports on a day, and back",
        description="Prices are for the whole party, in minor units. Results are cached for a few minutes; "
        "availability is refreshed every minute. `complete` is false when an operator did not answer in time. "
        "A leg without a sailing the party can book (none that day, none with room, or no ferry between the ports "
        "at all) is explained in `explanations`: a machine-readable `reason`, and what to search instead.",
        parameters=SEARCH_PARAMETERS,
        responses={200: SailingSearchOutputSerializer, 400: VALIDATION_ERROR_RESPONSE},
        examples=[SEARCH_RESPONSE_EXAMPLE, SEARCH_EMPTY_EXAMPLE, SEARCH_NO_ROUTE_EXAMPLE],
    )
    def get(self, request: Request) -> Response | HttpResponse:
        try:
            query = self.query or parse_search_query(request.query_params)
            if request.accepted_media_type == JSONRenderer.media_type:  # not the browsable API, nor indented JSON
                # The answer is sent as the bytes the cache keeps (made by the same renderer), so a repeated search
                # is one Redis round trip, with the rate limits, and no JSON work.
                lookup = self.lookup
                answer = sailing_search_answer(query=query, render=answer_bytes, lookup=lookup)
                return HttpResponse(answer, content_type=JSONRenderer.media_type)
            results = sailing_search(query=query)
        except DjangoValidationError as error:
            raise api_validation_error(error) from error
        # Already the wire shape, mostly straight from the cache: serializing every row again would
        # only cost time on the busiest endpoint. SailingSearchOutputSerializer documents it.
        return Response(in_words(results))


class FareCalendarApi(KeptAnswerApi):
    read_query = staticmethod(read_calendar_query)
    lookup_of = staticmethod(calendar_answer_lookup)
    kept_answer = staticmethod(kept_calendar_answer)

    @extend_schema(
        operation_id="sailing_calendar",
        summary="The lowest price for the party on each day of a month, or of the days around one",
        description="One direction (ask again with the ports swapped for the way back). Each day's lowest price is "
        "the one a search of that day gives, for the sailings the party can book; availability is as fresh as in a "
        "search. The prices of a month are cached as one answer for a few minutes.",
        parameters=CALENDAR_PARAMETERS,
        responses={200: FareCalendarOutputSerializer, 400: VALIDATION_ERROR_RESPONSE},
    )
    def get(self, request: Request) -> Response | HttpResponse:
        try:
            query = self.query or parse_calendar_query(request.query_params)
            if request.accepted_media_type == JSONRenderer.media_type:  # sent as the bytes kept, as a search is
                lookup = self.lookup
                answer = fare_calendar_answer(query=query, render=json_bytes, lookup=lookup)
                return HttpResponse(answer, content_type=JSONRenderer.media_type)
            return Response(fare_calendar(query=query))
        except DjangoValidationError as error:
            raise api_validation_error(error) from error


def answer_bytes(results: dict) -> bytes:
    """The search's answer as the API sends it in JSON (and the cache keeps it), in the active language."""
    return json_bytes(in_words(results))


def in_words(results: dict) -> dict:
    """The search results with each price line named in the request's language. The searches cached are in no
    language; the whole answer kept as sent is, and is kept per language (`FerryCacheService.answer_key`)."""
    return results | {
        leg: [
            row
            | {
                "price_lines": labelled_price_lines(row["price_lines"]),
                "fares": [fare | {"price_lines": labelled_price_lines(fare["price_lines"])} for fare in row["fares"]],
            }
            for row in results[leg]
        ]
        for leg in ("outbound", "return")
    }
