import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection

# Staff act on paid bookings: Stripe, answered locally, as the payments tests have it.
from payments.tests.conftest import fake_stripe  # noqa: F401

STAFF_AGENT = "Staff agent"
PASSWORD = "agent-password-for-tests"


def migrated_group(name: str, migration: str, function: str) -> Group:
    """The group a data migration made — or, once a transactional test has emptied the tables, the same group made
    again by the migration's own code."""
    group = Group.objects.filter(name=name).first()
    if group is None:
        module = importlib.import_module(f"bookings.migrations.{migration}")
        getattr(module, function)(apps, SimpleNamespace(connection=connection))
        group = Group.objects.get(name=name)
    return group


def staff_agent_group() -> Group:
    return migrated_group(STAFF_AGENT, "0002_staff_agent_group", "create_staff_agent_group")


@pytest.fixture
def staff_agent(django_user_model):
    """A member of staff in the "Staff agent" group, and in no other."""
    agent = django_user_model.objects.create_user("agent", password=PASSWORD, is_staff=True)
    agent.groups.add(staff_agent_group())
    return agent


@pytest.fixture
def unlimited_forms(settings):
    """The website's forms sent far more often than a traveller may: the limits are tested in test_website_limits.py."""
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "booking_create": "100000/hour"}
    rates["booking_lookup"] = rates["promo_code"] = "100000/hour"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


PORT_AGENT = "Port agent"


def port_agent_group() -> Group:
    return migrated_group(PORT_AGENT, "0010_port_agent_group", "create_port_agent_group")


@pytest.fixture
def port_agent(django_user_model):
    """An agent at the quay: in the "Port agent" group, and in no other; not staff of the admin."""
    agent = django_user_model.objects.create_user("quay", password=PASSWORD)
    agent.groups.add(port_agent_group())
    return agent
