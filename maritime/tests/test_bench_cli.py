"""`make bench`'s command line (bench/run.py): what an operator types to learn its options answers them."""

import subprocess
import sys

from django.conf import settings


def test_the_benchmarks_help_lists_their_options():
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--help"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    for option in ("--only", "--rounds", "--compare", "--keep-logs"):
        assert option in done.stdout
    assert "±15 %" in done.stdout
