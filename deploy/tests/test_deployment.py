"""The deployment files: docker-compose.yml, the Procfile, the supervisor programs and the health probe.

docker-compose.yml is first validated against the Compose Specification's JSON schema (the copy shipped by
the pinned check-jsonschema, which `make check-deploy` also runs from the command line), then read for what
the deployment relies on. The tests marked `worker` start real Celery processes to show how they stop.
"""

import configparser
import getpass
import http.server
import importlib.resources
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings

from conftest import KEY_PREFIX, database_url_of_test_db
from maritime.celery import app as celery_app

BASE_DIR = Path(settings.BASE_DIR)
COMPOSE_FILE = BASE_DIR / "docker-compose.yml"
ENV_EXAMPLE = BASE_DIR / ".env.example"
PROCFILE = BASE_DIR / "Procfile"
SUPERVISOR_CONF = BASE_DIR / "deploy" / "supervisor" / "celery-workers.conf"
SUPERVISOR_ENV_EXAMPLE = BASE_DIR / "deploy" / "supervisor" / "maritime.env.example"
PROBE = BASE_DIR / "deploy" / "probe.py"

# What each worker consumes: one worker per queue, and `default` with bookings.
WORKER_QUEUES = {"emails": {"emails"}, "payments": {"payments"}, "bookings": {"bookings", "default"}}
APP_SERVICES = {"migrate", "web", "worker-emails", "worker-payments", "worker-bookings", "beat", "flower"}
MONITORING_SERVICES = {"prometheus", "grafana"}
SERVICES = APP_SERVICES | {"postgres", "redis-broker", "redis-cache"} | MONITORING_SERVICES
PROMETHEUS_CONFIG = BASE_DIR / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA = BASE_DIR / "deploy" / "grafana"
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|AUTH")
# Sent by name: importing deploy/tests/shutdown_tasks.py here would add it to the project's own tasks.
SLOW_TASK = "deploy.tests.shutdown_tasks.slow_task"

# Compose interpolation: `$$` is a literal `$`; `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
# `${NAME:?error}`, `${NAME?error}`, `${NAME:+other}`, `${NAME+other}` read the environment. Anything
# else after a `$` (`$NAME` included: it would take the value from the machine running compose) is refused.
INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|(?P<invalid>))"
)


# --- Reading the files ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def strings_in(value):
    """Every string in a loaded YAML document (mapping keys excluded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def interpolate(value: str, env: dict[str, str]) -> str:
    """The value as compose would pass it on, with `env` as the .env file."""

    def replace(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        if match["invalid"] is not None:
            raise ValueError(f"not an interpolation: {value!r}")
        name, op, arg = match["name"], match["op"] or "", match["arg"] or ""
        current = env.get(name)
        is_set = current is not None and (current != "" or not op.startswith(":"))
        if op in (":?", "?") and not is_set:
            raise ValueError(f"{name}: {arg}")
        if op in (":-", "-"):
            return current if is_set else arg
        if op in (":+", "+"):
            return arg if is_set else ""
        return current or ""

    return INTERPOLATION.sub(replace, value)


def env_file_names(path: Path) -> dict[str, str]:
    """NAME=value lines (comments and blank lines skipped; surrounding quotes removed)."""
    names = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            names[name.strip()] = value.strip().strip("'\"")
    return names


def option(command: list[str], *flags: str) -> str:
    for index, word in enumerate(command):
        if word in flags:
            return command[index + 1]
        for flag in flags:
            if word.startswith(flag + "="):
                return word.split("=", 1)[1]
    raise AssertionError(f"{flags} not in {command}")


def seconds(duration: str) -> float:
    """A compose duration ("120s", "1m30s", "1h") in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)", duration)
    assert "".join(number + unit for number, unit in parts) == duration, f"not a duration: {duration!r}"
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    return sum(float(number) * scale[unit] for number, unit in parts)


def worker_services(services) -> dict[str, dict]:
    return {name: service for name, service in services.items() if name.startswith("worker-")}


