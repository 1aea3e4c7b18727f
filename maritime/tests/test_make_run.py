"""`make run`, the embedded default: the links it prints and e-mails name the address it serves on, and the
development server runs the periodic tasks beat runs in production."""

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from bookings.models import Booking
from bookings.tests.factories import held_booking
from conftest import free_port
from ferries.choices import Resource
from ferries.models import SailingInventory
from maritime.celery import app as celery_app
from maritime.management.commands import demo_setup
from maritime.scheduler import EmbeddedBeat
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
    settings.SITE_URL = "http://127.0.0.1:8801"
    booking = held_booking()
    email = Email.objects.create(booking=booking, kind=Email.Kind.HOLD_EXPIRED, recipient=booking.contact_email)

    _message, _subject, text, html = build_message(email)

    links = [word for word in (text + html).replace('"', " ").split() if "://" in word]
    assert links
    assert all(link.startswith("http://127.0.0.1:8801/") for link in links), links
    assert f"http://127.0.0.1:8801/manage?reference={booking.reference}" in text


# --- Periodic tasks ----------------------------------------------------------------------------------------


def eventually(check, *, seconds: float = 60) -> bool:
    """Whether `check()` comes true within `seconds` (a bound for a test that would otherwise hang, not a speed)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def overdue_hold() -> Booking:
    booking = held_booking()
    Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))
    return booking


@pytest.mark.django_db(transaction=True)
def test_with_the_embedded_beat_running_an_overdue_hold_expires_gives_its_places_back_and_is_e_mailed(eager_tasks):
    booking = overdue_hold()
    beat = EmbeddedBeat(celery_app)

    beat.start()
    try:
        expired = eventually(lambda: Booking.objects.get(pk=booking.pk).status == Booking.Status.EXPIRED)
    finally:
        beat.stop()

    assert expired
    assert SailingInventory.objects.get(sailing=booking.legs.get().sailing, resource=Resource.PASSENGERS).taken == 0
    assert Email.objects.filter(booking=booking, kind=Email.Kind.HOLD_EXPIRED).exists()


def test_the_embedded_beat_runs_beat_s_own_schedule_from_the_settings():
    beat = EmbeddedBeat(celery_app)

    assert beat.schedule is settings.CELERY_BEAT_SCHEDULE
    assert {entry["task"] for entry in beat.schedule.values()} >= {
        "bookings.tasks.expire_holds_task",
        "notifications.tasks.sweep_outbox_task",
        "payments.tasks.sweep_payments_task",
    }


SEED_AN_OVERDUE_HOLD = """
import datetime as dt
from django.utils import timezone
from bookings.models import Booking
from bookings.tests.factories import held_booking
booking = held_booking()
Booking.objects.filter(pk=booking.pk).update(hold_expires_at=timezone.now() - dt.timedelta(minutes=1))
print(booking.reference)
"""

WHAT_BECAME_OF_IT = """
import json
from django_celery_results.models import TaskResult
from bookings.models import Booking
from ferries.models import SailingInventory
from notifications.models import Email
booking = Booking.objects.get()
print(json.dumps({
    "status": booking.status,
    "taken": SailingInventory.objects.get(sailing=booking.legs.get().sailing, resource="passengers").taken,
    "emails": list(Email.objects.filter(booking=booking).values_list("kind", "status")),
    "expiry_runs": TaskResult.objects.filter(task_name="bookings.tasks.expire_holds_task").count(),
}))
"""


def as_from_a_prompt() -> None:
    """In the server's process before it starts: CONTROL-C neither ignored nor blocked, as from a shell's prompt.

    A child inherits both from the test process, where another test's library may have left SIGINT ignored or
    blocked: in a run with other tests in the same process, the server once sat through CONTROL-C, both of its
    processes idle."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def stopped_by_control_c(server: subprocess.Popen, *, seconds: float) -> None:
    """Wait for the server's processes to end; if they do not, fail with what each of them is doing."""
    try:
        server.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        group = subprocess.run(["ps", "-o", "pid=,stat=,args=", "-g", str(server.pid)], capture_output=True, text=True)
        pids = [line.split()[0] for line in group.stdout.splitlines()]
        stacks = [
            subprocess.run([Path(sys.executable).with_name("py-spy"), "dump", "--pid", pid],
                           capture_output=True, text=True).stdout
            + "\n".join(line for line in Path(f"/proc/{pid}/status").read_text().split("\n") if line[:3] == "Sig")
            for pid in pids
        ]  # fmt: skip
        os.killpg(server.pid, signal.SIGKILL)
        pytest.fail(f"CONTROL-C did not stop the server within {seconds}s:\n{group.stdout}\n" + "\n".join(stacks))


def embedded(*args: str, env: dict, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
        timeout=120, check=True, **options,
    )  # fmt: skip


def test_the_development_server_of_the_embedded_default_expires_an_overdue_hold_by_itself(tmp_path):
    """As `make run` starts it: SQLite, eager tasks, the autoreloader (a watching process and a serving one)."""
    port = free_port()
    env = {"PATH": os.environ["PATH"], "MARITIME_VAR_DIR": str(tmp_path), "SITE_URL": f"http://127.0.0.1:{port}"}
    embedded("migrate", "-v", "0", env=env)
    reference = embedded("shell", "-v", "0", "-c", SEED_AN_OVERDUE_HOLD, env=env).stdout.strip()
    database = tmp_path / "maritime.sqlite3"

    def status() -> str:
        with sqlite3.connect(database, timeout=20) as connection:
            return connection.execute("SELECT status FROM bookings_booking").fetchone()[0]

    log = (tmp_path / "runserver.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=as_from_a_prompt,
    )  # fmt: skip
    try:
        expired = eventually(lambda: status() == "expired")
        home = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20)
    finally:
        os.killpg(server.pid, signal.SIGINT)  # CONTROL-C, as in a terminal
        stopped_by_control_c(server, seconds=30)
        log.close()

    output = (tmp_path / "runserver.log").read_text()
    assert expired, output
    assert home.status == 200
    after = json.loads(embedded("shell", "-v", "0", "-c", WHAT_BECAME_OF_IT, env=env).stdout)
    assert after["taken"] == 0
    assert after["emails"] == [["hold_expired", "sent"]]
    assert after["expiry_runs"] == 1, "run by the serving process only, not by the autoreloader's watcher too"
    mail = "".join(path.read_text() for path in (tmp_path / "mail").iterdir())
    assert f"http://127.0.0.1:{port}/manage?reference={reference}" in mail
    assert "Traceback" not in output
