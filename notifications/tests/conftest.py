import pytest

from conftest import free_port
from notifications.tests.smtp_sink import SmtpSink


@pytest.fixture
def smtp_sink(settings):
    """Django sends through real SMTP to a sink of the test's own."""
    sink = SmtpSink(free_port()).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()
