"""Log lines: one JSON object per line in production, naming the booking and the Celery task they are about."""

import io
import json
import logging

import pytest
from celery import shared_task

from bookings.access import access_token
from bookings.tests.factories import held_booking
from conftest import wait_until
from kernel.logs import JsonFormatter, LogContextFilter
from maritime.celery import app as celery_app
from maritime.tasks import ping_task
from maritime.tests.test_settings import manage, production_env  # noqa: F401 — a fixture, used by name

log = logging.getLogger("maritime.tests")


@shared_task(bind=True)
def log_a_line_task(self, *, booking_id: int) -> None:
    log.warning("working on booking %s", booking_id)


@pytest.fixture
def json_lines():
    """What the root logger writes in JSON mode, as parsed lines."""
    # Importing the task modules (done on first use) sets Django up again, and with it the root's handlers.
    celery_app.loader.import_default_modules()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.mark.django_db
def test_a_request_about_a_booking_logs_json_lines_naming_it(client, json_lines, broker_at):
    booking = held_booking()
    broker_at("redis://127.0.0.1:1/0")  # nothing listens: the operators cannot be asked

    response = client.post(f"/api/v1/bookings/{booking.reference}/payment", HTTP_X_BOOKING_TOKEN=access_token(booking))

    assert response.status_code == 409
    (line,) = [line for line in json_lines() if line["logger"] == "bookings.flows.checkout"]
    assert line["level"] == "WARNING"
    assert line["message"].startswith(f"availability check for {booking.reference} unanswered")
    assert line["booking_reference"] == booking.reference
    assert "task_id" not in line
    assert line["time"].endswith("+00:00")


@pytest.mark.django_db
def test_a_task_logs_json_lines_with_its_id_its_name_and_its_booking(json_lines):
    booking = held_booking()

    result = log_a_line_task.apply(kwargs={"booking_id": booking.pk})
    log.warning("after the task")

    during, after = [line for line in json_lines() if line["logger"] == "maritime.tests"]
    assert during["message"] == f"working on booking {booking.pk}"
    assert during["task_id"] == result.id
    assert during["task_name"] == "maritime.tests.test_logs.log_a_line_task"
    assert during["booking_reference"] == booking.reference
    assert set(after) == {"time", "level", "logger", "message"}, "the task's context ends with it"


def test_an_error_s_traceback_stays_inside_its_one_json_line(json_lines):
    try:
        raise ValueError("bad value")
    except ValueError:
        log.exception("it failed")

    (line,) = [line for line in json_lines() if line["logger"] == "maritime.tests"]
    assert line["message"] == "it failed"
    assert line["exception"].startswith("Traceback")
    assert "ValueError: bad value" in line["exception"]


def test_what_other_libraries_attach_to_a_record_stays_out_of_its_json_line(json_lines):
    """Django's request logger attaches the request, whose address may carry a traveller's details."""
    request = "<WSGIRequest: GET '/manage?email=zenobie.quarterdeck@example.org'>"

    log.warning("Not Found: /manage", extra={"status_code": 404, "request": request})

    (line,) = [line for line in json_lines() if line["logger"] == "maritime.tests"]
    assert set(line) == {"time", "level", "logger", "message"}
    assert "zenobie" not in json.dumps(line)


def test_production_logs_json_lines_on_stdout(production_env):  # noqa: F811
    result = manage("shell", "-c", "import logging; logging.getLogger('maritime').warning('ready')", env=production_env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["message"] == "ready"


def test_development_logs_plain_text_lines(tmp_path):
    result = manage(
        "shell", "-c", "import logging; logging.getLogger('maritime').warning('ready')",
        env={"MARITIME_VAR_DIR": str(tmp_path)},
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stderr.rstrip().endswith("WARNING maritime ready")


@pytest.mark.worker
def test_a_worker_in_json_mode_writes_json_lines_naming_the_task(celery_worker_process, broker, tmp_path):
    celery_worker_process("default", LOG_FORMAT="json")

    result = ping_task.apply_async(queue="default")
    result.get(timeout=60)

    lines = worker_log_lines(tmp_path / "worker-0.log", until=lambda line: line.get("task_id") == result.id)
    (done,) = [line for line in lines if line.get("task_id") == result.id]
    assert done["task_name"] == "maritime.tasks.ping_task"
    assert done["message"].startswith(f"Task maritime.tasks.ping_task[{result.id}] succeeded")


def worker_log_lines(path, *, until, timeout: float = 10.0) -> list[dict]:
    """The JSON lines of a worker's log (its start-up banner is plain text), once one satisfies `until`."""

    def lines() -> list[dict]:
        return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]

    wait_until(lambda: any(until(line) for line in lines()), timeout=timeout, what=f"the awaited line in {path.name}")
    return lines()
