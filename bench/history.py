"""The figures of every full run, kept in bench/history.json: a regression shows as a column unlike the others.

Each entry is one full run: its date, the commit measured, and per figure the ratio with the lowest and highest
of its rounds. `python bench/run.py --compare` sets the last run beside the one before it.
"""

import json
import math
import subprocess
from pathlib import Path

HISTORY = Path(__file__).resolve().parent / "history.json"
# Two full runs of the same code, back to back, must agree within this on every ratio.
TOLERANCE = 0.15
SHOWN = 8  # runs in the table of results.md; history.json keeps them all
MULTIPLES = {2, 3, 10}  # figures read as "n× faster"


def ratio_text(number: int, value: float | None) -> str:
    if value is None or math.isnan(value) or math.isinf(value):
        return "—"
    return f"{value:.1f}×" if number in MULTIPLES else f"{value:.2f}"


def load(path: Path = HISTORY) -> list[dict]:
    return json.loads(path.read_text()) if path.exists() else []


def save(runs: list[dict], path: Path = HISTORY) -> None:
    path.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n")


# What a full run writes into the checkout it measures: a change there is no change to the code measured.
WRITTEN = ["bench/history.json", "bench/results.md", "bench/results.png"]


def commit(root: Path = HISTORY.parent.parent) -> str:
    """The commit measured, followed by "+" when the checkout at `root` has changes beyond what a run writes (the
    second of two runs back to back finds the first's results in the tree: its code is still the commit's)."""
    git = ["git", "-C", str(root)]
    out = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    left_out = [f":(exclude){path}" for path in WRITTEN]
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no", "--", ".", *left_out], capture_output=True, text=True
    )
    return out.stdout.strip() + ("+" if dirty.stdout.strip() else "")


def entry(figures, *, date: str) -> dict:
    """One run's column: {figure: {ratio, low, high}} (low and high: the rounds' own ratios)."""
    out = {}
    for figure in figures:
        spread = figure.spread()
        out[str(figure.number)] = {
            "title": figure.title,
            "ratio": _finite(figure.ratio),
            "low": _finite(spread[0]) if spread else None,
            "high": _finite(spread[1]) if spread else None,
            "probe": _finite(figure.probe_ms) if figure.probe_ms is not None else None,
        }
    return {"date": date, "commit": commit(), "figures": out}


def _finite(value: float) -> float | None:
    return round(value, 4) if value is not None and math.isfinite(value) else None


def cell(number: int, figure: dict | None) -> str:
    if not figure or figure.get("ratio") is None:
        return "—"
    text = ratio_text(number, figure["ratio"])
    if figure.get("low") is not None:
        text += f" ({ratio_text(number, figure['low'])}–{ratio_text(number, figure['high'])})"
    return text


def change(before: dict | None, after: dict | None) -> float | None:
    """after ÷ before − 1, or None when either is missing."""
    if not before or not after or not before.get("ratio") or after.get("ratio") is None:
        return None
    return after["ratio"] / before["ratio"] - 1


def change_text(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value * 100:+.0f} %"
    return text if abs(value) <= TOLERANCE else f"**{text}**"


def table(runs: list[dict]) -> str:
    """Figure × run: the ratio and, in brackets, its rounds' lowest–highest; the last column the change."""
    shown = runs[-SHOWN:]
    titles = {int(n): figure["title"] for run in shown for n, figure in run["figures"].items()}
    numbers = sorted({int(n) for run in shown for n in run["figures"]})
    head = "| # | figure | " + " | ".join(f"{run['date']} `{run['commit']}`" for run in shown) + " | change |"
    lines = [head, "|---|---|" + "---|" * (len(shown) + 1)]
    for number in numbers:
        cells = [cell(number, run["figures"].get(str(number))) for run in shown]
        last = (
            change(shown[-2]["figures"].get(str(number)), shown[-1]["figures"].get(str(number)))
            if len(shown) > 1
            else None
        )
        lines.append(f"| {number} | {titles[number]} | " + " | ".join(cells) + f" | {change_text(last)} |")
    probes = [probe(run) for run in shown]
    if any(value is not None for value in probes):
        moved = probes[-1] / probes[-2] - 1 if len(probes) > 1 and None not in probes[-2:] else None
        cells = ["—" if value is None else f"{value:.1f} ms" for value in probes]
        lines.append("| | speed probe (higher: a slower machine) | " + " | ".join(cells) + f" | {change_text(moved)} |")
    return "\n".join(lines)


def _speed(probes: float) -> str:
    """How the second of two runs' machines compares with the first's, from their probes' ratio."""
    if abs(probes - 1) < 0.05:
        return "about as fast"
    return "slower" if probes > 1 else "faster"


def probe(run: dict) -> float | None:
    """The median of the speed probe's figures of `run` (each the median of the timings taken while it was measured,
    bench/cpu.py); None for runs before it."""
    values = sorted(f["probe"] for f in run["figures"].values() if f.get("probe") is not None)
    return values[len(values) // 2] if values else None


def compare(before: dict, after: dict) -> tuple[str, bool]:
    """The text of each ratio's change from `before` to `after`, and whether every one is within TOLERANCE."""
    lines = [f"{before['date']} {before['commit']} → {after['date']} {after['commit']}"]
    agree = True
    for number in sorted({int(n) for n in after["figures"]} | {int(n) for n in before["figures"]}):
        old, new = before["figures"].get(str(number)), after["figures"].get(str(number))
        moved = change(old, new)
        within = moved is not None and abs(moved) <= TOLERANCE
        agree &= within or (moved is None and not (old and new))  # a figure new or dropped
        verdict = "" if moved is None else ("within" if within else "OUTSIDE") + f" ±{TOLERANCE * 100:.0f} %"
        text = f"  {number:>2}: {cell(number, old):>22} → {cell(number, new):>22}  "
        probes = [f.get("probe") for f in (old or {}, new or {})]
        machine = f"  speed probe {probes[1] / probes[0] - 1:+.0%}" if None not in probes else ""
        lines.append(text + f"{change_text(moved).strip('*'):>7} {verdict}{machine}")
    before_probe, after_probe = probe(before), probe(after)
    if before_probe and after_probe:
        lines.append(
            f"  speed probe (median of the figures'): {before_probe:.1f} → {after_probe:.1f} ms of CPU for the same "
            f"work ({after_probe / before_probe - 1:+.0%}): the second run's machine was "
            + _speed(after_probe / before_probe)
        )
    return "\n".join(lines), agree
