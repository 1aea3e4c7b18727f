"""`make run`, the embedded default: the links it prints and e-mails name the address it serves on."""

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from maritime.management.commands import demo_setup
from notifications.models import Email
from notifications.rendering import build_message

STAND_IN_PYTHON = """#!/bin/sh
echo "SITE_URL=$SITE_URL python $*"
"""


def make_run(tmp_path: Path, *args: str, **env: str) -> list[str]:
    """The commands `make run ARGS` runs, each with the SITE_URL it was given: a stand-in interpreter in a
    virtualenv of its own prints them instead of running them."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").write_text(STAND_IN_PYTHON)
    (bin_dir / "python").chmod(0o755)
    (tmp_path / "venv" / ".runtime").touch()  # newer than requirements.txt: nothing to install
    environment = {"PATH": os.environ["PATH"], **env}
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "run", f"VENV={tmp_path / 'venv'}", *args],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_make_run_on_another_port_gives_every_command_the_site_url_of_that_port(tmp_path):
    commands = make_run(tmp_path, "PORT=8801")

    assert commands == [
        "SITE_URL=http://127.0.0.1:8801 python manage.py migrate --noinput",
        "SITE_URL=http://127.0.0.1:8801 python manage.py demo_setup",
        "SITE_URL=http://127.0.0.1:8801 python manage.py runserver 127.0.0.1:8801",
    ]


def test_a_site_url_set_in_the_environment_wins_over_the_port(tmp_path):
    commands = make_run(tmp_path, "PORT=8801", SITE_URL="https://ferries.example.com")

    assert {command.split()[0] for command in commands} == {"SITE_URL=https://ferries.example.com"}


@pytest.mark.django_db
def test_the_printed_admin_address_is_the_site_url(settings, tmp_path, monkeypatch, capsys):
    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8801"
    monkeypatch.setattr(demo_setup, "CREDENTIALS_FILE", tmp_path / "demo-admin.txt")
    monkeypatch.setattr(demo_setup, "DEMO_DATA_COMMANDS", [])

    call_command("demo_setup")

    assert "Admin: http://127.0.0.1:8801/admin/  user: admin  password: " in capsys.readouterr().out


@pytest.mark.django_db
def test_every_link_of_a_booking_e_mail_leads_to_the_site_url(settings):
    from bookings.tests.factories import held_booking

    settings.SITE_URL = "http://127.0.0.1:8801"
    booking = held_booking()
    email = Email.objects.create(booking=booking, kind=Email.Kind.HOLD_EXPIRED, recipient=booking.contact_email)

    _message, _subject, text, html = build_message(email)

    links = [word for word in (text + html).replace('"', " ").split() if "://" in word]
    assert links
    assert all(link.startswith("http://127.0.0.1:8801/") for link in links), links
    assert f"http://127.0.0.1:8801/manage?reference={booking.reference}" in text
