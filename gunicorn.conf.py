"""gunicorn reads this file from the working directory at every start (the Docker image's, a release's): options
stay on the command line; here only what must run in gunicorn's master process.

With PROMETHEUS_MULTIPROC_DIR set, each web worker process writes its metrics to files there and /metrics adds them
up (kernel/metrics.py): the master empties the directory before it starts its workers, so that a restart does not
add the previous run's counts in. The directory is the web server's alone.
"""

import os
from pathlib import Path


def on_starting(server) -> None:
    # The master imports no Django: the directory is emptied here as kernel.metrics.multiprocess_dir_clear does.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip()
    if directory and Path(directory).is_dir():
        for path in Path(directory).glob("*.db"):
            path.unlink(missing_ok=True)
