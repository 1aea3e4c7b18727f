"""The Celery application: `celery -A maritime worker -Q emails` (and payments, bookings, default).

Configuration is read from Django settings under the CELERY_ prefix; queues, routes and the
reliability options are all in maritime/settings.py.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maritime.settings")

app = Celery("maritime")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
