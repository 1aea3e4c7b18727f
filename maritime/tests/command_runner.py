"""Runs `manage.py` command lines for the tests, each in a process of its own, with Django set up once.

`python -m maritime.tests.command_runner` reads one command line per line of its standard input (a JSON list of
arguments), forks, and runs it in the child as `python manage.py …` would: `execute_from_command_line`, its output
on the child's own standard output and error, its exit status as the process's. It answers one JSON line:
`{"returncode", "stdout", "stderr"}`. Setting Django up takes about 2.5 s here, running a refused command a few
milliseconds: a test suite that runs many command lines pays the first once (the settings themselves are tested
by starting real processes, in test_settings.py).
"""

import json
import os
import sys
import tempfile
import traceback


def run_in_child(args: list[str], stdout_fd: int, stderr_fd: int) -> int:
    from django.core.management import execute_from_command_line

    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    sys.argv = ["manage.py", *args]
    try:
        execute_from_command_line(sys.argv)
        code = 0
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            sys.stderr.write(exit_.code + "\n")
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # as Python itself: the traceback on standard error, status 1
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def run(args: list[str]) -> dict:
    from django.db import connections

    connections.close_all()  # no connection shared with a child
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child leaves through os._exit
            os._exit(run_in_child(args, out.fileno(), err.fileno()))
        _, status = os.waitpid(pid, 0)
        out.seek(0)
        err.seek(0)
        return {
            "returncode": os.waitstatus_to_exitcode(status),
            "stdout": out.read().decode(errors="replace"),
            "stderr": err.read().decode(errors="replace"),
        }


def main() -> None:
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever set-up prints goes to standard error, never into the answers
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maritime.settings")
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    for name, app in get_commands().items():  # import every command once, as the children would
        load_command_class(app, name)
    for line in sys.stdin:
        answers.write(json.dumps(run(json.loads(line))) + "\n")


if __name__ == "__main__":
    main()
