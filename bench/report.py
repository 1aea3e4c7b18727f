"""bench/results.md (the table, the details, the profiles of missed targets) and bench/results.png (latencies)."""

import math
import os
import platform
from pathlib import Path

from bench import history
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
    return history.ratio_text(figure.number, figure.ratio)


def _spread(figure: Figure) -> str:
    """The rounds' lowest–highest ratio and, as ±, half that range against the figure."""
    spread = figure.spread()
    if spread is None:
        return "one run"
    low, high = spread
    text = f"{history.ratio_text(figure.number, low)}–{history.ratio_text(figure.number, high)}"
    if figure.ratio and math.isfinite(figure.ratio) and math.isfinite(high - low):
        text += f" (±{(high - low) / 2 / abs(figure.ratio) * 100:.0f} %)"
    return text


def table(figures: list[Figure], previous: dict | None = None) -> str:
    """The figures; with `previous` (the last full run's history entry), each ratio's change since."""
    head = "| # | figure | A | B | ratio | rounds | target | met |"
    rule = "|---|---|---|---|---|---|---|---|"
    if previous:
        head, rule = head + " vs last full run |", rule + "---|"
    lines = [head, rule]
    for f in figures:
        a = f"{_number(f.a, f.unit)} ({f.a_label})"
        b = f"{_number(f.b, f.unit)} ({f.b_label})"
        line = f"| {f.number} | {f.title} | {a} | {b} | {_ratio(f)} | {_spread(f)} | {f.target} | "
        line += "yes |" if f.met else "**no** |"
        if previous:
            before = previous["figures"].get(str(f.number))
            line += f" {history.change_text(history.change(before, {'ratio': f.ratio}))} |"
        lines.append(line)
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
    cores = os.cpu_count()  # all of them: nproc would count only the load generator's
    return f"{cores} cores ({cpu}), Python {platform.python_version()}"


def markdown(
    figures: list[Figure],
    config: Config,
    *,
    minutes: float,
    load: str,
    notes: dict[int, str],
    past: list[dict],
    previous: dict | None,
    pinning: str,
) -> str:
    """`past`: the history, this run last if it is a full one; `previous`: the full run this one is set beside."""
    out = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({minutes:.1f} minutes end to end) on {machine()}; load average at the start: "
        f"{load}. Each ratio compares medians of {config.rounds} alternating A/B rounds of {config.seconds:.0f} s, "
        f"each after a {config.warmup:.0f} s warm-up (figure 5: one run of {config.zipf_seconds:.0f} s); "
        "*rounds* gives the lowest and highest of the rounds' own ratios. "
        f"{pinning} The machine's few cores are shared, so absolute figures say little: read the ratios. "
        "What each figure measures and how: bench/README.md.",
        "",
        table(figures, previous),
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
    if past:
        out += [
            "## History",
            "",
            "Every full run (bench/history.json): the ratio, in brackets the lowest–highest of its rounds; *change* "
            f"is the last run against the one before, in bold beyond ±{history.TOLERANCE * 100:.0f} % (two runs of "
            "the same code must agree within that).",
            "",
            history.table(past),
            "",
        ]
    missed = [f for f in figures if not f.met]
    if missed:
        out += ["## Targets not met", ""]
        for f in missed:
            out.append(f"### {f.number}. {f.title}: {_ratio(f)} (target {f.target})")
            out.append("")
            if f.number in notes:
                out += [notes[f.number], ""]
            out += _profile(f)
    profiled_met = [f for f in figures if f.met and f.profile]
    if profiled_met:
        out += ["## Profiles of targets met (`--profile-all`)", ""]
        for f in profiled_met:
            out += [f"### {f.number}. {f.title}: {_ratio(f)} (target {f.target})", "", *_profile(f)]
    return "\n".join(out) + "\n"


def _profile(f: Figure) -> list[str]:
    if not f.profile:
        return []
    heading = f"Profile under this load (py-spy, {f.profiled} with their child processes):"
    return [heading, "", "```", f.profile, "```", ""]


def plot(figures: list[Figure], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    shown = [f for f in figures if f.distributions]
    if not shown:  # figures of CPU or counts only
        return
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