def celery_worker_command(words: list[str]) -> tuple[str, set[str]]:
    """(node name before the @, queues) of a `celery -A maritime worker` command line."""
    assert words[words.index("-A") + 1] == "maritime", words
    assert "worker" in words, words
    node = option(words, "-n", "--hostname")
    assert node.endswith("@%h"), f"node name {node!r} must end with @%h (unique per host)"
    return node.split("@")[0], set(option(words, "-Q", "--queues").split(","))


def declared_queues() -> set[str]:
    return {queue.name for queue in celery_app.conf.task_queues}


# --- The Compose Specification --------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification(compose):
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.Draft202012Validator(schema)

    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(compose)]

    assert errors == []


def test_the_schema_check_catches_a_misspelt_key(compose):
    """The schema is strict enough to matter: an unknown key in a service is an error, not ignored."""
    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    validator = jsonschema.Draft202012Validator(json.loads(schema_file.read_text()))
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker-emails"]["stop_grace_periode"] = broken["services"]["worker-emails"].pop(
        "stop_grace_period"
    )

    assert any("stop_grace_periode" in error.message for error in validator.iter_errors(broken))


# --- What the stack relies on ---------------------------------------------------------------------


def test_compose_runs_every_part_of_the_production_stack(services):
    assert set(services) == SERVICES
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis-broker"]["image"].startswith("redis:")
    assert services["redis-cache"]["image"].startswith("redis:")
    assert services["web"]["command"][:2] == ["gunicorn", "maritime.wsgi"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "maritime", "beat"]
    assert option(services["beat"]["command"], "--scheduler", "-S") == settings.CELERY_BEAT_SCHEDULER
    assert services["flower"]["command"][:4] == ["celery", "-A", "maritime", "flower"]
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["prometheus"]["image"].startswith("prom/prometheus:v")
    assert services["grafana"]["image"].startswith("grafana/grafana:")


def test_monitoring_starts_only_with_its_profile(services):
    for name, service in services.items():
        assert service.get("profiles", []) == (["monitoring"] if name in MONITORING_SERVICES else []), name
    for name in MONITORING_SERVICES:
        # Reached from this host only (an SSH tunnel, a proxy with its own sign-in), never published to all.
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"]), name


def test_every_service_has_a_healthcheck_and_long_running_ones_restart(services):
    for name, service in services.items():
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        if name == "migrate":
            # A one-off: the services after it wait for it to complete, not to be healthy.
            assert healthcheck == {"disable": True}
            assert service["restart"] == "no"
            continue
        assert healthcheck.get("disable") is not True, name
        assert healthcheck["test"][0] in ("CMD", "CMD-SHELL"), name
        assert seconds(healthcheck["timeout"]) < seconds(healthcheck["interval"]), name
        assert service["restart"] in ("unless-stopped", "always"), name


def test_services_start_once_what_they_need_is_ready(services):
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert services[dependency]["healthcheck"].get("disable") is not True, f"{dependency} ({name})"

    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in APP_SERVICES - {"migrate"}:
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"] == {"condition": "service_completed_successfully"}, name
        for dependency in ("postgres", "redis-broker", "redis-cache"):
            assert depends_on[dependency] == {"condition": "service_healthy"}, name


def test_each_worker_consumes_its_own_queues_and_its_healthcheck_pings_it_by_name(services):
    consumed = {}
    for name, service in worker_services(services).items():
        node, queues = celery_worker_command(service["command"])
        consumed[node] = queues
        # `$$HOSTNAME`: the container's shell expands it to the hostname Celery's `%h` stands for.
        assert service["healthcheck"]["test"] == [
            "CMD-SHELL",
            f"celery -A maritime inspect ping -d {node}@$$HOSTNAME --timeout 10",
        ], name

    assert consumed == WORKER_QUEUES
    assert set().union(*consumed.values()) == declared_queues()


