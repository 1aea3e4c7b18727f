from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.services import InvalidWebhook, webhook_receive


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
