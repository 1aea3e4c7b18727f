"""Operators reached through their JSON API (and the operator simulator, which speaks the same API).

Connection failures are retried at once, twice at most, and so are 502/503/504 answers to calls
that are safe to repeat (search, availability, confirm and cancel, which operators answer the same
way twice) — never to holds, which must not be taken twice. A request never waits
longer than OPERATOR_TIMEOUT_SECONDS for an answer: one that runs out of time (to connect, after the retries, or
for its answer, headers or body, never retried) is OperatorTimeout. Confirming, cancelling and sending a passenger
list wait for the operator's turn (ferries/operators/pacing.py). Everything else becomes OperatorError
(could not answer) or OperatorRefused (answered no).
"""

import datetime as dt
import threading

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

from ferries.errors import OperatorError, OperatorRefused, OperatorTimeout
from ferries.operators.base import (
    Hold,
    LegOrder,
    Offer,
    OperatorAdapter,
    PartyManifest,
    SailingTimes,
    offer_from_wire,
)
from ferries.operators.pacing import operator_paced
from ferries.pricing import Quote
from ferries.queries import LegQuery

_sessions: dict[tuple[str, bool], requests.Session] = {}
_sessions_lock = threading.Lock()


def _session(base_url: str, *, idempotent: bool) -> requests.Session:
    """One pooled session per operator API and kind of call, shared by the threads that use it."""
    with _sessions_lock:
        if (base_url, idempotent) not in _sessions:
            retry = Retry(
                total=2,
                connect=2,
                # An answer that does not come is not asked for again, and its error is raised as it is (with
                # read=0, a read timeout would be "retries exhausted", which requests raises as a ConnectionError).
                read=False,
                status=2,
                status_forcelist=(502, 503, 504),
                allowed_methods=frozenset({"GET", "POST", "PUT"} if idempotent else {"GET"}),
                backoff_factor=0,
                raise_on_status=False,
            )
            session = requests.Session()
            session.mount(base_url, HTTPAdapter(max_retries=retry, pool_maxsize=settings.OPERATOR_MAX_CONCURRENCY))
            session.headers["User-Agent"] = "Maritime/1.0"
            _sessions[(base_url, idempotent)] = session
        return _sessions[(base_url, idempotent)]


def _failure(code: str, exc: requests.RequestException) -> OperatorError:
    """What a failed request means to a search: OperatorTimeout when it ran out of time (ConnectTimeout,
    ReadTimeout, or a body that stops coming after the headers, which requests raises as a ConnectionError wrapping
    urllib3's ReadTimeoutError), OperatorError otherwise."""
    if isinstance(exc, requests.Timeout):
        return OperatorTimeout(f"{code}: {type(exc).__name__}")
    if isinstance(exc, requests.ConnectionError) and any(isinstance(arg, ReadTimeoutError) for arg in exc.args):
        return OperatorTimeout(f"{code}: ReadTimeout")
    return OperatorError(f"{code}: {type(exc).__name__}")


class HttpOperator(OperatorAdapter):
    is_remote = True

    def __init__(self, operator, *, base_url: str):
        super().__init__(operator)
        self.base_url = base_url.rstrip("/")

    def search(self, query: LegQuery) -> list[Offer]:
        body = self._call("POST", "/v1/search", query.as_dict(), idempotent=True)
        try:
            return [offer_from_wire(item) for item in body["sailings"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise OperatorError(f"{self.operator.code}: malformed search reply ({exc!r})") from None

    def availability(self, sailing_refs: list[str]) -> dict[str, dict]:
        body = self._call("POST", "/v1/availability", {"sailing_refs": sailing_refs}, idempotent=True)
        return dict(body.get("availability", {}))

    def hold(self, *, sailing_ref: str, order: LegOrder, minutes: int) -> Hold:
        body = self._call("POST", "/v1/holds", {"sailing_ref": sailing_ref, "minutes": minutes, **order.as_dict()})
        try:
            expires_at = dt.datetime.fromisoformat(body["expires_at"])
            return Hold(hold_ref=body["hold_ref"], expires_at=expires_at, quote=Quote.from_dict(body["price"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise OperatorError(f"{self.operator.code}: malformed hold reply ({exc!r})") from None

    def confirm(self, hold_ref: str, manifest: PartyManifest | None = None) -> str:
        operator_paced(self.operator.code)
        payload = {"manifest": manifest.as_dict()} if manifest else {}
        return self._call("POST", f"/v1/holds/{hold_ref}/confirm", payload, idempotent=True)["confirmation_ref"]

    def sailing_times(self, sailing_refs: list[str]) -> dict[str, SailingTimes]:
        body = self._call("POST", "/v1/sailings/times", {"sailing_refs": sailing_refs}, idempotent=True)
        try:
            return {
                str(ref): SailingTimes(
                    departs_at=dt.datetime.fromisoformat(item["departs_at"]),
                    arrives_at=dt.datetime.fromisoformat(item["arrives_at"]),
                    cancelled=item.get("status") == "cancelled",
                )
                for ref, item in body["sailings"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise OperatorError(f"{self.operator.code}: malformed times reply ({exc!r})") from None

    def send_manifest(self, hold_ref: str, manifest: PartyManifest) -> None:
        operator_paced(self.operator.code)
        self._call("PUT", f"/v1/holds/{hold_ref}/manifest", {"manifest": manifest.as_dict()}, idempotent=True)

    def cancel(self, hold_ref: str) -> None:
        operator_paced(self.operator.code)
        self._call("POST", f"/v1/holds/{hold_ref}/cancel", {}, idempotent=True)

    def _call(self, method: str, path: str, payload: dict, *, idempotent: bool = False) -> dict:
        timeout = (min(1.0, settings.OPERATOR_TIMEOUT_SECONDS), settings.OPERATOR_TIMEOUT_SECONDS)
        try:
            session = _session(self.base_url, idempotent=idempotent)
            response = session.request(method, self.base_url + path, json=payload, timeout=timeout)
        except requests.RequestException as exc:
            raise _failure(self.operator.code, exc) from exc
        try:
            body = response.json()
        except ValueError:
            raise OperatorError(f"{self.operator.code}: HTTP {response.status_code} without JSON") from None
        # 409 is an answer ("sold out"); anything else above 400 means we are not being understood.
        if response.status_code == 409 and isinstance(body.get("error"), dict):
            raise OperatorRefused(str(body["error"].get("code", "refused")), str(body["error"].get("message", "")))
        if response.status_code >= 400:
            raise OperatorError(f"{self.operator.code}: HTTP {response.status_code}")
        return body