def test_beat_is_health_checked_through_its_remote_control(services):
    beat = services["beat"]

    assert "--enable-remote-control" in beat["command"]
    assert option(beat["command"], "-n", "--hostname") == "celerybeat@%h"
    assert beat["healthcheck"]["test"] == [
        "CMD-SHELL",
        "celery -A maritime inspect ping -d celerybeat@$$HOSTNAME --timeout 10",
    ]


def test_web_and_flower_are_probed_over_http(services):
    assert services["web"]["healthcheck"]["test"][:3] == ["CMD", "python", "deploy/probe.py"]
    assert services["web"]["healthcheck"]["test"][3] == "http://127.0.0.1:8000/healthz"
    assert (
        services["flower"]["healthcheck"]["test"][3]
        == f"http://127.0.0.1:{option(services['flower']['command'], '--port')}/healthcheck"
    )
    # The probe is part of the image.
    assert "deploy" not in (BASE_DIR / ".dockerignore").read_text().split()


def test_workers_have_time_to_finish_their_tasks_when_stopped(services):
    hard_limit = settings.CELERY_TASK_TIME_LIMIT
    for name, service in worker_services(services).items():
        assert service.get("stop_signal", "SIGTERM") == "SIGTERM", name  # SIGTERM is Celery's warm shutdown
        assert seconds(service["stop_grace_period"]) > hard_limit + 15, name
        assert service["init"] is True, name  # the init forwards SIGTERM to Celery's main process only
    assert seconds(services["web"]["stop_grace_period"]) > float(
        option(services["web"]["command"], "--graceful-timeout")
    )


def test_the_broker_redis_keeps_every_message_and_the_cache_redis_evicts(services):
    broker = services["redis-broker"]["command"]
    cache = services["redis-cache"]["command"]

    assert option(broker, "--maxmemory-policy") == "noeviction"
    assert option(broker, "--appendonly") == "yes"
    assert any(volume.endswith(":/data") for volume in services["redis-broker"]["volumes"])

    assert option(cache, "--maxmemory-policy") in ("allkeys-lru", "volatile-lru")
    assert re.fullmatch(r"\d+[kmg]b", option(cache, "--maxmemory"))
    assert option(cache, "--appendonly") == "no"
    assert option(cache, "--save") == ""
    assert "volumes" not in services["redis-cache"]

    env = services["web"]["environment"]
    assert env["REDIS_URL"].startswith("redis://redis-cache:")
    assert env["CELERY_BROKER_URL"].startswith("redis://redis-broker:")


def test_no_secret_is_written_in_the_compose_file(services):
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:?[-?][^}]*)?\}", value), f"{name}.{key} = {value!r}"
            # A password inside a URL must be a reference too.
            for password in re.findall(r"://[^:/@\s]+:([^@]+)@", value):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", password), f"{name}.{key}"


def test_application_services_run_in_production_mode(services):
    for name in APP_SERVICES:
        assert services[name]["environment"]["DEBUG"] == "0", name
        assert services[name]["build"] == "."


def test_every_dollar_is_an_interpolation_or_escaped(compose):
    for value in strings_in(compose):
        for match in INTERPOLATION.finditer(value):
            assert match["invalid"] is None, f"bare $ in {value!r}: write $$ for a literal $, or ${{NAME}}"


def test_env_example_lists_every_variable_compose_requires_and_no_other(compose):
    referenced, required = set(), set()
    for value in strings_in(compose):
        for match in INTERPOLATION.finditer(value):
            if match["name"]:
                referenced.add(match["name"])
                if match["op"] in (":?", "?"):
                    required.add(match["name"])
    listed = set(env_file_names(ENV_EXAMPLE))

    assert required == {
        "SECRET_KEY", "POSTGRES_PASSWORD", "DEFAULT_FROM_EMAIL",
        "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "FLOWER_BASIC_AUTH",
    }  # fmt: skip
    assert required <= listed, f"missing from .env.example: {required - listed}"
    assert listed <= referenced, f"in .env.example but not used by docker-compose.yml: {listed - referenced}"


