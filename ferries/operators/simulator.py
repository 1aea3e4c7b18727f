"""The operator simulator: a ferry operator's JSON API, served from our local inventory.

It lets remote operators be developed, tested and benchmarked here. Each operator is under its
own path: `http://host:port/CTN/v1/...`. Every request waits `latency` seconds, and answers 503 with
probability `error_rate` (and always for the first `fail_first` requests), so slow and failing
operators can be played on purpose. `calls` counts the requests received, in all and by action.

    POST /{CODE}/v1/search                     {"from", "to", "date", "party"} → {"sailings": [...]}
    POST /{CODE}/v1/availability               {"sailing_refs": [...]}       → {"availability": {...}}
    POST /{CODE}/v1/holds                      {"sailing_ref", "party", "minutes", "fare_family", "extras"}
                                               → 201 {"hold_ref", "expires_at", "price"}

A sailing in the search's answer has its price in each fare family it is sold in ("fares", each with its
"fare_family", "cancellation_policy" and "change_policy"), the price booked when no family is named ("price"), and
the extras sold with it ("extras": unit price by code).
    POST /{CODE}/v1/holds/{ref}/confirm        {"manifest"} → {"confirmation_ref"}
    PUT  /{CODE}/v1/holds/{ref}/manifest       {"manifest"} → {"status": "received"}
    POST /{CODE}/v1/sailings/times             {"sailing_refs": [...]} → {"sailings": {ref: {"departs_at",
                                               "arrives_at", "status"}}}: our inventory's, or what `reported` says
    POST /{CODE}/v1/holds/{ref}/cancel         → {"status": "released"}

A manifest is the party's passenger list: {"passengers": [{"type", "first_name", "last_name", "date_of_birth",
"nationality", "document_number"}], "vehicles": [{"category", "registration", "length_cm", "height_cm", "load"}]}
(an older client's single "vehicle", or null, is read as a list of one or none); one that is malformed answers 400.
The latest received for each hold is kept in `manifests` (by hold reference).
`reported[ref] = {"departs_at", "arrives_at", "status"}` plays an operator whose sailing is late or cancelled.

Refusals answer 409 (or 404) with {"error": {"code", "message"}}.
"""

import json
import random
import re
import threading
from collections import Counter
from wsgiref.simple_server import WSGIRequestHandler

from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import close_old_connections

from ferries.errors import OperatorRefused
from ferries.models import Operator
from ferries.operators.base import LegOrder, PartyManifest, offer_to_wire
from ferries.operators.local import LocalInventoryOperator
from ferries.queries import LegQuery

ROUTES = [
    (re.compile(r"^/(?P<code>[A-Z0-9]{2,8})/v1/search$"), "search"),
    (re.compile(r"^/(?P<code>[A-Z0-9]{2,8})/v1/availability$"), "availability"),
    (re.compile(r"^/(?P<code>[A-Z0-9]{2,8})/v1/holds$"), "hold"),
    (re.compile(r"^/(?P<code>[A-Z0-9]{2,8})/v1/holds/(?P<ref>[A-Z0-9]+)/confirm$"), "confirm"),
    (re.compile(r"^/(?P<code>[A-Z0-9]{2,8})/v1/holds/(?P<ref>[A-Z0-9]+)/cancel$"), "cancel"),
    (re.compile(r"^/(?P<code>[A-Z0-9]{2,8})/v1/holds/(?P<ref>[A-Z0-9]+)/manifest$"), "manifest"),
    (re.compile(r"^/(?P<code>[A-Z0-9]{2,8})/v1/sailings/times$"), "times"),
]


