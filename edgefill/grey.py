"""Monochrome frames: a grey image's fill stays grey.

Inspection cameras are often monochrome. Their frames reach :class:`~edgefill.Inpainter` either
as single-channel arrays (HxW or HxWx1 uint8, the natural format of a mono camera's SDK) or as
BGR frames with B = G = R (a grey file read by :func:`edgefill.imageio.read_image`, a mono V4L2
camera through OpenCV). The models work on three channels and were trained on colour photos, so
on a grey frame their fill carries a faint tint (3-5 levels of spread between the channels on
the eval set's cameraman photo, lite and nano), which is a visible defect in a mono image and a
small error. :class:`~edgefill.Inpainter` therefore sets the pixels it repainted in a grey frame
to the mean of their three channels (the least-squares grey for three equally good estimates),
and returns a single-channel array for a single-channel input.

A BGR frame counts as grey when a 1-in-16 subsample of the whole frame and every pixel of the
window the fill changed have B = G = R, the hole's own pixels left out (:func:`is_grey`): the
subsample of a 1920x1080 frame takes ~0.02 ms on the development VM (every pixel of it ~3 ms),
and the window costs in proportion to its size, so a colour frame is told apart at once and a
grey one pays for its hole's window only. A colour frame that passes (grey around the hole and
everywhere the subsample looks) gets the grey fill its surroundings call for anyway.
"""

from __future__ import annotations

import numpy as np

#: the stride of the whole-frame subsample :func:`is_grey` looks at
SUBSAMPLE = 16


def _channels_equal(pixels: np.ndarray) -> bool:
    """Whether every pixel of an ...x3 array has B = G = R."""
    return bool(np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]))


def is_grey(image: np.ndarray, box: tuple[int, int, int, int], hole: np.ndarray | None = None) -> bool:
    """Whether the HxWx3 frame ``image`` is grey: B = G = R on a 1-in-:data:`SUBSAMPLE`
    subsample of the frame and on every pixel of ``box`` ``(x, y, w, h)``, the window a fill
    changes, leaving out the pixels of ``hole`` (HxW, non-zero in the hole), whose colour is
    what the fill removes (a red marker drawn over a mono frame's defect gave it a tinted fill)."""
    sub = image[::SUBSAMPLE, ::SUBSAMPLE]
    if hole is not None:
        sub = sub[hole[::SUBSAMPLE, ::SUBSAMPLE] == 0]
    if not _channels_equal(sub):
        return False
    x, y, w, h = box
    window = image[y : y + h, x : x + w]
    return _channels_equal(window if hole is None else window[hole[y : y + h, x : x + w] == 0])


def channel_mean(pixels: np.ndarray) -> np.ndarray:
    """The mean of the three channels of an ...x3 uint8 array, rounded half up, as uint8 (a grey
    pixel keeps its value)."""
    return ((pixels.sum(axis=-1, dtype=np.uint16) + 1) // 3).astype(np.uint8)  # (3k + 2) / 3 up, (3k + 1) / 3 down


def make_grey_in_place(out: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """Set every pixel of ``box`` ``(x, y, w, h)`` of the HxWx3 uint8 ``out`` to
    :func:`channel_mean` of its three channels."""
    x, y, w, h = box
    window = out[y : y + h, x : x + w]
    window[...] = channel_mean(window)[..., None]


def single_channel(image: object) -> bool:
    """Whether ``image`` is a single-channel uint8 or uint16 array (HxW or HxWx1), which
    :class:`~edgefill.Inpainter` fills as grey and returns in the same shape."""
    return (isinstance(image, np.ndarray) and image.dtype in (np.uint8, np.uint16)
            and (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1)))