def test_compose_refuses_to_start_without_a_required_secret(compose):
    env = filled_in(env_file_names(ENV_EXAMPLE))
    del env["STRIPE_WEBHOOK_SECRET"]

    web_environment = "\n".join(strings_in(compose["services"]["web"]["environment"]))

    with pytest.raises(ValueError, match=r"set STRIPE_WEBHOOK_SECRET in \.env"):
        interpolate(web_environment, env)


def filled_in(env: dict[str, str]) -> dict[str, str]:
    """An environment file's values, with its blank secrets filled in as an operator would."""
    secrets_ = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(8),
        "STRIPE_PUBLISHABLE_KEY": "pk_test_" + secrets.token_hex(8),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(8),
        "FLOWER_BASIC_AUTH": "ops:" + secrets.token_hex(8),
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "EMAIL_HOST_USER": "mailer",
        "EMAIL_HOST_PASSWORD": secrets.token_hex(8),
    }
    return {**env, **{name: value for name, value in secrets_.items() if name in env and not env[name]}}


def manage_check_deploy(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={"PATH": os.environ["PATH"], "MARITIME_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("service", ["web", "worker-emails"])
def test_the_environment_compose_gives_the_app_passes_the_deployment_checklist(services, tmp_path, service):
    dotenv = filled_in(env_file_names(ENV_EXAMPLE))
    env = {key: interpolate(str(value), dotenv) for key, value in services[service]["environment"].items()}
    # The container's tmpfs, here a directory of the test's.
    assert env["PROMETHEUS_MULTIPROC_DIR"] in services[service]["tmpfs"]
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")

    result = manage_check_deploy(env, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


# --- Monitoring -----------------------------------------------------------------------------------


def test_prometheus_scrapes_the_web_and_each_worker_where_they_serve_their_metrics(services):
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}

    (web_target,) = jobs["web"]["static_configs"][0]["targets"]
    assert web_target == "web:" + option(services["web"]["command"], "--bind").rsplit(":", 1)[1]
    assert jobs["web"]["metrics_path"] == "/metrics"
    workers = worker_services(services)
    assert sorted(jobs["workers"]["static_configs"][0]["targets"]) == sorted(
        f"{name}:{worker['environment']['WORKER_METRICS_PORT']}" for name, worker in workers.items()
    )
    for name, worker in workers.items():
        assert worker["environment"]["WORKER_METRICS_ADDRESS"] == "0.0.0.0", name  # reached from prometheus
        assert "ports" not in worker, name  # and from nowhere else
    # Every scrape carries the token, read from the file the service writes from METRICS_TOKEN as it starts.
    prometheus = services["prometheus"]
    for job in jobs.values():
        token_file = job["authorization"]["credentials_file"]
        assert job["authorization"]["type"] == "Bearer"
        assert token_file.rsplit("/", 1)[0] in prometheus["tmpfs"]
        assert f"> {token_file}" in prometheus["entrypoint"][2]
    assert prometheus["environment"]["METRICS_TOKEN"] == services["web"]["environment"]["METRICS_TOKEN"]
    assert "/etc/prometheus/alerts.yml" in config["rule_files"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(services):
    grafana = services["grafana"]
    mounts = dict(volume.rsplit(":", 1)[0].split(":", 1) for volume in grafana["volumes"] if volume.endswith(":ro"))
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "maritime.yml").read_text())
    dashboard = json.loads((GRAFANA / "dashboards" / "maritime.json").read_text())

    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert mounts["./deploy/grafana/dashboards"] == providers["providers"][0]["options"]["path"]
    (datasource,) = datasources["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    panel_sources = {panel["datasource"]["uid"] for panel in dashboard["panels"] if panel["type"] != "row"}
    assert panel_sources == {datasource["uid"]}


# --- The Procfile (make stack) --------------------------------------------------------------------


def test_the_procfile_splits_the_queues_as_compose_does():
    consumed = {}
    for line in PROCFILE.read_text().splitlines():
        name, _, command = line.partition(":")
        if name.startswith("worker"):
            node, queues = celery_worker_command(shlex.split(command))
            consumed[node] = queues

    assert consumed == WORKER_QUEUES


# --- Supervisor -----------------------------------------------------------------------------------

# Every key supervisord reads in a [program:x] section; configparser would accept a misspelt one silently.
SUPERVISOR_PROGRAM_KEYS = {
    "command", "process_name", "numprocs", "numprocs_start", "priority", "autostart", "startsecs",
    "startretries", "autorestart", "exitcodes", "stopsignal", "stopwaitsecs", "stopasgroup", "killasgroup",
    "user", "redirect_stderr", "environment", "directory", "umask", "serverurl",
    "stdout_logfile", "stdout_logfile_maxbytes", "stdout_logfile_backups", "stdout_capture_maxbytes",
    "stdout_events_enabled", "stdout_syslog",
    "stderr_logfile", "stderr_logfile_maxbytes", "stderr_logfile_backups", "stderr_capture_maxbytes",
    "stderr_events_enabled", "stderr_syslog",
}  # fmt: skip


@pytest.fixture(scope="module")
def supervisor_programs() -> dict[str, configparser.SectionProxy]:
    parser = configparser.RawConfigParser()  # raw: supervisord does its own %(name)s expansion
    parser.read_string(SUPERVISOR_CONF.read_text())
    return {
        section.split(":", 1)[1]: parser[section] for section in parser.sections() if section.startswith("program:")
    }


def celery_words(program: configparser.SectionProxy) -> list[str]:
    """The Celery command line inside `sh -c '…; exec celery …'`, with supervisord's %% made %."""
    sh, dash_c, script = shlex.split(program["command"])
    assert (sh, dash_c) == ("/bin/sh", "-c")
    assert script.startswith("set -a; . /etc/maritime/maritime.env; set +a; exec "), script
    words = shlex.split(script.split("exec ", 1)[1].replace("%%", "%"))
    assert words[0].endswith("/.venv/bin/celery")
    return words


def test_supervisor_runs_one_worker_per_queue_beat_and_flower(supervisor_programs):
    consumed = {}
    for name, program in supervisor_programs.items():
        assert set(program) <= SUPERVISOR_PROGRAM_KEYS, f"{name}: unknown {set(program) - SUPERVISOR_PROGRAM_KEYS}"
        if name.startswith("maritime-worker-"):
            node, queues = celery_worker_command(celery_words(program))
            consumed[node] = queues

    assert consumed == WORKER_QUEUES
    beat = celery_words(supervisor_programs["maritime-beat"])
    assert beat[1:4] == ["-A", "maritime", "beat"]
    assert option(beat, "--scheduler") == settings.CELERY_BEAT_SCHEDULER
    assert supervisor_programs["maritime-beat"]["numprocs"] == "1"
    assert celery_words(supervisor_programs["maritime-flower"])[1:4] == ["-A", "maritime", "flower"]


def test_supervisor_stops_workers_gracefully(supervisor_programs):
    for name, program in supervisor_programs.items():
        assert program["stopsignal"] == "TERM", name
        # TERM to Celery's main process only: sent to the whole group it would stop the pool's children
        # mid-task (see test_sigterm_to_the_whole_process_group_interrupts_the_running_task).
        assert program["stopasgroup"] == "false", name
        assert program["killasgroup"] == "true", name
        assert program["autorestart"] == "true", name
        assert program["user"] == "maritime", name
        assert program["redirect_stderr"] == "true", name
        assert program["stdout_logfile"].startswith("/var/log/maritime/"), name
        if name.startswith("maritime-worker-"):
            assert int(program["stopwaitsecs"]) > settings.CELERY_TASK_TIME_LIMIT + 15, name
    priorities = {name: int(program["priority"]) for name, program in supervisor_programs.items()}
    # Higher numbers start last and stop first: beat stops before the workers it feeds.
    assert priorities["maritime-beat"] > max(priorities[name] for name in priorities if "worker" in name)


def test_supervisord_itself_accepts_the_file(tmp_path):
    from supervisor.options import ServerOptions

    # supervisord checks that the user and the log directory exist: here, ourselves and a directory of the test's.
    logs = tmp_path / "log"
    logs.mkdir()
    text = SUPERVISOR_CONF.read_text().replace("user=maritime", f"user={getpass.getuser()}")
    text = text.replace("/var/log/maritime/", f"{logs}/")
    (tmp_path / "celery-workers.conf").write_text(text)
    main = tmp_path / "supervisord.conf"
    main.write_text(
        f"[supervisord]\nlogfile={tmp_path}/supervisord.log\npidfile={tmp_path}/supervisord.pid\n"
        "[include]\nfiles=celery-workers.conf\n"
    )
    options = ServerOptions()
    options.configfile = str(main)

    section = options.read_config(str(main))

    (group,) = section.process_group_configs
    processes = {process.name: process for process in group.process_configs}
    assert set(processes) == {
        "maritime-worker-emails", "maritime-worker-payments", "maritime-worker-bookings",
        "maritime-beat", "maritime-flower",
    }  # fmt: skip
    emails = processes["maritime-worker-emails"]
    assert emails.stopsignal == signal.SIGTERM
    assert emails.stopwaitsecs > settings.CELERY_TASK_TIME_LIMIT
    assert (emails.stopasgroup, emails.killasgroup) == (False, True)
    assert "-n emails@%h " in emails.command
    assert emails.stdout_logfile == f"{logs}/maritime-worker-emails.log"


def test_the_supervisor_environment_example_is_shell_and_complete(tmp_path):
    sourced = subprocess.run(
        ["/bin/sh", "-c", 'set -a; . "$1"; set +a; exec env -0', "sh", str(SUPERVISOR_ENV_EXAMPLE)],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        check=True,
    )
    env = dict(item.split("=", 1) for item in sourced.stdout.split("\0") if "=" in item)
    listed = env_file_names(SUPERVISOR_ENV_EXAMPLE)

    assert {name: env[name] for name in listed} == listed  # read by the shell exactly as written
    assert env["DEBUG"] == "0"
    assert env["DEFAULT_FROM_EMAIL"] == "Maritime <bookings@ferries.example.com>"
    for name in listed:
        if SECRET_NAME.search(name):
            assert env[name] == "", f"{name} must be left blank in the example"

    # Filled in, it is all a production process needs.
    result = manage_check_deploy(filled_in(listed), tmp_path)
    assert result.returncode == 0, result.stderr


# --- The health probe -----------------------------------------------------------------------------


class StubHandler(http.server.BaseHTTPRequestHandler):
    """Answers what the test put in `server.answer`; records the Host header it was sent."""

    def do_GET(self):
        status, body = self.server.answer
        self.server.hosts.append(self.headers["Host"])
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StubHandler)
    server.answer, server.hosts = (200, {}), []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_probe(url: str, *args: str, allowed_hosts: str = "ferries.example.com") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROBE), url, *args],
        env={"PATH": os.environ["PATH"], "ALLOWED_HOSTS": allowed_hosts},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_probe_is_healthy_on_200_and_names_an_allowed_host(stub_server):
    url = f"http://127.0.0.1:{stub_server.server_port}/healthz"

    result = run_probe(url, allowed_hosts=".ferries.example.com,www.example.com")

    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("healthy: 200")
    assert stub_server.hosts == ["ferries.example.com"]


