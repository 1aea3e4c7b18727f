"""The request's language (kernel.language.LanguageMiddleware): chosen as Django's LocaleMiddleware chooses it, with
no language read from the path while no address has one."""

import pytest
from django.http import HttpResponse
from django.urls import path
from django.utils import translation


def language(request):
    return HttpResponse(f"{translation.get_language()} {request.LANGUAGE_CODE}")


urlpatterns = [path("language", language)]


@pytest.fixture
def path_reads(monkeypatch):
    """How often a language is read from a path."""
    reads = []
    django_reads = translation.get_language_from_path
    monkeypatch.setattr(translation, "get_language_from_path", lambda *a, **k: reads.append(a) or django_reads(*a, **k))
    return reads


def test_the_site_uses_the_language_middleware_in_place_of_djangos(settings):
    assert "kernel.language.LanguageMiddleware" in settings.MIDDLEWARE
    assert "django.middleware.locale.LocaleMiddleware" not in settings.MIDDLEWARE


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("cookie", "accept_language", "chosen"),
    [
        (None, None, "en"),
        (None, "fr-FR,fr;q=0.9,en;q=0.5", "fr"),
        (None, "pt-BR, de;q=0.8", "de"),  # the first the site speaks
        ("ar", "fr", "ar"),  # the switcher's choice first
        ("xx", "it", "it"),  # a cookie naming no language of the site is passed over
    ],
)
def test_the_language_comes_from_the_cookie_then_accept_language(client, settings, cookie, accept_language, chosen):
    if cookie:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
    headers = {"HTTP_ACCEPT_LANGUAGE": accept_language} if accept_language else {}

    response = client.get("/language", **headers)

    assert response.content.decode() == f"{chosen} {chosen}"
    assert response["Content-Language"] == chosen
    assert "Accept-Language" in response["Vary"]


@pytest.mark.urls(__name__)
def test_no_language_is_read_from_the_path_of_a_site_without_prefixes(client, path_reads):
    assert client.get("/language", HTTP_ACCEPT_LANGUAGE="es").content == b"es es"
    assert path_reads == []


@pytest.mark.urls("maritime.tests.prefixed_urls")
def test_where_addresses_start_with_a_language_it_is_read_from_them_as_django_does(client, path_reads):
    response = client.get("/de/language", HTTP_ACCEPT_LANGUAGE="fr")

    assert response.content == b"de de"
    assert response["Content-Language"] == "de"
    assert path_reads  # Django's own reading
