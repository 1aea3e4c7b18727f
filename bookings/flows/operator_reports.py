"""Operators reached over their API report their sailings' times and cancellations: asked (beat, every 5 minutes, well
within the 30 minutes Regulation (EU) No 1177/2010 allows for telling passengers) about the sailings we have
travellers on from 6 hours ago to 2 days ahead. A new time is acted on as staff's would be (`sailing_retimed`: the
travellers e-mailed, the choice offered beyond 90 minutes late, compensation proposed), a cancellation too
(`sailing_cancelled`). Our own inventory's sailings change only in our admin."""

import datetime as dt
import logging

from django.utils import timezone

from bookings import selectors
from bookings.flows.disruption import sailing_retimed
from bookings.flows.sailing_cancellation import sailing_cancelled
from ferries.errors import OperatorError
from ferries.models import Operator
from ferries.operators import adapter_for
from ferries.services import SailingNotCancellable, SailingNotRetimable

logger = logging.getLogger(__name__)
BEHIND, AHEAD = dt.timedelta(hours=6), dt.timedelta(days=2)
REASON = "reported by the operator"


def operator_sailings_poll(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Ask every remote operator about its sailings with travellers; answers how many were retimed and cancelled."""
    now = now or timezone.now()
    outcome = {"retimed": 0, "cancelled": 0}
    for operator in Operator.objects.filter(active=True).order_by("code"):
        adapter = adapter_for(operator)
        if not adapter.is_remote:
            continue
        soon = selectors.sailings_with_travellers(operator_id=operator.pk, start=now - BEHIND, end=now + AHEAD)
        sailings = {sailing.ref: sailing for sailing in soon}
        if not sailings:
            continue
        try:
            reported = adapter.sailing_times(list(sailings))
        except OperatorError as exc:
            logger.warning("operator %s: sailing times not read: %s", operator.code, exc)
            continue
        for ref, times in reported.items():
            sailing = sailings.get(ref)
            if sailing is None:
                continue
            try:
                if times.cancelled:
                    sailing_cancelled(sailing_id=sailing.pk, reason=REASON, actor="operator")
                    outcome["cancelled"] += 1
                elif (times.departs_at, times.arrives_at) != (sailing.departs_at, sailing.arrives_at):
                    sailing_retimed(sailing_id=sailing.pk, departs_at=times.departs_at, arrives_at=times.arrives_at,
                                    reason=REASON, actor="operator")  # fmt: skip
                    outcome["retimed"] += 1
            except (SailingNotCancellable, SailingNotRetimable) as refusal:
                logger.warning("operator %s: %s not updated: %s", operator.code, ref, refusal)
    return outcome
