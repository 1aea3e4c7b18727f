"""A URLconf whose addresses start with their language, for kernel.language's tests."""

from django.conf.urls.i18n import i18n_patterns

from maritime.tests.test_language import urlpatterns as unprefixed

urlpatterns = i18n_patterns(*unprefixed)
