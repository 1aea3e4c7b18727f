"""Figure 9's baseline, measured beside the current code in the same run: commit b26a980's own stack.

Its code is taken from this repository's history (`git archive`), with a venv of its own holding what its
requirements.txt pinned then (no hiredis, no orjson), both kept between runs under the user's cache folder
(~/.cache/maritime/bench-baseline-<commit>). Its stack is started as the current one is (bench/stack.py: a
database, two private Redis servers, the workers, gunicorn A, the operator simulator, a Stripe stand-in and an SMTP
sink of its own), seeded alike, and driven by the same lifecycles. Nothing of it is committed anywhere.
"""

import fcntl
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from bench.stack import BASE_DIR, Stack

COMMIT = "b26a980"


def folder() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "maritime" / f"bench-baseline-{COMMIT}"


def quietly(command: list[str], **options) -> None:
    """`command` run to its end, its output shown only if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def prepare() -> tuple[Path, str]:
    """(the baseline's code, its venv's python), made once and reused while the commit's requirements stay; two runs
    at once make them one after the other."""
    folder().mkdir(parents=True, exist_ok=True)
    with (folder() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _prepare(folder() / "code", folder() / "venv")


def _prepare(code: Path, venv: Path) -> tuple[Path, str]:
    if not (code / ".complete").exists():
        archive = subprocess.run(["git", "-C", str(BASE_DIR), "archive", COMMIT], capture_output=True, check=False)
        if archive.returncode:
            raise RuntimeError(
                f"figure 9 measures commit {COMMIT} beside this code, and `git archive {COMMIT}` failed "
                f"({archive.stderr.decode(errors='replace').strip()}): a shallow clone lacks it "
                f"(`git fetch --unshallow`), or leave figure 9 out (--only)"
            )
        shutil.rmtree(code, ignore_errors=True)
        code.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(code, filter="data")
        (code / ".complete").touch()
    requirements = (code / "requirements.txt").read_bytes()
    marker = venv / ".installed"
    wanted = hashlib.sha256(requirements).hexdigest()
    if not marker.exists() or marker.read_text() != wanted:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        quietly([str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "-r",
                 str(code / "requirements.txt")])  # fmt: skip
        marker.write_text(wanted)
    python = str(venv / "bin" / "python")
    if not (code / "locale" / ".compiled").exists():
        quietly([python, "manage.py", "catalogues", "compile"], cwd=code, env={**os.environ, "DEBUG": "1"})
        (code / "locale" / ".compiled").touch()
    return code, python


def stack(workdir: Path) -> Stack:
    """The baseline's stack, nothing of it started yet (`seed`, then `start_app` at figure 9)."""
    code, python = prepare()
    workdir.mkdir(parents=True, exist_ok=True)
    return Stack(workdir, code=code, python=python)


def seed(baseline: Stack) -> Stack:
    """Its database made and seeded as the current one's, its Redis servers and stand-ins started."""
    baseline.start_postgres()
    baseline.start_redis()
    baseline.start_side_services()
    baseline.manage("migrate", "--noinput")
    baseline.manage("seed_demo_data", "--days", "90", "--verbosity", "0")
    baseline.settle_database()
    return baseline
