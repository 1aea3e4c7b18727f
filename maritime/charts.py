"""Geometry of the operations page's small charts, drawn as inline SVG by its template (no script, no CDN)."""

import datetime as dt

BAR_CHART = {"width": 480, "height": 120, "axis": 16}
SPARKLINE = {"width": 240, "height": 36}


def task_bars(hours: list[dict]) -> dict:
    """Stacked bars per hour: succeeded below, failed above, scaled to the busiest hour."""
    width, height, axis = BAR_CHART["width"], BAR_CHART["height"], BAR_CHART["axis"]
    plot = height - axis
    top = max([h["succeeded"] + h["failed"] for h in hours] + [1])
    slot = width / max(len(hours), 1)
    bars = []
    for i, hour in enumerate(hours):
        succeeded = hour["succeeded"] / top * plot
        failed = hour["failed"] / top * plot
        bars.append(
            {
                "x": round(i * slot + 2, 1),
                "width": round(slot - 4, 1),
                "succeeded_y": round(plot - succeeded, 1),
                "succeeded_height": round(succeeded, 1),
                "failed_y": round(plot - succeeded - failed, 1),
                "failed_height": round(failed, 1),
                "label_x": round(i * slot + slot / 2, 1),
                "label": f"{hour['hour']:%H}",
                "title": f"{hour['hour']:%H:00} UTC: {hour['succeeded']} succeeded, {hour['failed']} failed",
            }
        )
    return {"width": width, "height": height, "label_y": height - 3, "top": top, "bars": bars}


def queue_sparklines(samples: list[tuple[float, dict]], queues: tuple[str, ...], *, now: float, hours: int) -> dict:
    """Per queue, a polyline of its sampled lengths over the last `hours` hours (empty without samples)."""
    width, height = SPARKLINE["width"], SPARKLINE["height"]
    start = now - hours * 3600
    lines = []
    for queue in queues:
        points = [(at, lengths.get(queue, 0)) for at, lengths in samples]
        peak = max([length for _at, length in points] + [0])
        scale = max(peak, 1)  # an idle queue is a flat line at the bottom
        coordinates = " ".join(
            f"{(at - start) / (hours * 3600) * width:.1f},{height - 2 - length / scale * (height - 4):.1f}"
            for at, length in points
        )
        lines.append(
            {
                "queue": queue,
                "points": coordinates,
                "peak": peak,
                "samples": len(points),
                "since": dt.datetime.fromtimestamp(points[0][0], tz=dt.UTC) if points else None,
            }
        )
    return {"width": width, "height": height, "lines": lines}
