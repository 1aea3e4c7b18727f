"""Request counts and latency by view for Prometheus: django-prometheus's pair of middleware, recording what the
dashboard and the alert rules read (deploy/) and nothing they do not.

django-prometheus's after-middleware updates up to eleven families on every request — requests by method, by
transport, by view and transport; the body sizes of request and response as histograms; responses by status, by
charset, by template, streaming — each through `labels()`, which checks its arguments and takes a lock. That was about
a fifth of the time a cached answer spends in its process (95 of 510 µs, measured with and without it, alternating).
What is read of it is two families: responses by status, view and method (request rates, the 5xx alert), and latency
by view and method (the dashboard's percentiles). Those are kept, with the exceptions by type and by view (a request
that raised) and the before-middleware pair (requests in, and latency including all middleware): families are
registered only if kept, so /metrics declares none that would never move. A series' child is looked up once per
process and kept (its labels are bounded: statuses, the URLconf's view names, nine methods).
"""

from django_prometheus.middleware import Metrics, PrometheusAfterMiddleware, PrometheusBeforeMiddleware
from django_prometheus.utils import Time, TimeSince

KEPT = frozenset(
    {
        "django_http_requests_before_middlewares_total",
        "django_http_responses_before_middlewares_total",
        "django_http_requests_latency_including_middlewares_seconds",
        "django_http_requests_unknown_latency_including_middlewares_total",
        "django_http_responses_total_by_status_view_method",
        "django_http_requests_latency_seconds_by_view_method",
        "django_http_requests_unknown_latency_total",
        "django_http_exceptions_total_by_type",
        "django_http_exceptions_total_by_view",
    }
)


class RequestMetrics(Metrics):
    """django-prometheus's families (names, help, buckets as it defines them), the kept ones only."""

    _instance = None  # this class's own, not the one django-prometheus's classes would share

    def register_metric(self, metric_cls, name, documentation, labelnames=(), **kwargs):
        if name not in KEPT:
            return None
        return super().register_metric(metric_cls, name, documentation, labelnames=labelnames, **kwargs)


class RequestsInMiddleware(PrometheusBeforeMiddleware):
    """First of the middleware: requests in and out, and their latency with every middleware's time."""

    metrics_cls = RequestMetrics


class ViewMetricsMiddleware(PrometheusAfterMiddleware):
    """Last of the middleware: responses by status, view and method, and latency by view and method."""

    metrics_cls = RequestMetrics

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._responses: dict[tuple[str, str, str], object] = {}
        self._latencies: dict[tuple[str, str], object] = {}

    def process_request(self, request):
        request.prometheus_after_middleware_event = Time()

    def process_view(self, request, view_func, *view_args, **view_kwargs):
        return None

    def process_template_response(self, request, response):
        return response

    def process_response(self, request, response):
        view, method = self._get_view_name(request), self._method(request)
        status = str(response.status_code)
        _child(self._responses, self.metrics.responses_by_status_view_method, (status, view, method)).inc()
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is None:  # a middleware before this one answered, or raised
            self.metrics.requests_unknown_latency.inc()
            return response
        _child(self._latencies, self.metrics.requests_latency_by_view_method, (view, method)).observe(
            TimeSince(started)
        )
        return response

    def process_exception(self, request, exception):
        # Counted here; its latency and status are the 500 response's, which comes back through process_response.
        self.metrics.exceptions_by_type.labels(type(exception).__name__).inc()
        match = getattr(request, "resolver_match", None)
        if match is not None:
            self.metrics.exceptions_by_view.labels(match.view_name or "<unnamed view>").inc()


def _child(children: dict, metric, labels: tuple[str, ...]):
    """The series of `metric` for `labels`, looked up once a process and kept in `children`."""
    child = children.get(labels)
    if child is None:
        child = children.setdefault(labels, metric.labels(*labels))
    return child
