"""Choosing the language: the first guess from Accept-Language, the switcher that keeps the page and remembers the
choice, and the API's messages in the request's language. (The pages themselves, in every language: the browser
journey of test_browser_accessibility.py; e-mails and PDFs: notifications/tests/test_languages.py.)"""

import pytest
from django.test import Client

from maritime.tests.languages import LANGUAGES

pytestmark = pytest.mark.django_db

SEARCH = "/sailings/search?from=TNTUN&to=FRMRS&date=2030-07-01&adults=2"
# Three bad fields in one API search: each named, each message in the request's language.
BAD_SEARCH = "/api/v1/sailings/search?from=TNTUN&to=TNTUN&date=2020-01-01&adults=0"
SAME_PORT = {
    "en": "Choose a destination different from the departure port.",
    "fr": "Choisissez une destination différente du port de départ.",
    "ar": "اختاروا وجهة مختلفة عن ميناء المغادرة.",
    "it": "Scelga una destinazione diversa dal porto di partenza.",
    "es": "Elija un destino distinto del puerto de salida.",
    "de": "Wählen Sie ein anderes Ziel als den Abfahrtshafen.",
}


def html_tag(response) -> str:
    return response.content.decode().split("<html", 1)[1].split(">", 1)[0]


@pytest.mark.parametrize(
    ("accept", "language"),
    [
        ("de-DE,de;q=0.9,en;q=0.5", "de"),
        ("ar-TN,ar;q=0.9,fr;q=0.8", "ar"),
        ("es-ES", "es"),
        ("it-IT,it;q=0.9", "it"),
        ("fr-FR,fr;q=0.9", "fr"),
        ("pt-BR,pt;q=0.9", "en"),  # not one of ours: English
    ],
)
def test_the_first_visit_follows_the_browsers_languages(accept, language):
    response = Client().get("/", headers={"accept-language": accept})

    direction = "rtl" if language == "ar" else "ltr"
    assert f'lang="{language}" dir="{direction}"' in html_tag(response)
    assert response.headers["Content-Language"] == language


def test_the_switcher_keeps_the_page_and_remembers_the_choice_for_a_year():
    client = Client(enforce_csrf_checks=True)
    client.get(SEARCH)  # the page the switcher is on, and its CSRF cookie
    token = client.cookies["csrftoken"].value

    switched = client.post("/i18n/setlang/", {"language": "ar", "next": SEARCH, "csrfmiddlewaretoken": token})

    assert switched.status_code == 302
    assert switched.headers["Location"] == SEARCH
    cookie = switched.cookies["django_language"]
    assert cookie.value == "ar"
    assert cookie["max-age"] == 365 * 24 * 3600
    # Remembered over the browser's own languages, on every later page.
    later = client.get("/", headers={"accept-language": "de-DE,de;q=0.9"})
    assert 'lang="ar" dir="rtl"' in html_tag(later)


def test_the_switcher_lists_every_language_in_itself_on_every_page():
    page = Client().get("/", headers={"accept-language": "de"}).content.decode()

    for code, name in (("en", "English"), ("fr", "Français"), ("ar", "العربية"), ("it", "Italiano"),
                       ("es", "Español"), ("de", "Deutsch")):  # fmt: skip
        assert f'<option value="{code}" lang="{code}"' in page
        assert f">{name}</option>" in page


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_apis_messages_are_in_the_requests_language(language):
    response = Client().get(BAD_SEARCH, headers={"accept-language": language})

    assert response.status_code == 400
    assert response.headers["Content-Language"] == language
    errors = response.json()
    assert set(errors) == {"date", "to", "adults"}
    assert errors["to"] == [SAME_PORT[language]]


def test_every_language_is_expected_here():
    assert sorted(SAME_PORT) == sorted(LANGUAGES)
