"""bench/results.md (the table, the details, the profiles of missed targets) and bench/results.png (latencies)."""

import math
import platform
import subprocess
from pathlib import Path

from bench.figures import Config, Figure


def _number(value: float, unit: str) -> str:
    if math.isnan(value) or math.isinf(value):
        return "—"
    if unit in {"ms", "p50 ms"}:
        return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"
    if unit == "searches":
        return f"{value:,.0f}".replace(",", " ")
    return f"{value:,.0f} {unit}".replace(",", " ") if value >= 10 else f"{value:.1f} {unit}"


def _ratio(figure: Figure) -> str:
    if math.isnan(figure.ratio) or math.isinf(figure.ratio):
        return "—"
    if figure.number in {2, 3, 10}:
        return f"{figure.ratio:.1f}×"
    return f"{figure.ratio:.2f}"


def table(figures: list[Figure]) -> str:
    lines = ["| # | figure | A | B | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    for f in figures:
        a = f"{_number(f.a, f.unit)} ({f.a_label})"
        b = f"{_number(f.b, f.unit)} ({f.b_label})"
        lines.append(
            f"| {f.number} | {f.title} | {a} | {b} | {_ratio(f)} | {f.target} | {'yes' if f.met else '**no**'} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return f"{cores} cores ({cpu}), Python {platform.python_version()}"


def markdown(figures: list[Figure], config: Config, *, minutes: float, load: str, notes: dict[int, str]) -> str:
    out = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({minutes:.1f} minutes end to end) on {machine()}; load average at the start: "
        f"{load}. Each ratio compares medians of {config.rounds} alternating A/B rounds of {config.seconds:.0f} s, "
        f"each after a {config.warmup:.0f} s warm-up (figure 5: one run of {config.zipf_seconds:.0f} s). The load "
        "generator shares the machine with the whole stack, so absolute figures say little: read the ratios. "
        "What each figure measures and how: bench/README.md.",
        "",
        table(figures),
        "",
        "![Latency distributions](results.png)",
        "",
        "## Details",
        "",
    ]
    for f in figures:
        runs = ", ".join(f"{side.upper()} " + " / ".join(f"{v:.4g}" for v in values) for side, values in f.runs.items())
        out.append(f"**{f.number}. {f.title}.** " + " ".join(d.rstrip(".") + "." for d in f.details))
        if runs:
            out.append(f"Rounds ({f.unit}): {runs}.")
        out.append("")
    missed = [f for f in figures if not f.met]
    if missed:
        out += ["## Targets not met", ""]
        for f in missed:
            out.append(f"### {f.number}. {f.title}: {_ratio(f)} (target {f.target})")
            out.append("")
            if f.number in notes:
                out += [notes[f.number], ""]
            if f.profile:
                out += [f"Profile under this load (py-spy, {f.profiled} with their child processes):", "", "```"]
                out += [f.profile, "```", ""]
    return "\n".join(out) + "\n"


def plot(figures: list[Figure], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    shown = [f for f in figures if f.distributions]
    columns = 3
    rows = math.ceil(len(shown) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.6 * rows), squeeze=False)
    for ax, figure in zip(axes.flat, shown, strict=False):
        for label, percentiles in figure.distributions.items():
            quantiles = sorted(percentiles)
            latencies = [percentiles[q] * 1000 for q in quantiles]
            ax.plot(latencies, quantiles, marker=".", label=label.split(" ", 1)[1])
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("latency (ms, log scale)")
        ax.set_ylabel("percentile")
        ax.set_ylim(0, 100)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_title(f"{figure.number}. {figure.title}", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    fig.suptitle("Latency distributions (medians of the rounds' percentiles)", fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
