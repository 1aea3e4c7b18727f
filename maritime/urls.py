from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from maritime import views

admin.site.site_header = "Maritime administration"
admin.site.site_title = "Maritime admin"
admin.site.index_title = "Operations"
# The admin's home page leads to the operations page, periodic tasks and task results.
admin.site.index_template = "admin/maritime/index.html"

urlpatterns = [
    # First: the API serves the most requests (the searches of the mobile apps), and its prefix is nobody else's,
    # so they are resolved before the website's patterns are tried.
    path("api/v1/", include("maritime.api_urls")),
    path("", include("ferries.urls")),
    path("", include("bookings.urls")),
    path("", include("payments.urls")),
    path("", include("notifications.urls")),
    path("", include("accounts.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Before admin/, whose own patterns would take "operations/" for an app's page. Staff only, as the admin.
    path("admin/operations/", admin.site.admin_view(views.operations), name="admin-operations"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's set-up script served from this address too (?script) and its styles from a file: the CSP allows
    # nothing inline.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="maritime/api_docs.html"),
        name="api-docs",
    ),
]
