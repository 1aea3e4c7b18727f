"""The Content-Security-Policy, set on every response by django-csp: the policy is `CONTENT_SECURITY_POLICY` in
settings (the site's own static files only), a view that needs more says so with django-csp's decorators (the
Stripe checkout, payments/views.py).

Here is only what django-csp cannot say with a decorator, for views that are not ours: the admin allows inline
styles (its status badges, and the e-mails it shows as sent, whose styles are inline as e-mails need them), never
inline scripts; DRF's browsable API (development only) is built on inline scripts and styles.

django-csp builds the header anew for every response (66 µs of the 0.4 ms a bare request takes here, measured):
the handful of policies we send are built once each and kept. We use neither nonces nor a report-only policy.
"""

import functools

from csp.constants import UNSAFE_INLINE
from csp.middleware import HEADER, CSPMiddleware, PolicyParts
from csp.utils import build_policy
from django.conf import settings
from rest_framework.renderers import BrowsableAPIRenderer

ADMIN = {"style-src": [UNSAFE_INLINE]}
BROWSABLE_API = {"script-src": [UNSAFE_INLINE], "style-src": [UNSAFE_INLINE]}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.namespace == "admin":
            parts.update = ADMIN
        if isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
            parts.update = BROWSABLE_API
        return parts

    def process_response(self, request, response):
        if response.status_code in (404, 500) and settings.DEBUG:
            return response  # as django-csp: Django's debug pages need inline scripts
        if HEADER not in response and not getattr(response, "_csp_exempt", False):
            parts = self.get_policy_parts(request, response)
            config = parts.config or settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
            response[HEADER] = _policy(_frozen(config), _frozen(parts.update), _frozen(parts.replace))
        return response


def _frozen(directives: dict | None) -> tuple | None:
    """The directives as a key: (name, (sources…)) pairs."""
    if directives is None:
        return None
    return tuple((name, _sources(value, tuple)) for name, value in directives.items())


def _sources(value, kind):
    return value if isinstance(value, bool) or value is None else kind(value)


@functools.lru_cache(maxsize=32)
def _policy(config: tuple, update: tuple | None, replace: tuple | None) -> str:
    def thawed(frozen: tuple | None) -> dict | None:
        return None if frozen is None else {name: _sources(value, list) for name, value in frozen}

    return build_policy(config=thawed(config), update=thawed(update), replace=thawed(replace))
