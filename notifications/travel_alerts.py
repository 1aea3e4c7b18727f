"""Travel alerts: a traveller asks to hear when places free up on a sailing sold out for their party, or when the
lowest price of a day's crossings for their party falls to a limit.

An alert is set from the results page or the API (`parse_alert_request`, then `alert_create`). Its address is
confirmed first — by the link of a first e-mail, unless a signed-in traveller's verified address — so that nobody
can sign someone else up. Beat checks live alerts in batches (`alerts_check`), never on a search: each batch takes
those not checked for CHECK_EVERY, oldest first, asks each search they watch once (the search cache's answer, not
counted in its figures) and compares what it sees with what the alert last saw. A change worth telling — places
free again, the price falling to or under the limit, or falling further — is e-mailed once: its outbox row's key
names the alert and the change's number, so two checks racing queue one e-mail. The link in each e-mail stops it.
"""

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ferries.models import Port, Sailing
from ferries.queries import PARTY_FIELDS, LegQuery, parse_search_query
from ferries.search import BOOKABLE, leg_search, lowest_price
from ferries.selectors import bookable_after
from kernel.money import format_money, money
from notifications.models import Email, TravelAlert
from notifications.tasks import EMAIL_TASKS

CHECK_EVERY = dt.timedelta(minutes=5)
BATCH = 500
CONFIRM_FOR = dt.timedelta(days=7)
_STOP_SALT = "travel-alert-stop"
_CONFIRM_SALT = "travel-alert-confirm"


@dataclass(frozen=True)
class AlertRequest:
    kind: str
    email: str
    query: LegQuery
    sailing: Sailing | None = None
    below_minor: int | None = None
    currency: str = "EUR"


# --- asking for one ------------------------------------------------------------------------------------------------


def parse_alert_request(data: Mapping, *, email: str = "", whole: bool = True) -> AlertRequest:
    """The alert `data` asks for (the API's body, or the website's form as text), or ValidationError naming each
    field in error. `email`: the signed-in traveller's address, used when the data gives none. Not `whole`: what is
    watched only, as a page shows it before the address and the limit are typed."""
    errors: dict[str, list[str]] = {}
    kind = data.get("kind")
    if kind not in TravelAlert.Kind.values:
        errors["kind"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(TravelAlert.Kind.values)}]
    address = _address(data.get("email") or email, errors) if whole else ""
    search = {name: data[name] for name in PARTY_FIELDS if data.get(name) not in (None, "")}
    sailing = below = None
    currency = "EUR"
    if kind == TravelAlert.Kind.AVAILABILITY:
        sailing = _sailing(data.get("sailing_id"), errors)
        if sailing:
            search |= {"from": sailing.route.origin.code, "to": sailing.route.destination.code,
                       "date": sailing.local_day.isoformat()}  # fmt: skip
    elif kind == TravelAlert.Kind.PRICE:
        search |= {name: data.get(name) for name in ("from", "to", "date")}
        if whole:
            below, currency = _limit(data.get("below"), errors)
    query = None
    if kind in TravelAlert.Kind.values and (kind != TravelAlert.Kind.AVAILABILITY or sailing):
        try:
            query = parse_search_query({name: str(value) for name, value in search.items() if value is not None})
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return AlertRequest(kind, address, query.outbound, sailing, below, currency)


def _address(value, errors: dict) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["email"] = [_("Enter the e-mail address to tell.")]
        return ""
    address = value.strip()
    try:
        if len(address) > 254:
            raise ValidationError("too long")
        validate_email(address)
    except ValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    return address


def _sailing(value, errors: dict) -> Sailing | None:
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 1 <= number <= 2**31 - 1:
        errors["sailing_id"] = [_("Choose a sailing.")]
        return None
    sailing = Sailing.objects.select_related("route__origin", "route__destination", "route__operator")
    sailing = sailing.filter(pk=number).first()
    if sailing is None:
        errors["sailing_id"] = [_("No such sailing.")]
    elif sailing.status != Sailing.Status.SCHEDULED or sailing.departs_at < bookable_after():
        errors["sailing_id"] = [_("This sailing can no longer be booked.")]
    else:
        return sailing
    return None


def _limit(value, errors: dict) -> tuple[int | None, str]:
    """The price limit: {"amount_minor": 8000, "currency": "EUR"}."""
    if not isinstance(value, Mapping):
        errors["below"] = [_("Give the price limit as an amount in minor units and its currency.")]
        return None, "EUR"
    amount, currency = value.get("amount_minor"), value.get("currency", "EUR")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= 10**9:
        errors["below.amount_minor"] = [_("A whole number of minor units (cents), from 1.")]
        amount = None
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        errors["below.currency"] = [_("A currency code of ISO 4217, e.g. EUR.")]
        currency = "EUR"
    return amount, currency


