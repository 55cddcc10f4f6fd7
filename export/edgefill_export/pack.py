"""Pack training photos into one compact file, to carry them to a lent GPU machine.

The ``device`` machine that is sometimes lent to this project takes at most 64 MiB of carried
files per command, and the fetched photos are ~34 MiB of PNG/JPEG (train) and ~95 MiB
(textures). A pack holds every photo as training decodes it
(:func:`decode_photo`: longest side capped at ``max_side``, 2048 by default, so crop scales
mean the same thing as in CPU training), re-encoded as JPEG at the highest quality in ``QUALITIES``
that fits the byte budget. It is an uncompressed ``.npz``: the names (sorted, so the
train/validation split is the same as from the folder), one uint8 array of JPEG bytes per
photo, and a JSON header. It loads without pickle.

    python -m edgefill_export.pack --data train --out runs/gpu/train.npz
    python -m edgefill_export.train --pack runs/gpu/train.npz --device cuda ...

The device tool's 64 MiB are for the whole working tree, carried paths included, and the
tracked files (mostly the shipped models) take ~39 MiB of it: the default budget is 16 MiB
(the 63 training photos fit at quality 90 with ``--max-side 1536``), which leaves room for a
lite weights file (6 MiB) to start a run from; docs/training.md has the whole GPU procedure.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from edgefill import imageio
from edgefill.errors import EdgeFillError, InputError
from edgefill.fileio import atomic_write_bytes
from edgefill.imageio import declared_size, read_image, stored_array

from .fetch import TRAINING_DATA, training_paths

QUALITIES = (95, 92, 90, 87, 85, 80)
MAX_SIDE = 2048
DEFAULT_BUDGET_MIB = 16.0
FORMAT = "edgefill-photo-pack/1"
# 4:4:4: no chroma subsampling (OpenCV's default 4:2:0 halves the colour resolution the model
# learns to reproduce; measured on a noisy test image at q95: 31.2 dB with 4:2:0, 35.7 with 4:4:4).
FULL_CHROMA = [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]


class PackError(EdgeFillError):
    """The photos cannot be packed (unreadable, or over budget) or a pack is malformed."""


@dataclass
class PackInfo:
    path: str
    photos: int
    bytes: int
    jpeg_quality: int
    max_side: int
    skipped: list[str]


def decode_photo(path: Path, max_side: int = MAX_SIDE) -> np.ndarray:
    """A photo as BGR uint8, its longest side shrunk to ``max_side`` if larger; an
    :class:`~edgefill.errors.InputError` saying why for a file that is not a usable image.
    Decoded as the runtime reads images (:func:`edgefill.imageio.read_image`): a 10- or 12-bit
    camera image stored in 16 bits is scaled over the bits it uses (``cv2.imread`` divided it by
    256, and a 12-bit inspection image trained as a nearly black one: max 15), an RGBA TIFF's
    colour is unpremultiplied. The same bytes as ``cv2.imread`` for every 8-bit training and
    texture photo of DATA.md (checked on all 555 fetched images; the one that differs is a 16-bit
    evaluation photo). A photo above the runtime's pixel limit (``imageio.MAX_PIXELS``, 100 MP: a
    108 MP phone shot) is decoded reduced (:func:`_decode_reduced`): it was left out as "not a
    readable image"."""
    try:
        img = read_image(path)
    except InputError as exc:
        img = _decode_reduced(Path(path), exc)
    h, w = img.shape[:2]
    s = max_side / max(h, w)
    if s < 1:  # a strip thinner than 1/s pixels keeps 1 pixel (OpenCV refuses to make 0)
        img = cv2.resize(img, None, fx=max(s, 1 / w), fy=max(s, 1 / h), interpolation=cv2.INTER_AREA)
    return img


#: OpenCV's flags for a decode at 1/2, 1/4 or 1/8 of the size (with the runtime's depth and colour)
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


