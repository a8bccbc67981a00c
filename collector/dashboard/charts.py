"""Server-rendered charts: geometry for an inline SVG stacked bar chart (the template draws it,
so every label goes through Jinja's autoescaping). Nothing is fetched from anywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

# Colour-blind-friendly palette (Okabe–Ito), then grey for "other".
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442")
OTHER_COLOUR = "#999999"
MAX_SERIES = len(PALETTE)


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str  # tooltip: "label, period: n"


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)  # (colour, label)
    plot_left: int = 48
    plot_bottom: int = 0
    empty: bool = False


def _nice_max(value: int) -> int:
    step = 1
    while True:
        for m in (1, 2, 5):
            if value <= step * m * 4:
                return step * m * 4
        step *= 10


def stacked_bars(
    periods: list[str], series: dict[str, list[int]], other_label: str, width: int = 760, height: int = 300
) -> Chart:
    """Stack the series per period; series beyond MAX_SERIES are summed into `other_label`."""
    names = list(series)
    kept = {n: series[n] for n in names[:MAX_SERIES]}
    rest = names[MAX_SERIES:]
    if rest:
        kept[other_label] = [sum(series[n][i] for n in rest) for i in range(len(periods))]
    colours = {n: PALETTE[i] if i < MAX_SERIES else OTHER_COLOUR for i, n in enumerate(kept)}
    left, top, bottom = 48, 10, 40
    chart = Chart(width, height, plot_left=left, plot_bottom=height - bottom)
    totals = [sum(v[i] for v in kept.values()) for i in range(len(periods))]
    top_value = _nice_max(max(totals, default=0) or 1)
    plot_h = height - top - bottom
    slot = (width - left - 10) / max(len(periods), 1)
    for i, label in enumerate(periods):
        x = left + i * slot
        chart.x_labels.append((x + slot / 2, label))
        y = height - bottom
        for name, values in kept.items():
            if values[i]:
                h = values[i] / top_value * plot_h
                y -= h
                chart.bars.append(
                    Bar(
                        round(x + slot * 0.15, 1),
                        round(y, 1),
                        round(slot * 0.7, 1),
                        round(h, 1),
                        colours[name],
                        f"{name}, {label}: {values[i]}",
                    )
                )
    for k in range(5):
        value = top_value * k // 4
        chart.y_ticks.append((round(height - bottom - value / top_value * plot_h, 1), value))
    chart.legend = [(colours[n], n) for n in kept]
    chart.empty = not any(totals)
    return chart
