"""Small charts and image grids drawn with OpenCV (no plotting library needed on a board)."""

from __future__ import annotations

import cv2
import numpy as np

COLOURS = [(200, 60, 40), (40, 140, 40), (40, 60, 200), (160, 40, 160), (30, 150, 190), (100, 100, 100)]
#: (dash length and gap in px, marker) per round of :data:`COLOURS`: solid, dashed, dotted
STYLES = [((0, 0), "circle"), ((12, 6), "square"), ((3, 5), "triangle")]
#: width of the legend column right of a :func:`line_chart`'s plot
LEGEND_W = 260
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def series_style(n: int) -> tuple[tuple[int, int, int], tuple[int, int], str]:
    """Colour, dash and marker of the ``n``-th series: the colours first, then the same colours
    dashed with squares, then dotted with triangles (distinct for the first 18 series)."""
    dash, marker = STYLES[(n // len(COLOURS)) % len(STYLES)]
    return COLOURS[n % len(COLOURS)], dash, marker


def _segment(img: np.ndarray, p0: tuple[int, int], p1: tuple[int, int], colour, dash: tuple[int, int]) -> None:
    """A line from ``p0`` to ``p1``, solid or dashed ``(on, off)`` px."""
    on, off = dash
    a, b = np.array(p0, float), np.array(p1, float)
    length = float(np.hypot(*(b - a)))
    if not on or not length:
        cv2.line(img, p0, p1, colour, 2)
        return
    step = (b - a) / length
    for t in np.arange(0.0, length, on + off):
        q0, q1 = a + step * t, a + step * min(t + on, length)
        cv2.line(img, tuple(int(round(v)) for v in q0), tuple(int(round(v)) for v in q1), colour, 2)


def _marker(img: np.ndarray, p: tuple[int, int], colour, marker: str) -> None:
    x, y = p
    if marker == "square":
        cv2.rectangle(img, (x - 4, y - 4), (x + 4, y + 4), colour, -1)
    elif marker == "triangle":
        cv2.fillPoly(img, [np.array([(x, y - 5), (x - 5, y + 4), (x + 5, y + 4)], np.int32)], colour)
    else:
        cv2.circle(img, p, 4, colour, -1)


def line_chart(series: dict[str, dict[str, float]], x_labels: list[str], title: str,
               size: tuple[int, int] = (1100, 560), y_from_zero: bool = True) -> np.ndarray:
    """One line per series; ``series[label][x_label] = y``, with the legend in a column on the
    right (:data:`LEGEND_W` px) where it hides no line. Returns a BGR image."""
    W, H = size
    m = 70
    R = W - m - LEGEND_W  # the plot's right edge
    img = np.full((H, W, 3), 255, np.uint8)
    values = [v for pts in series.values() for v in pts.values()]
    ymax = max(values) if values else 1.0
    ymin = 0.0 if y_from_zero else min(values)
    pad = (ymax - ymin) * 0.1 or 1.0
    ymin, ymax = (ymin if y_from_zero else ymin - pad), ymax + pad
    xs = lambda i: m + (i * (R - m) / max(1, len(x_labels) - 1) if len(x_labels) > 1 else (R - m) / 2)  # noqa: E731
    ys = lambda v: H - m - (v - ymin) / (ymax - ymin) * (H - 2 * m)  # noqa: E731
    cv2.line(img, (m, H - m), (R, H - m), (0, 0, 0), 1)
    cv2.line(img, (m, m), (m, H - m), (0, 0, 0), 1)
    for i, lab in enumerate(x_labels):
        cv2.putText(img, lab, (int(xs(i)) - 4 * len(lab), H - m + 20), _FONT, 0.45, (0, 0, 0), 1)
    for k in range(5):
        v = ymin + (ymax - ymin) * k / 4
        cv2.putText(img, f"{v:.1f}" if ymax - ymin < 20 else f"{v:.0f}", (8, int(ys(v)) + 4), _FONT, 0.45, (0, 0, 0), 1)
    cv2.putText(img, title, (m, 40), _FONT, 0.6, (0, 0, 0), 1)
    for n, pts in enumerate(series.values()):
        c, dash, marker = series_style(n)
        coords = [(int(xs(i)), int(ys(pts[x]))) for i, x in enumerate(x_labels) if x in pts]
        for p0, p1 in zip(coords, coords[1:]):
            _segment(img, p0, p1, c, dash)
        for p in coords:
            _marker(img, p, c, marker)
    for n, label in enumerate(series):  # the legend: a sample of each line and its marker, then its label
        c, dash, marker = series_style(n)
        lx, ly = R + 30, m + 18 * n
        _segment(img, (lx, ly - 4), (lx + 30, ly - 4), c, dash)
        _marker(img, (lx + 15, ly - 4), c, marker)
        cv2.putText(img, _keep_end(label, 40), (lx + 40, ly), _FONT, 0.45, c, 1)
    return img


def _keep_end(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, its end kept: labels of one folder's files, or of
    one model scored two ways, differ there (both were cut to the same beginning)."""
    return text if len(text) <= width else ".." + text[-(width - 2):]


def image_grid(rows: list[list[np.ndarray]], col_titles: list[str], cell: int = 160) -> np.ndarray:
    """Rows of equally sized BGR images, scaled to ``cell`` px, with column titles on top."""
    title_h = 24
    n_cols = max(len(r) for r in rows)
    img = np.full((title_h + cell * len(rows), cell * n_cols, 3), 255, np.uint8)
    for j, t in enumerate(col_titles):
        # the end kept: "...finetuned-run-12+ns" and "...-run-12+feather4" differ only there
        cv2.putText(img, _keep_end(t, 20), (j * cell + 4, 17), _FONT, 0.45, (0, 0, 0), 1)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            img[title_h + i * cell : title_h + (i + 1) * cell, j * cell : (j + 1) * cell] = \
                cv2.resize(tile, (cell, cell), interpolation=cv2.INTER_AREA)
    return img