@pytest.mark.parametrize(
    ("failing", "healthy"),
    [(["cache"], True), (["cache", "broker"], True), (["database"], False), (["cache", "database"], False)],
)
def test_the_probe_tolerates_only_the_parts_it_is_told_to(stub_server, failing, healthy):
    stub_server.answer = (503, {"status": "error", "failing": failing})
    url = f"http://127.0.0.1:{stub_server.server_port}/healthz"

    assert (run_probe(url, "--tolerate", "cache,broker").returncode == 0) is healthy
    assert run_probe(url).returncode == 1  # nothing tolerated unless asked


def test_the_probe_is_unhealthy_when_nothing_answers():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: the connection is refused

        result = run_probe(f"http://127.0.0.1:{port}/healthz", "--timeout", "2")

    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: ")


@pytest.mark.django_db(transaction=True)
def test_the_probe_reads_the_real_healthz(live_server):
    result = run_probe(f"{live_server.url}/healthz", "--tolerate", "cache,broker", allowed_hosts="localhost")

    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("healthy: 200")


# --- Stopping real Celery processes ---------------------------------------------------------------


def start_celery(args: list[str], log: Path) -> subprocess.Popen:
    """`celery -A maritime ARGS` on the test database and this run's broker keys, in a process group of
    its own, as supervisord and Docker start it."""
    env = {**os.environ, "DATABASE_URL": database_url_of_test_db(), "DATABASE_CONN_MAX_AGE": "0"}
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "maritime", *args],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout}s")
        time.sleep(0.1)


