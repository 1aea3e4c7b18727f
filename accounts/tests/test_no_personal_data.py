"""Accounts add personal data (addresses, saved travellers and vehicles, claim codes, one-time links): none of it is
written to the logs or handed to a task, where results keep arguments."""

import logging
import re

import pytest
from django.core import mail
from django_celery_results.models import TaskResult

from accounts.models import SavedTraveller
from accounts.tests.conftest import PASSWORD
from bookings.tests.factories import CONTACT, held_booking

pytestmark = pytest.mark.django_db

SECRETS = ("lina@example.com", "karim.h@example.net", "Lina", "Haddad", "TN998877", "123 TU 4567", PASSWORD)


def test_signing_up_saving_claiming_and_deleting_leave_no_personal_data_in_logs_or_task_arguments(
    client, trip, caplog, django_capture_on_commit_callbacks, eager_tasks
):
    caplog.set_level(logging.DEBUG)
    booking = held_booking(trip["out"], contact={**CONTACT, "name": "Karim Haddad", "email": "karim.h@example.net"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/signup/", {"email": "lina@example.com", "password1": PASSWORD, "password2": PASSWORD})
    link = re.search(r"https?://\S+", mail.outbox[-1].body)[0]
    client.post(link)
    client.post("/accounts/travellers/new", {
        "first_name": "Lina", "last_name": "Haddad", "date_of_birth": "1990-05-02", "nationality": "TN",
        "document_type": "passport", "document_number": "TN998877", "document_expires": "",
    })  # fmt: skip
    client.post("/accounts/vehicles/new", {"category": "car", "registration": "123 TU 4567"})
    assert SavedTraveller.objects.filter(last_name="Haddad").exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/claim", {"reference": booking.reference})
    code = re.search(r"^\s+(\d{6})\s*$", mail.outbox[-1].body, re.M)[1]
    client.post("/accounts/claim", {"reference": booking.reference, "code": code})
    client.post("/accounts/claim", {"reference": booking.reference, "code": "000000"})
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/delete", {"password": PASSWORD, "confirm": "on"})
    assert re.search(r"account \d+ deleted", caplog.text)  # the deletion is logged, by id

    logged = caplog.text
    arguments = " ".join(f"{r.task_args} {r.task_kwargs}" for r in TaskResult.objects.all())
    assert TaskResult.objects.filter(task_name__endswith="send_account_email_task").exists()
    for secret in (*SECRETS, code, link):
        assert secret not in logged, secret
        assert secret not in arguments, secret
