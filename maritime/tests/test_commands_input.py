"""Management commands given malformed options, run as an operator runs them (`manage.py …` in a process of its
own, on the test database, cache and broker): a clear error naming the option, a non-zero exit, no traceback, and
nothing written — no row, no cache entry dropped, no message queued, no credentials file.

The malformed options are run by one runner process per test process, which sets Django up once and forks a
process for each command line (command_runner.py); the refusal in production starts a `python manage.py` of its own.
"""

import datetime as dt
import json
import os
import secrets
import subprocess
import sys

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from conftest import database_url_of_test_db
from ferries.cache import cache_service
from ferries.queries import parse_search_query
from ferries.search import sailing_search
from ferries.tests.factories import sailing_factory

pytestmark = pytest.mark.django_db


def command_environment(var_dir, **env: str) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URL": database_url_of_test_db(), "DATABASE_CONN_MAX_AGE": "0"}
    return environment | {"MARITIME_VAR_DIR": str(var_dir), **env}


def manage(*args: str, var_dir, **env: str) -> subprocess.CompletedProcess:
    """`python manage.py …`, a process started for this command line alone."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=command_environment(var_dir, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def command_runner(django_db_setup, django_db_blocker, tmp_path_factory):
    """Runs command lines in forked processes of a runner started once (see command_runner.py); its files in
    `runner.var_dir`."""
    var_dir = tmp_path_factory.mktemp("var")
    with django_db_blocker.unblock():
        environment = command_environment(var_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "maritime.tests.command_runner"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        process.stdin.write(json.dumps(args) + "\n")
        process.stdin.flush()
        answer = process.stdout.readline()
        assert answer, f"the command runner stopped (status {process.wait()})"
        return subprocess.CompletedProcess(["manage.py", *args], **json.loads(answer))

    run.var_dir = var_dir
    yield run
    process.stdin.close()
    process.wait(timeout=30)


def row_counts() -> dict[str, int]:
    """Rows of every table, as committed: the command's own process writes through its own connection."""
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def cached_search(tunis_marseille) -> int:
    """One search in the cache, which no refused clear_ferry_cache may drop; answers the entries cached."""
    sailing_factory(route=tunis_marseille)
    day = (timezone.now().date() + dt.timedelta(days=10)).isoformat()
    sailing_search(query=parse_search_query({"from": "TNTUN", "to": "FRMRS", "date": day}))
    return cache_service.stats()["search"]["entries"]


BAD_OPTIONS = [
    # seed_demo_data
    pytest.param(["seed_demo_data", "--days", "x"], "--days", id="seed: days not a number"),
    pytest.param(["seed_demo_data", "--days", "0"], "--days", id="seed: no days"),
    pytest.param(["seed_demo_data", "--days", "-30"], "--days", id="seed: negative days"),
    pytest.param(["seed_demo_data", "--days", "100000"], "--days", id="seed: days beyond a year"),
    pytest.param(["seed_demo_data", "--seed", "abc"], "--seed", id="seed: seed not a number"),
    pytest.param(["seed_demo_data", "--seed", ""], "--seed", id="seed: empty seed"),
    # clear_ferry_cache
    pytest.param(["clear_ferry_cache", "--route", "TUNIS"], "--route", id="clear: one port"),
    pytest.param(["clear_ferry_cache", "--route", "TNTUN-FRMRS-ITGOA"], "--route", id="clear: three ports"),
    pytest.param(["clear_ferry_cache", "--route", ""], "--route", id="clear: empty route"),
    pytest.param(["clear_ferry_cache", "--date", "31/12/2026"], "--date", id="clear: date not ISO"),
    pytest.param(["clear_ferry_cache", "--date", "2026-02-30"], "--date", id="clear: no such day"),
    pytest.param(["clear_ferry_cache", "--date", ""], "--date", id="clear: empty date"),
    # cache_stats, queue_stats: flags only
    pytest.param(["cache_stats", "--json=yes"], "--json", id="cache_stats: a value for a flag"),
    pytest.param(["cache_stats", "--rest"], "--rest", id="cache_stats: misspelt flag"),
    pytest.param(["queue_stats", "--json=1"], "--json", id="queue_stats: a value for a flag"),
    # run_operator_simulator
    pytest.param(["run_operator_simulator", "--port", "http"], "--port", id="simulator: port not a number"),
    pytest.param(["run_operator_simulator", "--port", "70000"], "--port", id="simulator: port too high"),
    pytest.param(["run_operator_simulator", "--latency-ms", "-5"], "--latency-ms", id="simulator: negative latency"),
    pytest.param(
        ["run_operator_simulator", "--latency-ms", "10" * 10], "--latency-ms", id="simulator: endless latency"
    ),
    pytest.param(["run_operator_simulator", "--error-rate", "2"], "--error-rate", id="simulator: error rate over 1"),
    pytest.param(["run_operator_simulator", "--error-rate", "nan"], "--error-rate", id="simulator: error rate NaN"),
    pytest.param(["run_operator_simulator", "--fail-first", "-1"], "--fail-first", id="simulator: negative failures"),
    # ping_queues
    pytest.param(["ping_queues", "--timeout", "0"], "--timeout", id="ping: no time to answer"),
    pytest.param(["ping_queues", "--timeout", "nan"], "--timeout", id="ping: NaN timeout"),
    pytest.param(["ping_queues", "--timeout", "inf"], "--timeout", id="ping: endless timeout"),
    pytest.param(["ping_queues", "--timeout", "1e300"], "--timeout", id="ping: timeout beyond any date"),
    pytest.param(["ping_queues", "emails", "mails"], "mails", id="ping: unknown queue"),
    # demo_setup
    pytest.param(["demo_setup", "--username", ""], "--username", id="demo: empty user name"),
    pytest.param(["demo_setup", "--username", "root; DROP"], "--username", id="demo: user name with symbols"),
    pytest.param(["demo_setup", "--username", "a" * 151], "--username", id="demo: user name too long"),
]


@pytest.mark.parametrize(("args", "named"), BAD_OPTIONS)
def test_a_malformed_option_is_refused_naming_it_and_nothing_is_written(
    args, named, cached_search, broker, command_runner
):
    rows = row_counts()

    result = command_runner(*args)

    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(("CommandError: ", f"manage.py {args[0]}: error: ")), result.stderr
    assert named in error
    assert row_counts() == rows
    assert cache_service.stats()["search"]["entries"] == cached_search
    assert [broker.queue_length(queue) for queue in ("default", "emails", "payments", "bookings")] == [0, 0, 0, 0]
    assert not (command_runner.var_dir / "demo-admin.txt").exists()


def test_demo_setup_refuses_production_and_creates_no_account(tmp_path):
    production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "ferries.example.com",
        "DEFAULT_FROM_EMAIL": "Maritime <bookings@ferries.example.com>",
        "STRIPE_SECRET_KEY": "sk_live_" + "x" * 24,
        "STRIPE_PUBLISHABLE_KEY": "pk_live_" + "x" * 24,
        "STRIPE_WEBHOOK_SECRET": "whsec_" + "x" * 24,
    }
    rows = row_counts()

    result = manage("demo_setup", var_dir=tmp_path, **production)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "CommandError: demo_setup creates an account with a printed password; it runs only with DEBUG on."
    )
    assert row_counts() == rows
    assert not (tmp_path / "demo-admin.txt").exists()
