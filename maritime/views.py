from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from maritime import charts
from maritime.health import health_report
from maritime.operations import QUEUES, SAMPLE_HOURS, figures_read, queue_samples, tasks_per_hour


@require_GET
@never_cache
def livez(request: HttpRequest) -> JsonResponse:
    """Liveness: this process answers requests. Nothing else is asked, so a database or Redis outage never makes
    a load balancer restart healthy web processes (that is for /healthz, the readiness check)."""
    return JsonResponse({"status": "alive"})


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every part is up; 503 naming the failing parts otherwise."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


@require_GET
def operations(request: HttpRequest) -> TemplateResponse:
    """Staff only (wrapped in admin.site.admin_view in maritime/urls.py): the site's figures, the last hours of
    tasks and queues, the alert thresholds, and the way to periodic tasks and task results."""
    now = timezone.now()
    context = {
        **admin.site.each_context(request),
        "title": "Operations",
        "figures": figures_read(now=now),
        "tasks_chart": charts.task_bars(tasks_per_hour(now=now, hours=SAMPLE_HOURS)),
        "queue_chart": charts.queue_sparklines(
            queue_samples(now=now.timestamp()), QUEUES, now=now.timestamp(), hours=SAMPLE_HOURS
        ),
        "hours": SAMPLE_HOURS,
        "thresholds": {
            "queue_backlog": settings.ALERT_QUEUE_BACKLOG,
            "failed_tasks_per_hour": settings.ALERT_FAILED_TASKS_PER_HOUR,
            "email_age_minutes": settings.ALERT_EMAIL_AGE_MINUTES,
            "webhook_age_minutes": settings.ALERT_WEBHOOK_AGE_MINUTES,
        },
        "admins": len(settings.ADMINS),
    }
    return TemplateResponse(request, "admin/maritime/operations.html", context)