def ping(node: str, timeout: int = 10) -> subprocess.CompletedProcess:
    """The compose healthcheck's command, for `node`."""
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "maritime", "inspect", "ping", "-d", node, "--timeout", str(timeout)],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def slow_task_worker(transactional_db, broker, tmp_path):
    """A prefork worker (as deployed) on `default`, that also knows the slow test task, running it once."""
    name = f"{KEY_PREFIX}-shutdown"
    log = tmp_path / "worker.log"
    command = ["worker", "-Q", "default", "-n", f"{name}@%h", "--concurrency", "1", "--loglevel", "INFO"]
    command += ["-I", "deploy.tests.shutdown_tasks", "--without-mingle", "--without-gossip"]
    process = start_celery(command, log)
    marker = tmp_path / "slow"
    try:
        celery_app.send_task(SLOW_TASK, args=[str(marker), 4], queue="default")
        wait_for(Path(f"{marker}.started").exists, 60, "the slow task did not start")
        yield process, marker, log, f"{name}@{socket.gethostname()}"
    finally:
        stop(process)
        sys.stdout.write(f"\n--- worker log ---\n{log.read_text()[-4000:]}")


@pytest.mark.worker
def test_sigterm_lets_the_running_task_finish_before_the_worker_exits(slow_task_worker, broker):
    process, marker, log, node = slow_task_worker
    assert ping(node).returncode == 0  # the healthcheck answers while the worker is busy

    process.send_signal(signal.SIGTERM)  # what Docker (through its init) and supervisord send

    assert process.wait(timeout=60) == 0
    assert Path(f"{marker}.done").exists()
    assert "succeeded" in log.read_text()
    assert broker.queue_length("default") == 0


