"""`make bench`'s tools (bench/): what an operator types to learn its options answers them, a profile's summary says
where the CPU went, and the fixed-rate load sent from a process of its own reaches the server and is counted."""

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings

from bench import profile
from bench.load import ApartLoad, http_request


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


def test_a_fixed_rate_load_from_a_process_of_its_own_sends_each_request_in_turn_and_counts_the_answers():
    seen = []

    class Server(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            seen.append(self.path)
            status = 200 if self.path == "/ok" else 404
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        requests = [http_request("GET", url + "/ok"), http_request("GET", url + "/gone")]
        run = ApartLoad(url, requests, rate=40, seconds=1).start().result()
    finally:
        server.shutdown()

    assert run.requests == 40
    assert dict(run.statuses) == {200: 20, 404: 20}
    assert sorted(seen) == ["/gone"] * 20 + ["/ok"] * 20
    assert 0 < run.p(50) <= run.p(99)
