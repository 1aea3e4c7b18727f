"""The search form given anything at all (Hypothesis): whatever is typed, the results page answers with results or
with errors next to the fields — never a 5xx, never the markup sent back unescaped — and nothing is written."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse
from hypothesis import given

from ferries.tests.test_website import FIELDS
from maritime.tests.hostile import FORM_EXAMPLES, database_state, hostile_form

pytestmark = pytest.mark.django_db


@FORM_EXAMPLES
@given(values=hostile_form(FIELDS))
def test_any_values_in_the_search_form_are_answered_without_failing_or_writing(client, tunis_marseille, values):
    query = {"from": "TNTUN", "to": "FRMRS", "date": "2030-01-01", "vehicle": "car"} | values
    before = database_state()

    response = client.get(f"{reverse('sailing_results')}?{urlencode(query)}")

    assert response.status_code in (200, 400), values
    assert b"<script>alert(1)</script>" not in response.content
    assert b"<img src=x onerror=alert(1)>" not in response.content
    assert database_state() == before