@pytest.mark.worker
def test_sigterm_to_the_whole_process_group_interrupts_the_running_task(slow_task_worker, broker):
    """Why the supervisor programs set stopasgroup=false: the pool's children must not get the TERM."""
    process, marker, log, _ = slow_task_worker

    os.killpg(process.pid, signal.SIGTERM)

    process.wait(timeout=60)
    assert not Path(f"{marker}.done").exists()
    assert "WorkerLostError" in log.read_text()
    # Not lost, though: acks_late and reject_on_worker_lost put it back on its queue, to run again.
    assert broker.queue_length("default") == 1


@pytest.mark.worker
def test_beat_answers_the_healthcheck_ping_and_stops_on_sigterm(transactional_db, broker, tmp_path):
    name = f"{KEY_PREFIX}-beat"
    log = tmp_path / "beat.log"
    command = ["beat", "--scheduler", settings.CELERY_BEAT_SCHEDULER, "--enable-remote-control"]
    command += ["-n", f"{name}@%h", "--loglevel", "INFO"]
    process = start_celery(command, log)
    try:
        node = f"{name}@{socket.gethostname()}"
        wait_for(lambda: ping(node, timeout=2).returncode == 0, 60, "beat did not answer")

        process.send_signal(signal.SIGTERM)

        assert process.wait(timeout=30) == 0
        assert ping(node, timeout=2).returncode != 0
    finally:
        stop(process)
        sys.stdout.write(f"\n--- beat log ---\n{log.read_text()[-4000:]}")
