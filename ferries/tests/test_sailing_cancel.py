"""Cancelling a sailing: off sale for good, at once in the search results, and only while it has not left."""

import datetime as dt

import pytest
from django.utils import timezone

from ferries.cache import cache_service
from ferries.models import Sailing
from ferries.queries import parse_search_query
from ferries.search import sailing_search
from ferries.selectors import sailing_availability
from ferries.services import SailingNotCancellable, sailing_cancel
from ferries.tests.factories import local_time, sailing_factory

pytestmark = pytest.mark.django_db


def search(days: int) -> list[int]:
    date = (timezone.now().date() + dt.timedelta(days=days)).isoformat()
    results = sailing_search(query=parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": date}))
    return [row["sailing_id"] for row in results["outbound"]]


@pytest.fixture
def sailing(tunis_marseille):
    return sailing_factory(route=tunis_marseille, departs_at=local_time(tunis_marseille, days=10, hour=12))


def test_a_scheduled_sailing_is_cancelled(sailing):
    cancellation = sailing_cancel(sailing_id=sailing.pk, reason="engine failure")

    assert cancellation.changed
    assert Sailing.objects.get(pk=sailing.pk).status == Sailing.Status.CANCELLED


def test_cancelling_again_changes_nothing(sailing):
    sailing_cancel(sailing_id=sailing.pk, reason="engine failure")

    again = sailing_cancel(sailing_id=sailing.pk, reason="engine failure")

    assert not again.changed
    assert again.sailing.status == Sailing.Status.CANCELLED


def test_a_sailing_that_has_left_cannot_be_cancelled(sailing):
    Sailing.objects.filter(pk=sailing.pk).update(status=Sailing.Status.DEPARTED)

    with pytest.raises(SailingNotCancellable, match=f"Sailing {sailing.ref} has departed and cannot be cancelled."):
        sailing_cancel(sailing_id=sailing.pk, reason="too late")
    assert Sailing.objects.get(pk=sailing.pk).status == Sailing.Status.DEPARTED


def test_a_cancelled_sailing_leaves_the_cached_search_results_at_once(
    sailing, tunis_marseille, django_capture_on_commit_callbacks
):
    # Further away than the nearby dates a day without sailings offers, whose searches count as lookups too.
    later = sailing_factory(route=tunis_marseille, departs_at=local_time(tunis_marseille, days=15, hour=12))
    assert search(10) == [sailing.pk]
    assert search(15) == [later.pk]
    cache_service.set_availability(sailing.pk, sailing_availability(sailing))

    with django_capture_on_commit_callbacks(execute=True):
        sailing_cancel(sailing_id=sailing.pk, reason="engine failure")

    assert search(10) == []
    assert cache_service.get_availability(sailing.pk) is None
    assert cache_service.stats()["search"]["hits"] == 0
    assert search(15) == [later.pk]
    assert cache_service.stats()["search"]["hits"] == 1, "the other day's search stayed cached"
