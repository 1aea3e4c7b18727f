import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from kernel import process

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maritime.settings")

application = get_wsgi_application()
# The URLconf and the views it imports loaded now rather than by the first request, then left out of the process's
# garbage collections with everything loaded so far (kernel.process.heap_frozen).
get_resolver().url_patterns  # noqa: B018
process.heap_frozen()