def alert_preview(request: AlertRequest) -> dict:
    """What a page shows of the search an alert would watch: the sailing (availability) and the lowest price the
    party can book now (None when nothing can be booked)."""
    answer = leg_search(query=request.query, counted=False)
    bookable = [row for row in answer["sailings"] if row["availability"]["status"] in BOOKABLE]
    sailing = [row for row in answer["sailings"] if request.sailing and row["sailing_id"] == request.sailing.pk]
    return {"sailing": sailing[0] if sailing else None, "lowest": lowest_price(bookable), **_journey(request.query)}


def _journey(query: LegQuery) -> dict:
    """The watched search's ports by name, and its results page (a path)."""
    ports = dict(Port.objects.filter(code__in=[query.origin, query.destination]).values_list("code", "name"))
    return {
        "origin": ports.get(query.origin, query.origin),
        "destination": ports.get(query.destination, query.destination),
        "search_url": reverse("sailing_results") + "?" + urlencode(query.search_params()),
    }


def address_verified(user, email: str) -> bool:
    """The signed-in traveller's own address, verified: an alert for it needs no confirming."""
    return bool(user and user.is_authenticated) and (
        EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()
    )


def alert_create(*, request: AlertRequest, owner=None, language: str = "en", verified: bool = False) -> TravelAlert:
    """The alert, live at once for a `verified` address (a signed-in traveller's), else once confirmed by the link
    of the e-mail queued now. The same alert asked again is the one already set. ValidationError when what it
    would tell is true already (places free, the price under the limit): the traveller can book now."""
    answer = leg_search(query=request.query, counted=False)
    seen = _observe(request.kind, answer, sailing_id=request.sailing and request.sailing.pk,
                    below_minor=request.below_minor, currency=request.currency)  # fmt: skip
    if seen == "available":
        raise ValidationError({"sailing_id": [_("There is room on this sailing for your party: you can book it now.")]})
    if seen.startswith("under:"):
        price = format_money(int(seen.removeprefix("under:")), request.currency)
        raise ValidationError(
            {"below": [_("The lowest price is %(price)s already: you can book now.") % {"price": price}]}
        )
    query = request.query.as_dict()
    same = TravelAlert.objects.filter(
        kind=request.kind, email__iexact=request.email, query=query, sailing=request.sailing,
        below_minor=request.below_minor, stopped_at__isnull=True,
    ).first()  # fmt: skip
    if same:
        if verified and same.confirmed_at is None:
            same.confirmed_at = timezone.now()
            same.save(update_fields=["confirmed_at"])
        return same
    with transaction.atomic():
        alert = TravelAlert.objects.create(
            kind=request.kind, email=request.email, language=language, owner=owner, query=query,
            sailing=request.sailing, below_minor=request.below_minor, currency=request.currency, state=seen,
            confirmed_at=timezone.now() if verified else None, ends_at=_ends_at(request),
        )  # fmt: skip
        if not verified:  # its link is made when it is sent: the outbox keeps no key to the alert
            _enqueue(alert, Email.Kind.TRAVEL_ALERT_CONFIRM, "confirm", {})
    return alert


