"""The Content-Security-Policy: what a page of ours may load and run. The site needs nothing but its own static
files, so that is all a page may use: no inline script or style, no other origin, no frames, no plugins, forms
posting to us only, and no site may frame ours. The Stripe checkout widens it for its own page (Stripe.js and
its frames, `allow_stripe`); the admin allows inline styles (its status badges, and the e-mails it shows as
sent, whose styles are inline as e-mails need them), never inline scripts; DRF's browsable API (development
only) is built on inline scripts and styles.

Set on every response, JSON included: an answer opened as a page is held to the same policy.
"""

from django.http import HttpResponse
from rest_framework.renderers import BrowsableAPIRenderer

POLICY = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "frame-src": ("'none'",),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}
# What Stripe documents for Stripe.js and its Payment Element: the script, its frames and its API.
STRIPE = {
    "script-src": ("https://js.stripe.com",),
    "frame-src": ("https://js.stripe.com", "https://hooks.stripe.com"),
    "connect-src": ("https://api.stripe.com",),
}
ADMIN = {"style-src": ("'unsafe-inline'",)}
BROWSABLE_API = {"script-src": ("'unsafe-inline'",), "style-src": ("'unsafe-inline'",)}


def allow_stripe(response: HttpResponse) -> HttpResponse:
    """This response's page loads Stripe.js (the checkout)."""
    response.csp_sources = STRIPE
    return response


def content_security_policy(extra: dict[str, tuple[str, ...]] | None = None) -> str:
    directives = dict(POLICY)
    for name, sources in (extra or {}).items():
        directives[name] = tuple(source for source in directives.get(name, ()) if source != "'none'") + sources
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        extra = getattr(response, "csp_sources", None)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.namespace == "admin":
            extra = ADMIN
        if isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer):
            extra = BROWSABLE_API
        response.headers.setdefault("Content-Security-Policy", content_security_policy(extra))
        return response
