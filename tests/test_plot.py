import numpy as np

from edgefill.plot import COLOURS, LEGEND_W, image_grid, line_chart, series_style


def test_the_first_eighteen_series_look_different():
    styles = [series_style(n) for n in range(3 * len(COLOURS))]
    assert len(set(styles)) == len(styles)
    assert series_style(0)[0] == series_style(len(COLOURS))[0]  # same colour, told apart by dash and marker


def test_legend_samples_of_series_sharing_a_colour_differ():
    n = len(COLOURS) + 1
    series = {f"m{k}": {"a": 20.0 + k, "b": 21.0 + k} for k in range(n)}
    img = line_chart(series, ["a", "b"], "t")
    W, m = img.shape[1], 70
    x = W - m - LEGEND_W + 28
    sample = lambda k: img[m + 18 * k - 10 : m + 18 * k + 2, x : x + 34]  # noqa: E731
    assert (sample(0) != 255).any() and (sample(len(COLOURS)) != 255).any()  # both drawn
    assert not np.array_equal(sample(0), sample(len(COLOURS)))  # solid + circle against dashed + square


def test_image_grid_places_tiles():
    tile = np.zeros((32, 32, 3), np.uint8)
    grid = image_grid([[tile, tile], [tile, tile]], ["a", "b"], cell=40)
    assert grid.shape == (24 + 80, 80, 3)
    assert not grid[24:, :].any()
