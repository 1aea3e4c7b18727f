"""`make bench`'s tools (bench/): what an operator types to learn its options answers them, and a profile's summary
says where the CPU went."""

import subprocess
import sys

from django.conf import settings

from bench import profile


def test_the_benchmarks_help_lists_their_options():
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--help"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    for option in ("--only", "--rounds", "--compare", "--keep-logs"):
        assert option in done.stdout
    assert "±15 %" in done.stdout


def test_a_profile_summary_adds_each_function_up_over_the_stacks_it_is_on(tmp_path):
    raw = tmp_path / "web.raw"
    raw.write_text(
        "process 1;handle (/srv/.venv/lib/python3.11/site-packages/django/core/handlers/base.py:10);"
        "search (/srv/ferries/search.py:5);dumps (/srv/lib/python3.11/json/__init__.py:238) 30\n"
        "process 1;handle (/srv/.venv/lib/python3.11/site-packages/django/core/handlers/base.py:10);"
        "search (/srv/ferries/search.py:9) 10\n"
        "process 1;handle (/srv/.venv/lib/python3.11/site-packages/django/core/handlers/base.py:12) 60\n"
    )

    summary = profile.summarise(raw).splitlines()

    assert summary[0] == "100 samples holding the GIL"
    inclusive = summary[summary.index("inclusive (on the stack):") + 1 : summary.index("self (running):") - 1]
    assert inclusive == [
        "  100.0 %  handle (django/core/handlers/base.py)",
        "   40.0 %  search (/srv/ferries/search.py)",
        "   30.0 %  dumps (json/__init__.py)",
    ]
    assert summary[summary.index("self (running):") + 1] == "   60.0 %  handle (django/core/handlers/base.py)"
