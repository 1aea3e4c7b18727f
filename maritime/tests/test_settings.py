"""Settings come from the environment: checked in fresh processes, as a deployment would start them."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

PRINT_PARTS = (
    "from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], "
    "s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.PAYMENTS_PROVIDER)"
)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`manage.py ARGS` with exactly `env` (plus PATH), as a fresh deployment would run it."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    return {
        "DEBUG": "0",
        "MARITIME_VAR_DIR": str(tmp_path),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "ferries.example.com",
        "DATABASE_URL": "postgres://maritime@db.example.com:5432/maritime",
        "REDIS_URL": "redis://cache.example.com:6379/0",
        "CELERY_BROKER_URL": "redis://broker.example.com:6379/0",
        "DEFAULT_FROM_EMAIL": "Maritime <bookings@ferries.example.com>",
        "STRIPE_SECRET_KEY": "sk_live_" + "x" * 24,
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + "x" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + "x" * 24,
    }


def test_with_no_environment_the_site_runs_on_the_embedded_default(tmp_path):
    result = manage("shell", "-v", "0", "-c", PRINT_PARTS, env={"MARITIME_VAR_DIR": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "True",
        "django.core.mail.backends.filebased.EmailBackend",
        "demo",
    ]
    assert (tmp_path / "secret_key").read_text().strip(), "a key of its own, kept out of version control"


def test_production_without_secret_key_fails_at_start_naming_it(production_env):
    del production_env["SECRET_KEY"]

    result = manage("check", env=production_env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr.splitlines()[-1]


def test_production_names_every_missing_part_at_once(tmp_path):
    result = manage("check", env={"DEBUG": "0", "MARITIME_VAR_DIR": str(tmp_path)})

    last_line = result.stderr.splitlines()[-1]
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "STRIPE_SECRET_KEY"):
        assert name in last_line


@pytest.mark.parametrize(
    ("name", "value"),
    [("SECRET_KEY", "django-insecure-" + "a" * 50), ("DATABASE_URL", "sqlite:///db.sqlite3")],
)
def test_production_refuses_a_stand_in_for_a_real_part(production_env, name, value):
    production_env[name] = value

    result = manage("check", env=production_env)

    assert result.returncode != 0
    assert name in result.stderr.splitlines()[-1]


def test_production_refuses_cache_and_broker_in_one_redis_database(production_env):
    production_env["CELERY_BROKER_URL"] = production_env["REDIS_URL"]

    result = manage("check", env=production_env)

    assert result.returncode != 0
    assert "same Redis database" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *[("DEBUG", "maybe"), ("REDIS_PORT", "six"), ("REDIS_URL", "http://cache:6379"), ("STRIPE_SECRET_KEY", "pk_x")],
        ("SITE_URL", "127.0.0.1:8801"),  # links in e-mails would lead nowhere
        *[("BOOKING_HOLD_MINUTES", "0"), ("API_RATE_ANON", "lots"), ("LOG_LEVEL", "LOUD")],
    ],
)
def test_a_bad_value_fails_at_start_naming_the_variable(tmp_path, name, value):
    result = manage("check", env={"MARITIME_VAR_DIR": str(tmp_path), name: value})

    assert result.returncode != 0
    assert result.stderr.splitlines()[-1].startswith(
        f'environs.exceptions.EnvValidationError: Environment variable "{name}" invalid: '
    )


def test_a_blank_variable_reads_as_unset_and_spaces_around_a_value_are_dropped(tmp_path):
    """As compose's `${NAME:-}` and the env files' `NAME=''` write a variable nobody filled in."""
    env = {"MARITIME_VAR_DIR": str(tmp_path), "DEBUG": "", "REDIS_PORT": "", "REDIS_HOST": " cache.internal "}
    env["ALLOWED_HOSTS"] = " ferries.example.com , ,www.ferries.example.com,"
    hosts = ["ferries.example.com", "www.ferries.example.com"]
    script = "from django.conf import settings as s; print(s.DEBUG, s.REDIS_URL, *s.ALLOWED_HOSTS)"

    result = manage("shell", "-v", "0", "-c", script, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "redis://cache.internal:6379/0", *hosts]


def test_production_settings_pass_the_deployment_checklist_without_warnings(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_broker_defaults_to_the_database_after_the_cache_on_the_same_redis(tmp_path):
    env = {"MARITIME_VAR_DIR": str(tmp_path), "REDIS_HOST": "cache.internal", "REDIS_PORT": "6380", "REDIS_DB": "3"}

    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; print(s.REDIS_URL, s.CELERY_BROKER_URL)",
        env=env,
    )

    assert result.stdout.split() == ["redis://cache.internal:6380/3", "redis://cache.internal:6380/4"]


@pytest.mark.parametrize(
    ("value", "options"),
    [
        (None, {"server_side_binding": True, "prepare_threshold": 5}),
        ("0", {}),  # behind a pooler that cannot keep prepared statements
    ],
)
def test_postgresql_prepares_statements_run_again_unless_turned_off(tmp_path, value, options):
    env = {"MARITIME_VAR_DIR": str(tmp_path), "DATABASE_URL": "postgres://maritime@db.example.com:5432/maritime"}
    if value is not None:
        env["DATABASE_PREPARED_STATEMENTS"] = value
    shown = "from django.conf import settings as s; o = s.DATABASES['default']['OPTIONS']; print(sorted(o.items()))"

    result = manage("shell", "-v", "0", "-c", shown, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(sorted({"connect_timeout": 5, **options}.items()))


@pytest.mark.parametrize(
    ("broker", "transport"),
    [
        ("redis://broker.internal:6379/1", "kernel.broker:Transport"),
        ("rediss://broker.internal:6380/1", "rediss"),  # kombu's, whose scheme also sets its TLS defaults
        ("", "memory"),  # the embedded default: tasks run eagerly
    ],
)
def test_a_redis_broker_is_reached_through_our_transport_others_through_kombus(tmp_path, broker, transport):
    env = {"MARITIME_VAR_DIR": str(tmp_path), "CELERY_BROKER_URL": broker}

    result = manage(
        "shell", "-v", "0", "-c", "from maritime.celery import app; print(app.connection_for_write().transport_cls)",
        env=env,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == transport


STORE_A_WEBHOOK_TWICE = """
import json, stripe
from payments.demo import webhook_secret
from payments.models import WebhookEvent
from payments.webhooks import webhook_receive
event = {"id": "evt_embedded", "object": "event", "type": "charge.succeeded",
         "data": {"object": {"id": "ch_embedded", "object": "charge"}}}
payload = json.dumps(event)
signature = stripe.WebhookSignature.generate_signature_header(payload, webhook_secret())
created = [webhook_receive(payload=payload.encode(), signature=signature)[1] for _ in range(2)]
stored = WebhookEvent.objects.get()
print(created, stored.event_id, stored.processed_at is not None)
"""


def test_the_embedded_default_stores_a_webhook_once_and_processes_it_on_sqlite(tmp_path):
    """The demo payments' webhooks go through the same endpoint on the embedded default's SQLite."""
    env = {"MARITIME_VAR_DIR": str(tmp_path)}
    assert manage("migrate", "-v", "0", env=env).returncode == 0

    result = manage("shell", "-v", "0", "-c", STORE_A_WEBHOOK_TWICE, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[True,", "False]", "evt_embedded", "True"]