def _decode_reduced(path: Path, refused: InputError) -> np.ndarray:
    """``path``, which :func:`~edgefill.imageio.read_image` ``refused`` for its header's size
    above ``imageio.MAX_PIXELS``, decoded at 1/2, 1/4 or 1/8 of its size, the least reduction
    that fits under the limit; ``refused`` for any other reason. libjpeg scales a JPEG while
    decoding (up to 1/8: 64 x the limit); OpenCV's other decoders decode the whole image and then
    shrink it, so they are taken up to 1/2 only (4 x the limit, 1.2 GB at 8 bits): a header that
    declares more (a decompression bomb: a small file that claims billions of pixels) stays
    refused, as the runtime refuses it."""
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError:
        raise refused from None
    size = declared_size(data.tobytes())
    limit = imageio.MAX_PIXELS
    if size is None or size[0] * size[1] <= limit:  # not over the limit by its header: refused for another reason
        raise refused
    w, h = size
    jpeg = data[:2].tobytes() == b"\xff\xd8"
    fits = [k for k in ((2, 4, 8) if jpeg else (2,)) if math.ceil(w / k) * math.ceil(h / k) <= limit]
    if not fits:
        raise refused
    try:
        img = cv2.imdecode(data, imageio.IMAGE_FLAGS | _REDUCED[fits[0]])
    except cv2.error as exc:
        reason = " ".join(str(exc).split()).split(" error: ", 1)[-1]
        raise InputError(f"image {path} is not a readable image (OpenCV, decoding it reduced: {reason})") from None
    if img is None or img.size == 0 or img.shape[0] * img.shape[1] > limit or img.dtype not in (np.uint8, np.uint16):
        raise refused
    return stored_array(img).bgr


def refusal_reason(exc: EdgeFillError, path: Path) -> str:
    """``exc``'s message without the "image PATH " it starts with (for a list of names)."""
    text, prefix = str(exc), f"image {path} "
    return text[len(prefix):] if text.startswith(prefix) else text


def decode_photos(paths: list[Path], max_side: int = MAX_SIDE, progress: bool = True,
                  desc: str = "decoding") -> tuple[list[tuple[Path, np.ndarray]], list[str]]:
    """(path, photo) of each file of ``paths`` that :func:`decode_photo` decodes, and the names of
    those it does not, each left out with one warning that gives every reason (training and
    ``pack`` both; pack listed them only in its JSON, training said "not readable" of each)."""
    decoded, left_out, why = [], [], []
    for p in tqdm(paths, desc=desc, unit="photo", disable=not progress, leave=False):
        try:
            decoded.append((p, decode_photo(p, max_side)))
        except EdgeFillError as exc:
            left_out.append(p.name)
            why.append(f"{p.name} ({refusal_reason(exc, p)})")
    if why:
        print(f"warning: {len(why)} of {len(paths)} files are left out as unusable images: "
              f"{'; '.join(why[:5])}{' ...' if len(why) > 5 else ''}", file=sys.stderr)
    return decoded, left_out


def pack_photos(paths: list[Path], out: Path, budget_bytes: int = int(DEFAULT_BUDGET_MIB * 2**20),
                max_side: int = MAX_SIDE, progress: bool = True) -> PackInfo:
    """Write ``out`` (an ``.npz``) holding ``paths``; raise :class:`PackError` if even the lowest
    JPEG quality exceeds ``budget_bytes``. Unreadable files are skipped and listed."""
    if not max_side >= 1:
        raise PackError(f"max_side must be at least 1 pixel, got {max_side}")
    paths = sorted(paths, key=lambda p: p.name)
    if len({p.name for p in paths}) != len(paths):
        raise PackError("two photos share a file name; a pack is keyed by name")
    decoded, skipped = decode_photos(paths, max_side, progress)
    photos = {p.name: img for p, img in decoded}
    if not photos:
        raise PackError(f"none of the {len(paths)} files could be decoded as an image")
    for q in QUALITIES:
        blobs = {}
        total = 0
        for name, img in tqdm(photos.items(), desc=f"JPEG q{q}", unit="photo", disable=not progress, leave=False):
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q, *FULL_CHROMA])
            if not ok:
                raise PackError(f"OpenCV could not JPEG-encode {name}")
            blobs[name] = buf.reshape(-1)
            total += buf.size
            if total > budget_bytes:
                break
        if total > budget_bytes:
            continue
        # the npz directory adds a few hundred bytes per photo: the whole file must fit
        data = _npz(blobs, {"format": FORMAT, "jpeg_quality": q, "max_side": max_side, "skipped": skipped})
        if len(data) <= budget_bytes:
            break
    else:
        raise PackError(f"{len(photos)} photos do not fit in {budget_bytes / 2**20:.2f} MiB even at JPEG quality "
                        f"{QUALITIES[-1]}; raise the budget or lower --max-side")
    atomic_write_bytes(out, data)
    return PackInfo(str(out), len(blobs), len(data), q, max_side, skipped)


