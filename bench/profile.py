"""Sampling profiles of the running stack with py-spy, summed up as text a person can read.

py-spy attaches to running processes (gunicorn's workers, Celery's pool) without restarting them and writes
every sampled stack; the summary answers where the time went: the functions seen most often on the stack
(inclusive), and the frames that were running (self).
"""

import subprocess
import sys
from collections import Counter
from pathlib import Path

PY_SPY = Path(sys.executable).parent / "py-spy"
# Frames of the machinery every request goes through, kept out of the "inclusive" list to leave room for ours.
TOO_GENERAL = ("gunicorn/", "threading.py", "concurrent/futures/thread.py", "socketserver.py", "selectors.py")


def record(pid: int, out: Path, *, seconds: float, rate: int = 250) -> subprocess.Popen:
    """Start py-spy on `pid` and its children for `seconds`; wait for the returned process.

    Only samples of threads holding the GIL are kept (`--gil`): where the CPU goes. Without it, a thread waiting in a
    system call py-spy does not know as idle (a Celery worker's epoll, a socket read) counts as busy, and a profile
    of a worker waiting for its next task reads "98 % epoll"."""
    command = [str(PY_SPY), "record", "--pid", str(pid), "--subprocesses", "--gil", "--format", "raw"]
    command += ["--output", str(out)]
    command += ["--duration", str(int(seconds)), "--rate", str(rate), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame_name(frame: str) -> str:
    # py-spy's raw frames read "function (path/to/file.py:line)"; the line is dropped to add calls up.
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/", "/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"


def summarise(raw: Path, *, top: int = 18) -> str:
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    if not raw.exists():
        return "(no profile: py-spy wrote nothing)"
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        frames = [_frame_name(f) for f in stack.split(";")[1:] if f]  # the first is the process/thread
        if not frames or all("idle" in f for f in frames[-1:]):
            continue
        total += samples
        own[frames[-1]] += samples
        for name in set(frames):
            inclusive[name] += samples
    if not total:
        return "(no samples)"
    lines = [f"{total} samples holding the GIL", "", "inclusive (on the stack):"]
    shown = 0
    for name, samples in inclusive.most_common():
        if any(general in name for general in TOO_GENERAL) or name.startswith(("<module>", "run (", "_bootstrap")):
            continue
        lines.append(f"  {100 * samples / total:5.1f} %  {name}")
        shown += 1
        if shown == top:
            break
    lines += ["", "self (running):"]
    lines += [f"  {100 * samples / total:5.1f} %  {name}" for name, samples in own.most_common(top)]
    return "\n".join(lines)
