"""allauth made Maritime's: its e-mails go through the outbox (the request answers at once, a lost message is
swept up), and signed-in travellers land on their trips."""

from types import SimpleNamespace

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.models import Email
from notifications.services import email_enqueue_written


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context_: dict) -> None:
        request = context.request
        site = SimpleNamespace(name="Maritime", domain=settings.SITE_URL.split("://", 1)[-1])
        message = self.render_mail(template_prefix, email, {"request": request, "email": email,
                                                             "current_site": site, **context_})  # fmt: skip
        html = next((body for body, kind in getattr(message, "alternatives", []) if kind == "text/html"), "")
        email_enqueue_written(
            kind=Email.Kind.ACCOUNT,
            recipient=email,
            subject=message.subject,
            text=message.body,
            html=html,
            language=translation.get_language() or settings.LANGUAGE_CODE,
            details={"template": template_prefix.rpartition("/")[2]},
        )

    def get_from_email(self) -> str:
        return settings.DEFAULT_FROM_EMAIL

    def format_email_subject(self, subject: str) -> str:
        return _("Maritime · %(subject)s") % {"subject": subject}