def _npz(blobs: dict[str, np.ndarray], header: dict) -> bytes:
    names = list(blobs)  # sorted: the photos were decoded in name order
    arrays = {"header": np.array(json.dumps(header)), "names": np.array(names)}
    arrays.update({f"photo_{i:05d}": blobs[n] for i, n in enumerate(names)})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def load_pack(path: Path) -> tuple[list[str], list[np.ndarray]]:
    """(sorted names, decoded BGR photos) of a pack written by :func:`pack_photos`."""
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            if header.get("format") != FORMAT:
                raise PackError(f"{path} is not an edgefill photo pack (format {header.get('format')!r})")
            skipped = header.get("skipped", [])
            if not (isinstance(skipped, list) and all(isinstance(n, str) for n in skipped)):
                raise PackError(f"{path}: its header's 'skipped' must be a list of file names, got {skipped!r}")
            names_array = z["names"]
            # a crafted or damaged pack: checked here, not met as an OpenCV assertion or a TypeError later
            if names_array.ndim != 1 or names_array.dtype.kind != "U":
                raise PackError(f"{path}: 'names' must be a list of file names, got {names_array.dtype} "
                                f"{names_array.shape}")
            names = [str(n) for n in names_array]
            blobs = [z[f"photo_{i:05d}"] for i in range(len(names))]
    except (OSError, KeyError, ValueError, AttributeError, EOFError, zipfile.BadZipFile) as exc:
        raise PackError(f"cannot read the photo pack {path}: {exc}") from exc
    photos = []
    for name, blob in zip(names, blobs, strict=True):
        if blob.dtype != np.uint8 or blob.ndim != 1 or blob.size == 0:
            raise PackError(f"{path}: the photo {name} is not JPEG bytes (a 1-D uint8 array), "
                            f"got {blob.dtype} {blob.shape}")
        img = cv2.imdecode(blob, cv2.IMREAD_COLOR)
        if img is None:
            raise PackError(f"{path}: the JPEG of {name} is corrupt")
        photos.append(img)
    return names, photos


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Pack training photos into one .npz to carry to a GPU machine.")
    ap.add_argument("--out", type=Path, required=True, help="the .npz to write")
    ap.add_argument("--data", choices=TRAINING_DATA, default="train",
                    help="fetched set: the photos, the textures minus the held-out families, or both")
    ap.add_argument("--images", type=Path, default=None, help="a folder of your own photos instead")
    ap.add_argument("--budget-mib", type=float, default=DEFAULT_BUDGET_MIB)
    ap.add_argument("--max-side", type=int, default=MAX_SIDE)
    a = ap.parse_args(argv)
    if not (math.isfinite(a.budget_mib) and a.budget_mib > 0):
        ap.error(f"--budget-mib must be a positive number of MiB, got {a.budget_mib}")
    if a.max_side < 1:
        ap.error(f"--max-side must be at least 1 pixel, got {a.max_side}")
    if a.images is not None and not a.images.is_dir():
        ap.error(f"--images {a.images}: not a folder")
    try:
        paths = training_paths(a.data, a.images)
        if not paths:
            print("no images found (run: make data, or give --images DIR)", file=sys.stderr)
            return 2
        info = pack_photos(paths, a.out, int(a.budget_mib * 2**20), a.max_side)
    except EdgeFillError as exc:  # a pack error, an unlistable --images folder (an InputError was a traceback)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {a.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # was a traceback; the pack is written whole or not at all
        print(f"interrupted: {a.out} was not written", file=sys.stderr)
        return 130
    print(json.dumps(asdict(info)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
