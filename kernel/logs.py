"""Log lines that say which booking and which task they are about.

Context variables hold the booking reference and the Celery task's id and name while a request or a
task runs: `LogContextMiddleware` sets the reference for a URL naming a booking (`bookings/<reference>…`,
website and API), and the Celery signals in maritime/celery.py set the task's id and name — and the
booking's reference when the task is given a `booking_id` (the project looks it up: the kernel knows no app). The filter
copies them onto every record; `JsonFormatter`, python-json-logger's, writes one JSON object per line
(LOG_FORMAT=json, the production default).

Log lines carry ids, references and codes, never a traveller's name or e-mail address.
"""

import contextlib
import contextvars
import logging

import pythonjsonlogger.json

logger = logging.getLogger(__name__)

booking_reference_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("booking_reference", default=None)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
task_name_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_name", default=None)
CONTEXT = {"booking_reference": booking_reference_var, "task_id": task_id_var, "task_name": task_name_var}

# Tokens of the context set for each running task, to put the context back as it was when it ends (an eager
# task runs inside a request, whose own context must survive it).
_task_tokens: dict[str, list[contextvars.Token]] = {}


class LogContextFilter(logging.Filter):
    """Adds booking_reference, task_id and task_name (None when unknown) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object per line: time (UTC), level, logger, message, the context when known, the exception and the
    stack when there is one. Nothing else: what other libraries attach to their records (Django's request, Celery's
    task data) could carry a traveller's details."""

    FIELDS = ("time", "level", "logger", "message", *CONTEXT, "exception", "stack")

    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message"],
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception", "stack_info": "stack"},
            timestamp="time",
            json_ensure_ascii=False,
        )

    def process_log_record(self, log_data: dict) -> dict:
        log_data["time"] = log_data["time"].isoformat(timespec="milliseconds")  # a datetime in UTC
        return {name: log_data[name] for name in self.FIELDS if log_data.get(name) is not None}


class LogContextMiddleware:
    """Names the booking in the log lines of a request whose URL names one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = booking_reference_var.set(None)
        try:
            return self.get_response(request)
        finally:
            booking_reference_var.reset(token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Set by the path converters of bookings.converters: a reference in shape, or None when it cannot be one.
        if reference := view_kwargs.get("reference"):
            booking_reference_var.set(reference)


def task_context_enter(*, task_id: str | None, task_name: str | None, reference: str | None = None) -> None:
    """A task starts (task_prerun): its id and name, and its booking's reference, go into every log line."""
    tokens = [task_id_var.set(task_id), task_name_var.set(task_name)]
    if reference:
        tokens.append(booking_reference_var.set(reference))
    if task_id:
        _task_tokens[task_id] = tokens


def task_context_leave(*, task_id: str | None) -> None:
    """The task ended (task_postrun): the context is as it was before it."""
    for token in reversed(_task_tokens.pop(task_id, []) if task_id else []):
        # A token set in another context (a pool that moved the task) leaves nothing of ours to undo here.
        with contextlib.suppress(ValueError):
            token.var.reset(token)
