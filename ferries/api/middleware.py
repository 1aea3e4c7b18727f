"""A kept answer sent before the layers of the request cycle that it needs nothing of.

The search API's busiest requests are answers kept whole as sent (`KeptAnswerApi`): a GET in plain JSON that reads
no session, user, CSRF token or message. Through the whole cycle such a request also went through the session, CSRF,
authentication, messages and account layers and the URLconf's resolving, which cost it about as much as finding and
sending its answer did.

Placed after the security and static-file layers, this middleware answers such a request with the view's own
`kept_response`, running only the later layers that have a part in that response — their own request and response
methods, in the cycle's order: the language read from the request and said in the response, its length, its
X-Frame-Options, its count and latency by view — so the response is the one the whole cycle sends (an error raised on
the way too: the layers told of it, its response made as the cycle makes it). Anything else (a miss, a refusal, an
error in the query, another format) goes on through the cycle with what was done on the way (the query read, the
answer looked up, the rate limits decided): nothing is asked or counted twice.

With a layer after it that it does not know (`LATER`), it steps aside for good: what that layer would do to the
response would not be done.
"""

import logging

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import ResolverMatch, RoutePattern
from django.utils.module_loading import import_string

from ferries.api.views import KeptAnswerApi

logger = logging.getLogger(__name__)

# The layers this one may come before: True for those with a part in a kept answer's response (run here), False for
# those with none (a GET that reads no session, user or message, to a view exempt from CSRF, answered 200).
LATER = {
    "django.contrib.sessions.middleware.SessionMiddleware": False,
    "kernel.language.LanguageMiddleware": True,
    "django.middleware.locale.LocaleMiddleware": True,
    "django.middleware.common.CommonMiddleware": True,
    "django.middleware.csrf.CsrfViewMiddleware": False,
    "django.contrib.auth.middleware.AuthenticationMiddleware": False,
    "django.contrib.messages.middleware.MessageMiddleware": False,
    "kernel.messages.LazyMessageMiddleware": False,
    "django.middleware.clickjacking.XFrameOptionsMiddleware": True,
    "allauth.account.middleware.AccountMiddleware": False,  # acts on 404s under its own addresses only
    "kernel.request_metrics.ViewMetricsMiddleware": True,
}


class KeptAnswerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        names = settings.MIDDLEWARE
        later = names[names.index(f"{__name__}.{type(self).__name__}") + 1 :]
        unknown = [name for name in later if name not in LATER]
        if unknown:
            logger.warning("kept answers take the whole request cycle: %s comes after %s", unknown, __name__)
        # CommonMiddleware refuses those user agents by raising, which the whole cycle turns into its 403.
        self.on = not unknown and not settings.DISALLOWED_USER_AGENTS
        # Made as the handler makes them; only their request and response methods are called.
        self.layers = [import_string(name)(get_response) for name in later if LATER.get(name)]
        self._routes: dict[str, tuple[type[KeptAnswerApi], ResolverMatch]] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        route = self.routes().get(request.path_info) if self.on and request.method == "GET" else None
        if route is not None:
            response = self._kept(request, *route)
            if response is not None:
                return response
        return self.get_response(request)

    def _kept(self, request: HttpRequest, view_class: type[KeptAnswerApi], match: ResolverMatch):
        for layer in self.layers:
            if hasattr(layer, "process_request") and layer.process_request(request) is not None:
                return None  # a layer answers it itself (a refused user agent, say): the whole cycle will
        request.resolver_match = match
        try:
            response = view_class.kept_response(request)
        except Exception as exc:
            # As the whole cycle does with a view's: the layers told, the last first; the error's response made.
            for layer in reversed(self.layers):
                if hasattr(layer, "process_exception") and (response := layer.process_exception(request, exc)):
                    break
            else:
                response = response_for_exception(request, exc)
        if response is None:
            return None
        for layer in reversed(self.layers):
            response = layer.process_response(request, response)
        return response

    def routes(self) -> dict[str, tuple[type[KeptAnswerApi], ResolverMatch]]:
        """{path: (view class, its match)} of the URLconf's addresses served by a `KeptAnswerApi` with no part to
        convert, each checked to resolve to its view (found once a process)."""
        if self._routes is None:
            found = {}
            for path, view_class in _kept_answer_paths(get_resolver().url_patterns, "/"):
                match = resolve(path)
                if getattr(match.func, "view_class", None) is view_class:
                    found[path] = (view_class, match)
            self._routes = found
        return self._routes


def _kept_answer_paths(patterns, prefix: str):
    for pattern in patterns:
        if not isinstance(pattern.pattern, RoutePattern) or pattern.pattern.converters:
            continue
        path = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _kept_answer_paths(pattern.url_patterns, path)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if isinstance(view_class, type) and issubclass(view_class, KeptAnswerApi):
                yield path, view_class
