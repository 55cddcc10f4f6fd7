"""Reading and writing images and masks with clear errors and atomic writes."""

from __future__ import annotations

import logging
import os
import re
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from . import image_chunks
from .checks import is_whole
from .errors import InputError, ShapeError
from .fileio import atomic_write_bytes
from .grey import channel_mean
from .masks import is_flat

log = logging.getLogger(__name__)

#: the JPEG quality edgefill writes at (OpenCV's default): a JPEG output is a new lossy encoding
JPEG_QUALITY = 95
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: the extensions :func:`write_image` writes 16-bit samples to
WIDE_EXTS = (".png", ".tif", ".tiff")
#: the extensions :func:`write_image` writes an alpha channel to (a JPEG's encoder drops it)
ALPHA_EXTS = (".png", ".bmp", ".tif", ".tiff", ".webp")
#: Refuse to decode images above this many pixels (OpenCV's own cap is 2**30).
MAX_PIXELS = 100_000_000
#: How images are decoded: any depth (16-bit kept, then scaled here) and colour or grey as
#: stored, alpha dropped, and the EXIF orientation applied, as ``cv2.imread`` and
#: :func:`read_mask` (which reads the same way) apply it, so that an image and its mask agree.
#: (``IMREAD_UNCHANGED`` would keep alpha but ignore the orientation: see :func:`_upright_alpha`.)
IMAGE_FLAGS = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR


def sequence_key(path: Path | str) -> tuple:
    """Sort key for frame sequences: numbers in the name compare as numbers (``img_2`` before
    ``img_10``, as a camera or an exporter numbers frames without padding), the rest as text."""
    name = Path(path).name
    # isdecimal, as \d matches: "²" is a digit to isdigit but not to int() (a ValueError for "1²2.png")
    return [(0, int(t), "") if t.isdecimal() else (1, 0, t) for t in re.split(r"(\d+)", name) if t], name


def is_image_file(path: Path) -> bool:
    """An image by its extension, and not a hidden file: macOS leaves ``._name.png`` resource
    files beside every image it copies, which are not images and would shift a sequence."""
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".") and path.is_file()


def image_files(folder: Path | str, by_name: bool = False) -> list[Path]:
    """The image files directly in ``folder``, in :func:`sequence_key` order (frames and their
    per-frame masks pair up by this order). A broken link with an image's name is an
    :class:`InputError`: skipped, it moved every later mask of a sequence one frame off. With
    ``by_name`` (files paired by their names, as ``edgefill inpaint`` pairs them) it is left
    out with a warning instead: nothing can shift, and a stale link stopped the whole batch."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError as exc:  # a folder without read permission
        raise InputError(f"cannot list the images in {folder}: {exc.strerror or exc}") from None
    for p in entries:
        if p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".") and p.is_symlink() and not p.exists():
            if by_name:
                log.warning("%s is a broken link (to %s): left out", p, os.readlink(p))
                continue
            raise InputError(f"{p} is a broken link (to {os.readlink(p)}); frames and masks pair up by their order "
                             "in a folder, so a missing one would shift every later one: mend or remove it")
    return sorted((p for p in entries if is_image_file(p)), key=sequence_key)


#: what reading a damaged image header raises (OverflowError: a BigTIFF offset past 2**63)
_BAD_HEADER = (struct.error, IndexError, ValueError, OverflowError)


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, BMP (Windows or OS/2), GIF, WebP or
    TIFF (classic or BigTIFF, either byte order) file, without decoding; None if the format is
    another or its header cannot be read (the caller then decodes and checks the result)."""
    data = bytes(data)
    try:
        for magic, parse in _HEADERS:
            if data.startswith(magic):
                size = parse(data)
                return None if size is None else (int(size[0]), int(size[1]))
    except _BAD_HEADER:
        pass
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    return struct.unpack_from(">II", data, 16) if data[12:16] == b"IHDR" else None


def _gif_size(data: bytes) -> tuple[int, int]:
    return struct.unpack_from("<HH", data, 6)


