import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail

from bookings.tests.test_browser_booking import network  # noqa: F401  (the browser tests' sailings, a fixture)

PASSWORD = "a long sea-crossing passphrase"


def make_traveller(email: str, *, verified: bool = True, password: str = PASSWORD):
    """A traveller's account as allauth makes one at sign-up, its address verified (or not yet)."""
    user = get_user_model().objects.create_user(username=email.split("@")[0] + "-u", email=email, password=password)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


@pytest.fixture
def traveller(db):
    return make_traveller("amira@example.com")


@pytest.fixture
def other_traveller(db):
    return make_traveller("karim@example.com")


@pytest.fixture
def signed_in(client, traveller):
    client.force_login(traveller)
    return client


def sent_to(address: str) -> list:
    """The messages sent to `address` (Django's test outbox)."""
    return [message for message in mail.outbox if address in message.to]


def link_in(message) -> str:
    return re.search(r"https?://\S+", message.body).group(0)
