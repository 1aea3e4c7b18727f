"""Loaded into a worker (`celery worker -I faults.result_store`): its result store fails to record retries.

This is what a worker meets at the instant PostgreSQL comes back from a restart: the task's retry is queued,
recording it fails (the database was still starting), and recording the failure that Celery makes of it a few
milliseconds later succeeds. `FAULTS_RETRY_RECORDS_LOST` says how many retries go unrecorded.
"""

import os

from celery.signals import worker_process_init
from django.db import OperationalError

from maritime.celery import app

_left = int(os.environ.get("FAULTS_RETRY_RECORDS_LOST", "0"))


@worker_process_init.connect(weak=False)
def _lose_retry_records(**kwargs) -> None:
    backend = app.backend
    record = backend.mark_as_retry

    def mark_as_retry(*args, **options):
        global _left
        if _left > 0:
            _left -= 1
            raise OperationalError("the database system is starting up")
        return record(*args, **options)

    backend.mark_as_retry = mark_as_retry
