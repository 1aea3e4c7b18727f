"""The site-wide forms given anything at all (Hypothesis): the language switch and the admin's sign-in (Django's
own). Never a 5xx, never a redirect off the site, nobody signed in, nothing written."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from hypothesis import given

from maritime.tests.hostile import FORM_EXAMPLES, database_state, hostile_form

pytestmark = pytest.mark.django_db


@FORM_EXAMPLES
@given(values=hostile_form(["language", "next"]))
def test_any_values_in_the_language_switch_stay_on_the_site_and_write_nothing(client, values):
    before = database_state()

    response = client.post("/i18n/setlang/", values, HTTP_REFERER="https://elsewhere.example/")

    assert response.status_code == 302, values
    target = urlsplit(response["Location"])
    assert (target.scheme, target.netloc) == ("", ""), f"redirected off the site: {response['Location']!r}"
    assert not response["Location"].startswith(("//", "/\\", "\\")), "a browser would leave the site"
    language = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
    assert language is None or language.value in dict(settings.LANGUAGES)
    assert database_state() == before


@FORM_EXAMPLES
@given(values=hostile_form(["username", "password", "next"]))
def test_any_values_in_the_admin_sign_in_sign_nobody_in_and_write_nothing(client, values):
    User.objects.get_or_create(username="admin", defaults={"is_staff": True, "is_superuser": True})
    before = database_state()

    response = client.post("/admin/login/", values)

    assert response.status_code == 200, values
    assert "_auth_user_id" not in client.session
    assert database_state() == before