class OperatorSimulator:
    """A WSGI application; `serve()` runs it on a threaded server."""

    def __init__(self, *, latency: float = 0.0, error_rate: float = 0.0, fail_first: int = 0, seed: int | None = None):
        self.latency = latency
        self.error_rate = error_rate
        self.fail_first = fail_first
        self.calls: Counter[str] = Counter()
        self.manifests: dict[str, dict] = {}
        self.reported: dict[str, dict] = {}
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.in_flight = 0  # requests being answered
        self._closed = threading.Event()

    def close(self) -> None:
        """Answer no more: a request still waiting out its latency is refused at once, without reading the database
        (whose test may be over); wait for `in_flight` to fall to 0 before the database goes."""
        self._closed.set()

    def __call__(self, environ, start_response):
        with self._lock:
            self.in_flight += 1
        try:
            status, body = self._handle(environ)
        finally:
            close_old_connections()  # each request runs in a thread of its own
            with self._lock:
                self.in_flight -= 1
        payload = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]

    def _handle(self, environ) -> tuple[str, dict]:
        if self._closed.wait(self.latency):
            return "503 Service Unavailable", {"error": {"code": "closed", "message": "The simulator is closed."}}
        route = next(((a, m) for p, a in ROUTES if (m := p.match(environ.get("PATH_INFO", "")))), None)
        with self._lock:
            failing = self.fail_first > 0 or self._random.random() < self.error_rate
            self.fail_first = max(self.fail_first - 1, 0)
            self.calls["requests"] += 1
            self.calls[route[0] if route else "unknown"] += 1
        if failing:
            return "503 Service Unavailable", {"error": {"code": "unavailable", "message": "Try again later."}}
        if environ["REQUEST_METHOD"] != ("PUT" if route and route[0] == "manifest" else "POST"):
            return "405 Method Not Allowed", {"error": {"code": "method", "message": "Not this method."}}
        if route is None:
            return "404 Not Found", {"error": {"code": "not_found", "message": "No such endpoint."}}
        return self._dispatch(route[0], route[1].groupdict(), environ)

    def _dispatch(self, action: str, params: dict, environ) -> tuple[str, dict]:
        operator = Operator.objects.filter(code=params["code"]).first()
        if operator is None:
            return "404 Not Found", {"error": {"code": "unknown_operator", "message": "No such operator."}}
        adapter = LocalInventoryOperator(operator)
        try:
            data = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"{}")
            return getattr(self, f"_{action}")(adapter, data, params.get("ref"))
        except OperatorRefused as refusal:
            return "409 Conflict", {"error": {"code": refusal.code, "message": refusal.message}}
        except (ValueError, KeyError, TypeError) as exc:
            return "400 Bad Request", {"error": {"code": "bad_request", "message": repr(exc)}}

    def _search(self, adapter, data, _ref):
        offers = adapter.search(LegQuery.from_dict(data))
        return "200 OK", {"sailings": [offer_to_wire(offer) for offer in offers]}

    def _availability(self, adapter, data, _ref):
        return "200 OK", {"availability": adapter.availability([str(ref) for ref in data["sailing_refs"]])}

    def _hold(self, adapter, data, _ref):
        hold = adapter.hold(
            sailing_ref=data["sailing_ref"], order=LegOrder.from_dict(data), minutes=int(data["minutes"])
        )
        return "201 Created", {
            "hold_ref": hold.hold_ref,
            "expires_at": hold.expires_at.isoformat(),
            "price": hold.price,
        }

    def _confirm(self, adapter, data, ref):
        if "manifest" in data:
            self.manifests[ref] = PartyManifest.from_dict(data["manifest"]).as_dict()
        return "200 OK", {"confirmation_ref": adapter.confirm(ref)}

    def _times(self, adapter, data, _ref):
        times = adapter.sailing_times([str(ref) for ref in data["sailing_refs"]])
        sailings = {
            ref: {"departs_at": t.departs_at.isoformat(), "arrives_at": t.arrives_at.isoformat(),
                  "status": "cancelled" if t.cancelled else "scheduled"}
            for ref, t in times.items()
        }  # fmt: skip
        return "200 OK", {"sailings": {ref: {**item, **self.reported.get(ref, {})} for ref, item in sailings.items()}}

    def _manifest(self, adapter, data, ref):
        self.manifests[ref] = PartyManifest.from_dict(data.get("manifest")).as_dict()
        return "200 OK", {"status": "received"}

    def _cancel(self, adapter, _data, ref):
        adapter.cancel(ref)
        return "200 OK", {"status": "released"}


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def make_server(app: OperatorSimulator, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True):
    """A threaded HTTP server for the simulator; port 0 picks a free one (`server.server_port`)."""
    server = ThreadedWSGIServer((host, port), _QuietHandler if quiet else WSGIRequestHandler)
    server.set_app(app)
    return server
