"""The Content-Security-Policy, set on every response by django-csp: the policy is `CONTENT_SECURITY_POLICY` in
settings (the site's own static files only), a view that needs more says so with django-csp's decorators (the
Stripe checkout, payments/views.py).

Here is only what django-csp cannot say with a decorator, for views that are not ours: the admin allows inline
styles (its status badges, and the e-mails it shows as sent, whose styles are inline as e-mails need them), never
inline scripts; DRF's browsable API (development only) is built on inline scripts and styles.
"""

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
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
