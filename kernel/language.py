"""The request's language, for a site whose addresses carry none (no `i18n_patterns`): from the language cookie, then
Accept-Language, as Django's LocaleMiddleware chooses it.

Django's middleware also reads a language from the path, twice a request, for sites whose addresses start with one;
an address that starts with a word that is no language ("/api/…", "/livez") is looked up and refused each time (a
LookupError the lookup's cache does not keep): 5–9 µs of a request answered from the cache (220–235 µs) in one
process. Here that reading is left out while the URLconf has no language prefix; with one, Django's middleware does
it all.
"""

from django.conf import settings
from django.conf.urls.i18n import is_language_prefix_patterns_used
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_vary_headers


def _prefixed(request) -> bool:
    """Whether the request's URLconf gives languages a prefix (Django remembers the answer per URLconf)."""
    return is_language_prefix_patterns_used(getattr(request, "urlconf", settings.ROOT_URLCONF))[0]


class LanguageMiddleware(LocaleMiddleware):
    """LocaleMiddleware with no reading of the path where no address has a language in it."""

    def process_request(self, request):
        if _prefixed(request):
            return super().process_request(request)
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()
        return None

    def process_response(self, request, response):
        if _prefixed(request):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response
