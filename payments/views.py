"""Paying for a booking on the website, and Stripe's webhook endpoint."""

import logging

from csp.constants import SELF
from csp.decorators import csp_replace
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from bookings.change_requests import ChangeRefused
from bookings.flows import changing, checkout
from bookings.models import Booking
from bookings.selectors import booking_for_browser
from bookings.services import PaymentNotAllowed
from bookings.views.changes import made_message
from payments.demo import TEST_CARDS, demo_card_check, demo_deliver, demo_expiry, demo_pay
from payments.models import INTENT_ID, Payment
from payments.providers import payment_provider
from payments.tasks import reconcile_payment_task
from payments.webhooks import InvalidWebhook, webhook_receive

logger = logging.getLogger(__name__)

# What Stripe documents for Stripe.js and its Payment Element: the script, its frames and its API. Allowed on the
# checkout's page only, and only when Stripe takes the payment.
STRIPE_SOURCES = {
    "script-src": [SELF, "https://js.stripe.com"],
    "frame-src": ["https://js.stripe.com", "https://hooks.stripe.com"],
    "connect-src": [SELF, "https://api.stripe.com"],
}
render_with_stripe = csp_replace(STRIPE_SOURCES)(render)


# Stripe signs its requests instead of carrying our CSRF token: this one view is exempt.
@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> JsonResponse:
    """Verify, store once, enqueue processing on the payments queue, answer at once."""
    try:
        event, created = webhook_receive(payload=request.body, signature=request.headers.get("Stripe-Signature", ""))
    except InvalidWebhook as exc:
        return JsonResponse({"error": f"Invalid Stripe webhook: {exc}."}, status=400)
    return JsonResponse({"received": event.event_id, "duplicate": not created})


def _booking_or_404(request: HttpRequest, reference: str) -> Booking:
    booking = booking_for_browser(reference=reference, session=request.session, user=request.user)
    if booking is None:
        raise Http404
    return booking


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def booking_pay(request: HttpRequest, reference: str) -> HttpResponse:
    """The checkout: Stripe's card form (Elements), or the demo card form on a machine without Stripe keys."""
    booking = _booking_or_404(request, reference)
    try:
        payment = checkout.payment_start(booking_id=booking.pk)
    except PaymentNotAllowed as refusal:
        messages.error(request, str(refusal))
        return redirect("booking_detail", reference=booking.reference)
    return _checkout(request, booking, payment, again=reverse("booking_pay", args=[booking.reference]))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def change_pay(request: HttpRequest, reference: str, number: int) -> HttpResponse:
    """The checkout of what a change of the booking costs."""
    booking = _booking_or_404(request, reference)
    change = booking.changes.filter(number=number).first()
    if change is None:
        raise Http404
    try:
        payment = changing.change_payment_open(change=change)
    except ChangeRefused as refusal:
        messages.error(request, refusal.message)
        return redirect("booking_detail", reference=booking.reference)
    again = reverse("booking_change_pay", args=[booking.reference, change.number])
    return _checkout(request, booking, payment, again=again, change=change)


def _checkout(request: HttpRequest, booking: Booking, payment: Payment, *, again: str, change=None) -> HttpResponse:
    if request.method == "POST":
        return _demo_card(request, booking, payment, again=again, change=change)
    provider = payment_provider()
    page = render_with_stripe if provider.name == Payment.Provider.STRIPE else render
    return page(
        request,
        "payments/pay.html",
        {
            "booking": booking,
            "change": change,
            "payment": payment,
            "provider": provider.name,
            "publishable_key": provider.publishable_key,
            "return_url": request.build_absolute_uri(reverse("booking_pay_done", args=[booking.reference])),
            "test_cards": TEST_CARDS,
        },
    )


def _demo_card(request: HttpRequest, booking: Booking, payment: Payment, *, again: str, change) -> HttpResponse:
    """The demo provider plays Stripe: the card's outcome arrives as a signed webhook, as in production."""
    if payment.provider != Payment.Provider.DEMO:
        raise Http404
    month, year = demo_expiry(request.POST.get("expiry", ""))
    try:
        card = demo_card_check(
            number=request.POST.get("card_number", ""), exp_month=month, exp_year=year, cvc=request.POST.get("cvc", "")
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(again)
    payload, signature = demo_pay(intent_id=payment.intent_id, card=card)
    url = request.build_absolute_uri(reverse("stripe-webhook"))
    if not demo_deliver(url=url, payload=payload, signature=signature):
        webhook_receive(payload=payload.encode(), signature=signature)  # the same endpoint's code, in-process
    payment.refresh_from_db()
    if payment.status == Payment.Status.FAILED:
        messages.error(request, payment.last_error or _("The payment did not go through."))
        return redirect(again)
    if change is not None:
        change.refresh_from_db()
        messages.success(request, made_message(change))
    else:
        messages.success(request, _("Thank you: your payment was received."))
    return redirect("booking_detail", reference=booking.reference)


@never_cache
def booking_pay_done(request: HttpRequest, reference: str) -> HttpResponse:
    """Where Stripe sends the traveller back: ask Stripe at once rather than wait for the webhook."""
    booking = _booking_or_404(request, reference)
    intent_id = request.GET.get("payment_intent", "")
    payment = booking.payments.filter(intent_id=intent_id).first() if INTENT_ID.fullmatch(intent_id) else None
    if payment:
        reconcile_payment_task.delay_on_commit(payment_id=payment.pk)
    if request.GET.get("redirect_status") == "failed":
        messages.error(request, _("The payment did not go through; you can try another card."))
        if payment and payment.change_id:
            return redirect("booking_change_pay", reference=booking.reference, number=payment.change.number)
        return redirect("booking_pay", reference=booking.reference)
    return redirect("booking_detail", reference=booking.reference)
