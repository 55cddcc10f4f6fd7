"""Small charts and image grids drawn with OpenCV (no plotting library needed on a board)."""

from __future__ import annotations

import cv2
import numpy as np

COLOURS = [(200, 60, 40), (40, 140, 40), (40, 60, 200), (160, 40, 160), (30, 150, 190), (100, 100, 100)]
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def line_chart(series: dict[str, dict[str, float]], x_labels: list[str], title: str,
               size: tuple[int, int] = (900, 560), y_from_zero: bool = True) -> np.ndarray:
    """One line per series; ``series[label][x_label] = y``. Returns a BGR image."""
    W, H = size
    m = 70
    img = np.full((H, W, 3), 255, np.uint8)
    values = [v for pts in series.values() for v in pts.values()]
    ymax = max(values) if values else 1.0
    ymin = 0.0 if y_from_zero else min(values)
    pad = (ymax - ymin) * 0.1 or 1.0
    ymin, ymax = (ymin if y_from_zero else ymin - pad), ymax + pad
    xs = lambda i: m + (i * (W - 2 * m) / max(1, len(x_labels) - 1) if len(x_labels) > 1 else (W - 2 * m) / 2)  # noqa: E731
    ys = lambda v: H - m - (v - ymin) / (ymax - ymin) * (H - 2 * m)  # noqa: E731
    cv2.line(img, (m, H - m), (W - m, H - m), (0, 0, 0), 1)
    cv2.line(img, (m, m), (m, H - m), (0, 0, 0), 1)
    for i, lab in enumerate(x_labels):
        cv2.putText(img, lab, (int(xs(i)) - 4 * len(lab), H - m + 20), _FONT, 0.45, (0, 0, 0), 1)
    for k in range(5):
        v = ymin + (ymax - ymin) * k / 4
        cv2.putText(img, f"{v:.1f}" if ymax - ymin < 20 else f"{v:.0f}", (8, int(ys(v)) + 4), _FONT, 0.45, (0, 0, 0), 1)
    cv2.putText(img, title, (m, 40), _FONT, 0.6, (0, 0, 0), 1)
    for n, (label, pts) in enumerate(series.items()):
        c = COLOURS[n % len(COLOURS)]
        coords = [(int(xs(i)), int(ys(pts[x]))) for i, x in enumerate(x_labels) if x in pts]
        for p0, p1 in zip(coords, coords[1:], strict=False):
            cv2.line(img, p0, p1, c, 2)
        for p in coords:
            cv2.circle(img, p, 4, c, -1)
        cv2.putText(img, label, (W - m - 260, m + 18 * n), _FONT, 0.45, c, 1)
    return img


def image_grid(rows: list[list[np.ndarray]], col_titles: list[str], cell: int = 160) -> np.ndarray:
    """Rows of equally sized BGR images, scaled to ``cell`` px, with column titles on top."""
    title_h = 24
    n_cols = max(len(r) for r in rows)
    img = np.full((title_h + cell * len(rows), cell * n_cols, 3), 255, np.uint8)
    for j, t in enumerate(col_titles):
        cv2.putText(img, t[:20], (j * cell + 4, 17), _FONT, 0.45, (0, 0, 0), 1)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            img[title_h + i * cell : title_h + (i + 1) * cell, j * cell : (j + 1) * cell] = \
                cv2.resize(tile, (cell, cell), interpolation=cv2.INTER_AREA)
    return img
