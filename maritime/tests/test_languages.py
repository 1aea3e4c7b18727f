"""Choosing the language: the first guess from Accept-Language, the switcher that keeps the page and remembers the
choice, and the API's messages in the request's language. (The pages themselves, in every language: the browser
journey of test_browser_accessibility.py; e-mails and PDFs: notifications/tests/test_languages.py.)"""

from html.parser import HTMLParser

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client

from maritime.tests.languages import LANGUAGES, OTHER_LANGUAGES, english_left

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


# --- pages beyond the booking journey: no English left on them either --------------------------------------------

ANONYMOUS_PAGES = [
    "/",
    "/manage",
    "/sailings/search?from=TNTUN&to=TNTUN&date=2020-01-01&adults=0",  # every error of the search form
    "/accounts/login/",
    "/accounts/signup/",
    "/accounts/password/reset/",
    "/no-such-page",
]
SIGNED_IN_PAGES = [
    "/accounts/",
    "/accounts/trips",
    "/accounts/travellers/new",
    "/accounts/vehicles/new",
    "/accounts/claim",
    "/accounts/privacy",
    "/accounts/email/",
    "/accounts/password/change/",
]


class ShownText(HTMLParser):
    """The text of a page as a traveller meets it: text outside scripts and styles, and the words given to controls."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("script", "style", "template"):
            self.skipping += 1
        for name in ("aria-label", "placeholder", "title", "alt"):
            if attributes.get(name):
                self.texts.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.texts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template"):
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.texts.append(data)


def shown_text(html: str) -> list[str]:
    parser = ShownText()
    parser.feed(html)
    return parser.texts


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_english_is_left_on_the_sign_in_account_and_error_pages(language):
    anonymous, signed_in = Client(), Client()
    user = get_user_model().objects.create_user("amira", email="amira@example.com", password="a long sea passphrase")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    signed_in.force_login(user)
    left = {}
    for client, paths in ((anonymous, ANONYMOUS_PAGES), (signed_in, SIGNED_IN_PAGES)):
        for path in paths:
            response = client.get(path, headers={"accept-language": language})
            assert response.status_code in (200, 400, 404), path
            assert f'lang="{language}"' in html_tag(response), path
            english = english_left(language, shown_text(response.content.decode()))
            if english:
                left[path] = english

    assert left == {}


# --- the catalogue check of `make lint` ------------------------------------------------------------------------

BAD_CATALOGUE = r"""msgid ""
msgstr ""
"Language: fr\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\n"

msgid "Sold out"
msgstr "Complet"

msgid "Untranslated"
msgstr ""

#, fuzzy
msgid "A guess"
msgstr "Une supposition"

#, python-format
msgid "Pay %(amount)s"
msgstr "Payer %(montant)s"

msgid "<strong>Held</strong>"
msgstr "Retenue"

#, python-format
msgid "%(count)d place"
msgid_plural "%(count)d places"
msgstr[0] "une place"
msgstr[1] "places"
"""


def test_the_catalogue_check_names_every_entry_untranslated_fuzzy_or_with_its_placeholders_changed(settings, tmp_path):
    from maritime.management.commands.catalogues import catalogue_problems

    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "fr" / "LC_MESSAGES" / "django.po").write_text(BAD_CATALOGUE)
    settings.LOCALE_PATHS = [tmp_path]

    problems = "\n".join(catalogue_problems("fr"))

    assert "untranslated: 'Untranslated'" in problems
    assert "fuzzy: 'A guess'" in problems
    assert "placeholders ['%(montant)s'] instead of ['%(amount)s']" in problems
    assert "HTML tags [] instead of ['</strong>', '<strong>']" in problems
    assert "'%(count)d place'" in problems  # the last plural form lost the number
    assert "Sold out" not in problems
    assert len(catalogue_problems("fr")) == 5


@pytest.mark.parametrize(
    ("line", "hidden"),
    [
        ("""    title = f"{_('E-ticket')} {booking.reference}\"""", True),
        ("""    text = f'{gettext("Date")}: {issued}'""", True),
        ("""    title = _("E-ticket")""", False),
        ("""    text = f"{title}: {booking.reference}\"""", False),
    ],
)
def test_the_catalogue_check_finds_strings_to_translate_hidden_in_f_strings(line, hidden):
    from maritime.management.commands.catalogues import HIDDEN_CALL

    assert bool(HIDDEN_CALL.search(line)) is hidden