def _bmp_size(data: bytes) -> tuple[int, int]:
    (header,) = struct.unpack_from("<I", data, 14)
    if header == 12:  # OS/2 BITMAPCOREHEADER: unsigned 16-bit width and height
        return struct.unpack_from("<HH", data, 18)
    w, h = struct.unpack_from("<ii", data, 18)  # BITMAPINFOHEADER and later: height < 0 is top-down
    return abs(w), abs(h)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the marker segments of the whole file (as libjpeg does, skipping stray bytes
    between them) to the first frame header (SOFn)."""
    i = 2
    while i + 1 < len(data):
        if data[i] != 0xFF:
            i = data.find(b"\xff", i)
            if i < 0:
                return None
            continue
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker in (0x00, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no payload
            i += 2
        elif marker in (0xD9, 0xDA):  # end of image, or a scan before any frame header
            return None
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack_from(">HH", data, i + 5)
            return w, h
        else:
            (length,) = struct.unpack_from(">H", data, i + 2)
            if length < 2:
                return None
            i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: 14-bit sizes after the key frame's start code
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":  # lossless: 14-bit sizes minus one after the signature byte
        if data[20] != 0x2F:
            return None
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: the canvas, 24-bit sizes minus one
        if len(data) < 30:
            return None
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """ImageWidth (256) and ImageLength (257) from the first IFD."""
    tags = image_chunks.tiff_tags(data, (256, 257))
    if len(tags) < 2 or len(tags[256]) != 1 or len(tags[257]) != 1:
        return None
    return tags[256][0], tags[257][0]


_HEADERS = (
    (b"\x89PNG\r\n\x1a\n", _png_size),
    (b"\xff\xd8", _jpeg_size),
    (b"BM", _bmp_size),
    (b"GIF87a", _gif_size),
    (b"GIF89a", _gif_size),
    (b"RIFF", _webp_size),
    *((magic, _tiff_size) for magic in image_chunks.TIFF_MAGICS),
)


def _read(path: Path, flags: int, what: str) -> np.ndarray:
    return _decode(_file_bytes(path, what), path, flags, what)


def _file_bytes(path: Path, what: str) -> np.ndarray:
    """The bytes of the image file ``path`` (a non-empty uint8 array); InputError naming it."""
    path = Path(path)
    try:
        if not path.exists():
            raise InputError(f"{what} {path} does not exist")
        if not path.is_file():
            raise InputError(f"{what} {path} is not a file")
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:  # no read permission (a file a camera daemon wrote as another user), an I/O error,
        # a name too long for the filesystem (which exists() raised as a traceback)
        raise InputError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None
    if data.size == 0:
        raise InputError(f"{what} {path} is empty")
    return data


def _decode(data: np.ndarray, path: Path, flags: int, what: str) -> np.ndarray:
    size = declared_size(data.tobytes())
    if size is not None and size[0] * size[1] > MAX_PIXELS:
        raise InputError(f"{what} {path} declares {size[0]}x{size[1]} pixels, above the {MAX_PIXELS} limit")
    try:
        img = cv2.imdecode(data, flags)
    except cv2.error as exc:  # e.g. a BMP wider than OpenCV's decoders take
        reason = " ".join(str(exc).split()).split(" error: ", 1)[-1]  # without OpenCV's source path
        raise InputError(f"{what} {path} is not a readable image (OpenCV: {reason})") from None
    if img is None or img.size == 0:
        raise InputError(f"{what} {path} is not a readable image")
    if img.shape[0] * img.shape[1] > MAX_PIXELS:
        raise InputError(f"{what} {path} has {img.shape[1]}x{img.shape[0]} pixels, above the {MAX_PIXELS} limit")
    return _as_the_tiff_says(img, data.data, path, what)


def _as_the_tiff_says(img: np.ndarray, data, path: Path, what: str) -> np.ndarray:
    """``img`` as deep and as light as its TIFF header says, where OpenCV's decoder is not:
    a 16-bit grey TIFF with alpha is decoded as 8 bits (each sample >> 8: a 12-bit image came out
    at 0-15, written back so, and a mask of 0/4095 strokes marked nothing), which is refused;
    a 16-bit MinIsWhite grey TIFF is given raw (an 8-bit one inverted), which is inverted here, so
    that it is written back (MinIsBlack) looking as it came rather than as its negative."""
    if not image_chunks.is_tiff(data):
        return img
    tags = _tiff_tags(data, (258, 262))  # BitsPerSample, Photometric: the header read once
    bits = tags.get(258, ())
    if bits and max(bits) > 8 and img.dtype == np.uint8:
        raise InputError(f"{what} {path} has {max(bits)}-bit samples, which OpenCV decodes as 8 bits in this layout "
                         "(grey with an alpha channel): save it as PNG, or without its alpha")
    if img.dtype == np.uint16 and img.ndim == 2 and tags.get(262) == (0,):  # Photometric MinIsWhite
        return np.subtract(np.uint16(65535), img, dtype=np.uint16)
    return img


def _to_8bit(img: np.ndarray, path: Path, what: str, keep_0_1: bool) -> np.ndarray:
    """A mask's (or an 8-bit image's) samples as uint8: 16-bit ones scaled over the bits they use
    as images are (:func:`image_scale`; a 0/65535 mask becomes 0/255, a 12-bit 0/4095 one too,
    which the division by 257 of the thirty-fourth session and before made 0/16, no hole; with
    ``keep_0_1``, a 16-bit mask whose values are all 0 or 1 is kept as 0/1); other sample types
    refused."""
    if img.dtype == np.uint16:
        img = img.astype(np.uint8) if keep_0_1 and img.max() <= 1 else scaled_8bit(img, image_scale(img))
    elif img.dtype != np.uint8:
        raise InputError(f"{what} {path} is {img.dtype}; only 8- and 16-bit images are supported")
    return img


def read_image(path: Path) -> np.ndarray:
    """A BGR uint8 HxWx3 image, turned upright by its EXIF orientation (as ``cv2.imread`` and
    :func:`read_mask` do). Grey images are converted and alpha is dropped; 16-bit images are
    scaled to 8 bits over the bits they use (:func:`image_scale`; rounded); other sample types
    are refused."""
    return read_stored_image(path).bgr


def image_scale(stored: np.ndarray, hole: np.ndarray | None = None) -> float:
    """What a decoded image's samples are divided by to make 8 bits: 1 for 8-bit samples, and
    for 16-bit ones (2**bits - 1) / 255 with bits the bit length of the largest sample (at least
    8), so that a 10- or 12-bit camera image stored in 16 bits spans the models' 0-255 range as
    an 8-bit one does (257, the usual 16-to-8 scaling, for an image that uses all 16 bits; until
    the thirty-fourth session every 16-bit image was divided by 257, and a 12-bit one came out
    at 0-16). ``hole`` (HxW, non-zero in the hole): the largest sample outside it, so that what
    is being removed does not set the scale of its own fill (a saturated 16-bit marker in the
    hole of a 12-bit frame made the fill 16 times coarser, 17 distinct levels)."""
    if stored.dtype != np.uint16:
        return 1.0
    return ((1 << max(8, _largest_known(stored, hole).bit_length())) - 1) / 255


def _largest_known(stored: np.ndarray, hole: np.ndarray | None) -> int:
    """The largest sample of ``stored`` outside ``hole`` (all of it for None; 0 for none): the
    rows and columns around the hole's bounding box by views, the box by a mask (no copy of the
    frame)."""
    if hole is None or not stored.size:
        return int(stored.max()) if stored.size else 0
    x, y, w, h = cv2.boundingRect(np.ascontiguousarray(hole, dtype=np.uint8))
    if w == 0:
        return int(stored.max())
    box = stored[y : y + h, x : x + w]
    parts = (stored[:y], stored[y + h :], stored[y : y + h, :x], stored[y : y + h, x + w :],
             box[hole[y : y + h, x : x + w] == 0])
    return max((int(part.max()) for part in parts if part.size), default=0)


def _as_bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


@dataclass(frozen=True)
class StoredImage:
    """An image file as decoded (``stored``: grey HxW or BGR HxWx3, 8 or 16 bits, upright by
    its EXIF orientation) beside ``bgr``, the BGR uint8 frame the models take (``stored`` /
    ``scale``, rounded; :func:`image_scale`), which :func:`read_image` returns. ``alpha``: the
    file's alpha channel (HxW, upright, as deep as the file), when it was asked for
    (:func:`read_stored_image` ``keep_alpha``) and the file has one; None otherwise."""

    stored: np.ndarray
    bgr: np.ndarray
    scale: float = 1.0
    alpha: np.ndarray | None = None

    def restore(self, result: np.ndarray, filled: np.ndarray | None = None, keep_16_bit: bool = True,
                keep_alpha: bool = True, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """``result``, a filled copy of :attr:`bgr`, in the file's own format, so that writing it
        loses nothing outside the fill: a grey file comes back grey (each filled pixel the mean of
        its three channels, rounded), and a 16-bit file 16-bit (``keep_16_bit``; a format that
        holds 8 bits only, such as JPEG, gets :attr:`bgr`'s 8 bits). A filled pixel takes the fill
        x ``scale``, rounded; every other pixel keeps all of the file's bits. Filled pixels: those
        of ``filled`` (HxW, non-zero in the hole: bool or a 0/255 mask), and any whose 8-bit value ``result`` changed (a
        feathered seam ring). With :attr:`alpha` (and ``keep_alpha``) the result is BGRA, the
        alpha as the file had it everywhere, the hole included (a grey file with alpha comes back
        as BGRA: OpenCV writes no grey-and-alpha image). ``box`` ``(x, y, w, h)``: the window
        outside which ``result`` equals :attr:`bgr` and ``filled`` is False, when the caller
        knows it (the Inpainter does); otherwise it is found (:func:`_changed_box`, ~1 ms at
        1080p). Only that window is compared: a whole 1080p frame took ~35 ms here."""
        if result.shape != self.bgr.shape or result.dtype != np.uint8:
            raise ShapeError(f"the filled image ({result.dtype})", result.shape, self.bgr.shape)
        wide = self.stored.dtype == np.uint16 and keep_16_bit
        if wide:
            out = self.stored.copy()
        else:
            out = self.bgr[..., 0].copy() if self.stored.ndim == 2 else self.bgr.copy()
        x, y, w, h = box if box is not None else _changed_box(result, self.bgr, filled)
        window = (slice(y, y + h), slice(x, x + w))
        changed = np.any(result[window] != self.bgr[window], axis=2)
        if filled is not None:
            changed |= filled[window].astype(bool, copy=False)
        fill = result[window][changed]
        if out.ndim == 2:
            fill = channel_mean(fill)
        out[window][changed] = np.rint(fill * np.float32(self.scale)).astype(np.uint16) if wide else fill
        if self.alpha is None or not keep_alpha:
            return out
        alpha = self.alpha
        if alpha.dtype != out.dtype:  # a 16-bit file's alpha into an 8-bit format (alpha is as deep as the colour)
            alpha = scaled_8bit(alpha, 257)
        return np.dstack([cv2.cvtColor(out, cv2.COLOR_GRAY2BGR) if out.ndim == 2 else out, alpha])

    def for_hole(self, hole: np.ndarray) -> StoredImage:
        """This image with :attr:`bgr` scaled over the pixels outside ``hole`` (HxW, non-zero in
        the hole; :func:`image_scale`), as :class:`~edgefill.Inpainter` scales a uint16 array:
        ``edgefill inpaint`` reads a 16-bit file before it knows the hole. Itself when the scale
        does not change (an 8-bit image, a hole without the brightest samples). A sequence's
        ``min_scale`` is not kept."""
        if self.stored.dtype != np.uint16:
            return self
        scale = image_scale(self.stored, hole)
        return self if scale == self.scale else replace(self, bgr=_as_bgr(scaled_8bit(self.stored, scale)), scale=scale)


def _changed_box(result: np.ndarray, bgr: np.ndarray, filled: np.ndarray | None) -> tuple[int, int, int, int]:
    """The bounding box ``(x, y, w, h)`` of the pixels where the HxWx3 ``result`` differs from
    ``bgr`` or ``filled`` is non-zero; (0, 0, 0, 0) when there are none."""
    h, w = result.shape[:2]
    diff = cv2.absdiff(np.ascontiguousarray(result), np.ascontiguousarray(bgr)).reshape(h, w * 3)
    boxes = []
    dx, dy, dw, dh = cv2.boundingRect(diff)  # in samples across: 3 per pixel
    if dw:
        boxes.append((dx // 3, dy, (dx + dw - 1) // 3 + 1, dy + dh))
    if filled is not None:
        fx, fy, fw, fh = cv2.boundingRect(np.ascontiguousarray(filled).view(np.uint8))
        if fw:
            boxes.append((fx, fy, fx + fw, fy + fh))
    if not boxes:
        return 0, 0, 0, 0
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def read_stored_image(path: Path, min_scale: float = 1.0, keep_alpha: bool = False) -> StoredImage:
    """The image of ``path`` as :class:`StoredImage` keeps it, so that a filled image can be
    written back grey or 16-bit as it came (``edgefill inpaint``). ``min_scale``: a 16-bit image
    is divided by at least this (a sequence's scale, which one darker frame must not lower).
    ``keep_alpha``: keep the file's alpha channel too (a second decode, for files that may have
    one), turned upright as the colour was; an alpha that cannot be (an orientation OpenCV found
    outside a PNG's or WebP's EXIF chunk turned the image to another shape) is dropped with a
    warning.

    An 8-bit TIFF with unassociated alpha (ExtraSamples 2, as most tools write RGBA) is decoded
    by OpenCV (libtiff's RGBA reader) with its colour multiplied by the alpha; its colour is
    divided back (:func:`unpremultiplied`), so that it reads as the same image saved as PNG
    does: exact where the alpha is 255, within 255 / (2 x alpha) levels elsewhere, and lost
    (black) where the alpha is 0."""
    data = _file_bytes(path, "image")
    stored = _decode(data, path, IMAGE_FLAGS, "image")
    # the header read in place (no copy of the file for a TIFF without alpha)
    premultiplied = stored.dtype == np.uint8 and stored.ndim == 3 and 2 in _tiff_tag(data.data, image_chunks.EXTRA_SAMPLES)
    alpha = None
    if keep_alpha or premultiplied:
        raw_bytes = data.tobytes()
        raw = _raw_alpha(raw_bytes)
        upright = None if raw is None else _upright_alpha(raw_bytes, raw, stored.shape)
        if premultiplied and upright is not None:
            stored = unpremultiplied(_as_bgr(stored), upright)
        if keep_alpha:
            alpha = upright
            if raw is not None and alpha is None:
                log.warning("%s: its alpha channel could not be turned upright with the image and is dropped", path)
            elif raw is None and stored.ndim == 2 and _tiff_tag(raw_bytes, 277) == (2,):  # SamplesPerPixel
                log.warning("%s: its alpha channel is dropped (OpenCV does not decode a grey TIFF's alpha; "
                            "save it as PNG to keep it)", path)
            elif raw is None and stored.ndim == 2 and _grey_png_with_trns(raw_bytes):
                log.warning("%s: its transparency (a grey PNG's tRNS key) is dropped (OpenCV does not decode it; "
                            "save it with an alpha channel to keep it)", path)
    if image_chunks.is_tiff(data.data) and _more_pages(data.data):
        log.warning("%s: a TIFF of several pages; only its first page is read (and written back)", path)
    if stored.ndim == 3 and stored.shape[2] == 4:  # not decoded so by IMAGE_FLAGS; kept as BGR
        stored = _as_bgr(stored)
    if stored.dtype != np.uint16:
        _to_8bit(stored, path, "image", keep_0_1=False)  # uint8, or refused
    return stored_array(stored, min_scale, alpha)


def _more_pages(data) -> bool:
    """Whether the TIFF ``data`` has a page after its first; False for an unreadable header."""
    try:
        return image_chunks.tiff_has_more_pages(data)
    except _BAD_HEADER:
        return False


def _grey_png_with_trns(data: bytes) -> bool:
    """Whether ``data`` is a grey PNG (colour type 0) with a tRNS chunk: a transparent grey key,
    which OpenCV's unchanged decode drops (an RGB or palette PNG's comes back as alpha)."""
    if not data.startswith(image_chunks.PNG_SIGNATURE):
        return False
    ihdr = image_chunks.png_chunk(data, b"IHDR")
    return ihdr is not None and len(ihdr) > 17 and ihdr[17] == 0 and image_chunks.png_chunk(data, b"tRNS") is not None


def _tiff_tag(data: bytes, tag: int) -> tuple[int, ...]:
    """The values of an integer tag of a TIFF's first IFD; () for another format, a TIFF without
    the tag, or an unreadable header."""
    return _tiff_tags(data, (tag,)).get(tag, ())


def _tiff_tags(data: bytes, tags: tuple[int, ...]) -> dict[int, tuple[int, ...]]:
    """The values of the integer ``tags`` a TIFF's first IFD has (read in one pass); {} for
    another format or an unreadable header."""
    if not image_chunks.is_tiff(data):
        return {}
    try:
        return image_chunks.tiff_tags(data, tags)
    except _BAD_HEADER:
        return {}


def unpremultiplied(bgr: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """8-bit colour that was multiplied by its 8-bit ``alpha`` (rounded: ``round(v * a / 255)``,
    libtiff's rule) divided back, rounded and clipped; pixels of alpha 0 or 255 as they are.
    Colour that cannot have been so multiplied (a channel above its alpha) is returned as it is:
    a decoder that kept the colour as stored."""
    a = alpha[..., None]
    if np.any(bgr > a):
        return bgr
    partial = (alpha > 0) & (alpha < 255)
    out = bgr.copy()
    p = bgr[partial].astype(np.float32)
    out[partial] = np.minimum(np.rint(p * 255 / alpha[partial][:, None].astype(np.float32)), 255).astype(np.uint8)
    return out


def stored_array(stored: np.ndarray, min_scale: float = 1.0, alpha: np.ndarray | None = None,
                 hole: np.ndarray | None = None) -> StoredImage:
    """An image in memory (grey HxW or BGR HxWx3, uint8 or uint16, as checked by the caller) as
    :class:`StoredImage` keeps it: beside it the BGR uint8 frame the models take, a 16-bit one
    divided by :func:`image_scale` (over the pixels outside ``hole``, when given; or
    ``min_scale``, when larger) and rounded."""
    scale = 1.0
    img8 = stored
    if stored.dtype == np.uint16:
        scale = max(image_scale(stored, hole), min_scale)
        img8 = scaled_8bit(stored, scale)
    return StoredImage(stored, _as_bgr(img8), scale, alpha)


def scaled_8bit(stored: np.ndarray, scale: float) -> np.ndarray:
    """16-bit samples divided by ``scale`` (:func:`image_scale`, or a larger ``min_scale`` of
    :func:`read_stored_image`), rounded and clipped to 0-255, as uint8. By OpenCV's scaling
    (~9x numpy's ``rint(stored / scale)`` on a 1080p frame here, and equal to it for every 16-bit
    value at every scale :func:`image_scale` gives: tests/test_imageio_stored.py)."""
    return cv2.convertScaleAbs(stored, alpha=1.0 / scale)


def read_mask(path: Path) -> np.ndarray:
    """A uint8 HxW mask (255 = hole, or 1 in a 0/1 mask), turned upright by its EXIF orientation
    like :func:`read_image`.

    A colour mask is reduced to its largest channel, as :func:`edgefill.masks.normalize_mask`
    reads a colour array and a mask video's frames: a stroke in any colour marks a hole. (Grey
    conversion made a pure red stroke 76 and a blue one 29, below the threshold of 128, so they
    marked nothing.) A 16-bit mask is scaled to 8 bits over the bits it uses, as images are
    (:func:`image_scale`), except a 0/1 one, which stays 0/1.

    The alpha channel is the mask when the colour is one flat value and the alpha varies
    (strokes painted on a transparent layer, read like a grey mask: opaque = hole), as
    :func:`edgefill.masks.normalize_mask` reads such an HxWx4 array; otherwise alpha is ignored.
    (Dropping it made such a mask all 0, filling nothing without a word, or all 255 for a white
    layer.)"""
    data = _file_bytes(path, "mask")  # read once: a mask's alpha is looked for in the same bytes
    m = _to_8bit(_decode(data, path, IMAGE_FLAGS, "mask"), path, "mask", keep_0_1=True)
    if m.size:
        m = _alpha_mask(Path(path), data.tobytes(), m)
    if m.ndim == 3:
        m = m.max(axis=2) if m.shape[2] > 1 else m[..., 0]
    return np.ascontiguousarray(m)


def _alpha_mask(path: Path, data: bytes, colour: np.ndarray) -> np.ndarray:
    """What marks the holes of the mask file ``path`` (its bytes: ``data``; its decoded colour:
    ``colour``): the colour when the file has no alpha or a flat one, else as
    :func:`edgefill.masks.alpha_or_colour` decides, the alpha turned as OpenCV turned the colour
    (:func:`_upright_alpha`). Colour and alpha that mark different pixels are an InputError, as
    for an array (a white transparent layer with red strokes was read from its colour: all hole)."""
    from .masks import alpha_or_colour

    raw = _raw_alpha(data)
    if raw is None:
        return colour
    alpha = _to_8bit(raw, path, "mask", keep_0_1=True)
    if alpha.min() == alpha.max():
        return colour
    upright = _upright_alpha(data, alpha, colour.shape)
    if upright is None:
        if not is_flat(colour):  # as before: the colour, which was turned upright
            return colour
        raise InputError(f"mask {path} marks its holes in the alpha channel, and that could not be turned "
                         "upright with the image; save the mask as white strokes on black, without alpha")
    chosen = alpha_or_colour(colour, upright)
    if chosen is None:
        raise InputError(f"mask {path}: its colour and its alpha both vary and mark different pixels, so which "
                         "marks the holes is ambiguous; save it as white strokes on black without alpha, or as "
                         "strokes of one colour on a transparent layer")
    return chosen


def _raw_alpha(data: bytes) -> np.ndarray | None:
    """The alpha channel of an image file's bytes as stored (not turned by its EXIF orientation);
    None for a file without one (most without a second decode: JPEG, PNG of a colour type
    without alpha)."""
    if not image_chunks.may_have_alpha(data):
        return None
    try:
        raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        return None
    if raw is None or raw.ndim != 3 or raw.shape[2] not in (2, 4):
        return None
    return np.ascontiguousarray(raw[..., -1])


def _upright_alpha(data: bytes, alpha: np.ndarray, shape: tuple) -> np.ndarray | None:
    """``alpha`` (from :func:`_raw_alpha`) turned by the file's EXIF orientation as OpenCV turned
    its colour (of ``shape``); None when that cannot be done.

    OpenCV applies the EXIF orientation only to a decode that drops alpha, so the alpha is turned
    by OpenCV itself: written as a grey image of the same format (PNG, WebP) that carries the
    file's EXIF chunk, and decoded as the colour was. An orientation found elsewhere cannot be
    applied; None where it turned the colour to another shape."""
    exif = image_chunks.exif_chunk(data)
    if exif is not None:
        alpha = cv2.imdecode(np.frombuffer(image_chunks.with_exif(alpha, data[:4], exif), np.uint8), IMAGE_FLAGS)
        if alpha is not None and alpha.ndim == 3:  # a grey WebP decodes as BGR
            alpha = np.ascontiguousarray(alpha[..., 0])
    if alpha is None or alpha.shape[:2] != tuple(shape[:2]):
        return None
    return alpha


def write_image(path: Path, image: np.ndarray, jpeg_quality: int = JPEG_QUALITY) -> None:
    """Encode by extension and write atomically (temporary file, fsync, rename). An unwritable
    or missing folder or a full disk is an :class:`InputError` naming ``path``.

    ``image`` is a uint8 HxW, HxWx3 (BGR) or HxWx4 array (uint16 too for PNG and TIFF); anything
    else is an :class:`InputError`: OpenCV wrote a float image cast to 8 bits (a 0..1 image
    came out black) and raised its own error, a traceback, for an empty or 2-channel one.
    ``jpeg_quality`` (1-100) for a JPEG: its every pixel is encoded anew, at that quality."""
    path = Path(path)
    ext = path.suffix.lower()
    if not (is_whole(jpeg_quality) and 1 <= jpeg_quality <= 100):
        raise InputError(f"the JPEG quality must be a whole number 1-100, got {jpeg_quality!r}")
    if ext not in IMAGE_EXTS:
        raise InputError(f"cannot write {path}: unsupported extension {ext!r} (use one of {', '.join(IMAGE_EXTS)})")
    dtypes = ("uint8", "uint16") if ext in WIDE_EXTS else ("uint8",)
    if not isinstance(image, np.ndarray) or image.dtype.name not in dtypes or image.size == 0 \
            or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        got = f"a {image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InputError(f"cannot write {path}: got {got}; {ext} takes a non-empty HxW, HxWx3 (BGR) or HxWx4 "
                         f"array of {' or '.join(dtypes)}")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)] if ext in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(ext, image, params)
    if not ok:
        raise InputError(f"OpenCV could not encode {path}")
    try:
        atomic_write_bytes(path, buf.tobytes())
    except OSError as exc:
        raise InputError(f"cannot write {path}: {_write_reason(path, exc)}") from exc


def _write_reason(path: Path, exc: OSError) -> str:
    """Why writing ``path`` failed, in words: a file where a folder of the path should be is named
    (making the folders said only "File exists", or "Not a directory")."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)):
        for parent in path.parents:
            if os.path.lexists(parent) and not parent.is_dir():
                return f"{parent} is a file, not a folder"
    return exc.strerror or str(exc)