def _ends_at(request: AlertRequest) -> dt.datetime:
    if request.sailing:
        return request.sailing.departs_at
    return dt.datetime.combine(request.query.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


# --- its links -----------------------------------------------------------------------------------------------------


def confirm_url(alert_id: int) -> str:
    token = signing.dumps(alert_id, salt=_CONFIRM_SALT)
    return settings.SITE_URL + reverse("travel_alert_confirm", kwargs={"token": token})


def stop_url(alert_id: int) -> str:
    token = signing.dumps(alert_id, salt=_STOP_SALT)
    return settings.SITE_URL + reverse("travel_alert_stop", kwargs={"token": token})


def alert_of_token(token: str, *, stop: bool) -> TravelAlert | None:
    """The alert a link names: a stop link for good, a confirmation link for CONFIRM_FOR."""
    try:
        if stop:
            alert_id = signing.loads(token, salt=_STOP_SALT)
        else:
            alert_id = signing.loads(token, salt=_CONFIRM_SALT, max_age=CONFIRM_FOR)
    except signing.BadSignature:
        return None
    return TravelAlert.objects.filter(pk=alert_id).first() if isinstance(alert_id, int) else None


def alert_confirm(*, alert: TravelAlert) -> bool:
    """Its address confirmed: checks start. False if it was stopped meanwhile."""
    confirmed = TravelAlert.objects.filter(pk=alert.pk, stopped_at__isnull=True, confirmed_at__isnull=True)
    confirmed.update(confirmed_at=timezone.now())
    alert.refresh_from_db()
    return alert.stopped_at is None


def alert_stop(*, alert: TravelAlert) -> None:
    """No more checks, no more e-mails (once is enough: stopping again changes nothing)."""
    TravelAlert.objects.filter(pk=alert.pk, stopped_at__isnull=True).update(stopped_at=timezone.now())
    alert.refresh_from_db()


def alerts_forget(*, addresses: list[str]) -> int:
    """Delete the alerts set for these addresses (an account deleted); answers how many."""
    query = Q(pk__in=[])
    for address in addresses:
        query |= Q(email__iexact=address)
    return TravelAlert.objects.filter(query).delete()[0]


# --- checking them -------------------------------------------------------------------------------------------------


def alerts_check(*, now: dt.datetime | None = None, limit: int = BATCH) -> int:
    """Check a batch of live alerts not checked for CHECK_EVERY, each search they watch asked once; answers how many
    e-mails it queued. Alerts another check has taken are left to it."""
    now = now or timezone.now()
    due = TravelAlert.objects.filter(
        Q(checked_at__isnull=True) | Q(checked_at__lt=now - CHECK_EVERY),
        confirmed_at__isnull=False, stopped_at__isnull=True, ends_at__gt=now,
    ).order_by(F("checked_at").asc(nulls_first=True), "pk")  # fmt: skip
    with transaction.atomic():
        batch = list(due.select_for_update(skip_locked=True, of=("self",))[:limit])
        TravelAlert.objects.filter(pk__in=[alert.pk for alert in batch]).update(checked_at=now)
    by_search: dict[str, list[TravelAlert]] = {}
    for alert in batch:
        by_search.setdefault(json.dumps(alert.query, sort_keys=True), []).append(alert)
    told = 0
    for alerts in by_search.values():
        answer = leg_search(query=LegQuery.from_dict(alerts[0].query), counted=False)
        if any(status["status"] != "ok" for status in answer.get("operators", [])):
            continue  # an operator did not answer: nothing is known to have changed
        for alert in alerts:
            seen = _observe(alert.kind, answer, sailing_id=alert.sailing_id, below_minor=alert.below_minor,
                            currency=alert.currency)  # fmt: skip
            told += _record(alert.pk, seen, answer)
    return told


def _observe(kind: str, answer: dict, *, sailing_id: int | None, below_minor: int | None, currency: str) -> str:
    """What an alert sees in a search's answer: available / sold_out for a sailing, under:<price> / above for a
    limit (the lowest price the party can book)."""
    rows = answer["sailings"]
    if kind == TravelAlert.Kind.AVAILABILITY:
        found = [row for row in rows if row["sailing_id"] == sailing_id]
        return "available" if found and found[0]["availability"]["status"] in BOOKABLE else "sold_out"
    lowest = lowest_price([row for row in rows if row["availability"]["status"] in BOOKABLE])
    if lowest and lowest["currency"] == currency and lowest["amount_minor"] <= below_minor:
        return f"under:{lowest['amount_minor']}"
    return "above"


def _worth_telling(before: str, now: str) -> bool:
    """Places free again; a price falling to or under the limit, or further under it."""
    if now == "available":
        return before != "available"
    if now.startswith("under:"):
        return not before.startswith("under:") or int(now[6:]) < int(before[6:])
    return False


def _record(alert_id: int, seen: str, answer: dict) -> int:
    """Keep what the alert saw; e-mail the change once if it is worth telling. Answers 1 if an e-mail was queued."""
    with transaction.atomic():
        alert = TravelAlert.objects.select_for_update().get(pk=alert_id)
        if alert.state == seen or not alert.is_live:
            return 0
        tell = _worth_telling(alert.state, seen)
        alert.state = seen
        if tell:
            alert.changes += 1
        alert.save(update_fields=["state", "changes"])
        if tell:
            _enqueue(alert, Email.Kind.TRAVEL_ALERT, str(alert.changes), _news(alert, seen, answer))
    return int(tell)


def _news(alert: TravelAlert, seen: str, answer: dict) -> dict:
    """What the e-mail says of the change: the sailing, or the lowest price (no personal data)."""
    if alert.kind == TravelAlert.Kind.AVAILABILITY:
        row = next(row for row in answer["sailings"] if row["sailing_id"] == alert.sailing_id)
        return {"departs_local": row["departs_local"], "operator": row["operator"]["name"],
                "price": lowest_price([row])}  # fmt: skip
    return {"price": money(int(seen.removeprefix("under:")), alert.currency)}


def _enqueue(alert: TravelAlert, kind: str, occasion: str, details: dict) -> None:
    """The alert's e-mail for this occasion (confirm, or the change's number), queued once."""
    query = LegQuery.from_dict(alert.query)
    journey = _journey(query)
    facts = {
        "alert": alert.pk, "alert_kind": alert.kind, "from": journey["origin"], "to": journey["destination"],
        "date": query.day.isoformat(), "search_url": journey["search_url"],
        "below": money(alert.below_minor, alert.currency) if alert.below_minor else None,
    }  # fmt: skip
    email, created = Email.objects.get_or_create(
        booking=None, kind=kind, key=f"travel-alert:{alert.pk}:{occasion}", recipient=alert.email,
        defaults={"language": alert.language, "details": facts | details},
    )  # fmt: skip
    if created:
        EMAIL_TASKS[kind].delay_on_commit(email_id=email.pk)
