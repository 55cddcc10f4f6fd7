"""Grey images of 8 to 16 bits through ``edgefill inpaint``'s path, as mono inspection cameras
give them: hole PSNR at the image's own peak (2**bits - 1) for the path edgefill takes
(:func:`edgefill.imageio.read_stored_image`: 16-bit samples scaled over the bits they use;
:meth:`~edgefill.imageio.StoredImage.restore`: the fill scaled back, every other pixel kept)
against the scaling edgefill used before the thirty-fourth session (every 16-bit image divided
by 257; its fill is scored here scaled back x 257 and clipped to the peak, though ``inpaint``
then wrote the whole image as those 8 bits, 0-4 for a 10-bit one), with the same model, masks
and images; plus how far apart the model's raw fill puts the three channels of a grey image
(the tint ``edgefill.grey`` removes).

    python benchmarks/grey_depth.py --model lite [--image PATH] --json bench_out/grey_depth.json

The image: a grey file of yours (``--image``, read as grey) or, by default, a synthetic scene
(``edgefill.bench.textured_scene``), made deeper by spreading its 8-bit levels over the bit
depth and adding a little noise (sigma 0.5 levels of the 8-bit image), so the low bits carry
something an 8-bit copy would lose. It may be of any size: the model's raw fill (for the channel
spread) is taken on the image padded up to the sides the model takes (reflected; the mask with
zeros) and cropped back.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

import edgefill
from edgefill import maskgen
from edgefill.backends import Backend, uses_model
from edgefill.bench import check_report, first_paragraph, host_info, host_line, textured_scene
from edgefill.fileio import atomic_write_bytes
from edgefill.imageio import read_stored_image, scaled_8bit
from edgefill.models import DEFAULT_MODEL
from edgefill.overwrites import model_inputs
from edgefill.quality import hole_psnr


def deepen(grey8: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """``grey8`` spread over ``bits`` bits (uint16 for more than 8), with sigma-0.5-level noise;
    its brightest pixel set to the peak, so that the image uses all of its bits."""
    peak = (1 << bits) - 1
    if bits == 8:
        return grey8.copy()
    scaled = grey8.astype(np.float64) * peak / 255 + rng.normal(0, 0.5 * peak / 255, grey8.shape)
    deep = np.clip(np.rint(scaled), 0, peak).astype(np.uint16)
    deep.flat[int(np.argmax(grey8))] = peak
    return deep


def raw_fill(backend: Backend, image: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """The backend's own fill of a BGR ``image`` of any size (``backend.infer`` takes only
    multiples of ``input_info.multiple``: a ShapeError on a 640x480 image with a model taking
    multiples of 64): the image padded up to them by reflection and the mask with zeros (no hole
    in the padding), the fill cropped back. None where the padded image is larger than the
    backend's largest input (``input_info.max_size``)."""
    info = backend.input_info
    h, w = mask.shape[:2]
    ph, pw = -h % info.multiple, -w % info.multiple
    if info.max_size is not None and max(h + ph, w + pw) > info.max_size:
        return None
    if ph or pw:
        image = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect")
        mask = np.pad(mask, ((0, ph), (0, pw)))
    return backend.infer(image, mask)[:h, :w]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=first_paragraph(__doc__))
    ap.add_argument("--model", default=None,
                    help=f"default: {DEFAULT_MODEL} for a learned backend, none for opencv-telea / opencv-ns")
    ap.add_argument("--backend", default="onnxruntime")
    ap.add_argument("--image", type=Path, default=None, help="a grey image of yours (default: a synthetic scene)")
    ap.add_argument("--size", type=int, default=512, help="the synthetic scene's side (without --image)")
    ap.add_argument("--bits", default="8,10,12,16")
    ap.add_argument("--family", default="objects", choices=sorted(maskgen.FAMILIES))
    ap.add_argument("--masks", type=int, default=8, help="masks, hole ratio 10-40%%, seeds 0..N-1")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    try:
        bits = [int(b) for b in a.bits.split(",")]
    except ValueError:
        ap.error(f"--bits takes whole numbers from 8 to 16, got {a.bits!r}")
    if not bits or any(not 8 <= b <= 16 for b in bits):
        ap.error(f"--bits takes whole numbers from 8 to 16, got {a.bits!r}")
    if a.masks < 1 or a.size < 64:
        ap.error("--masks must be >= 1 and --size >= 64")
    if a.image is not None:
        grey8 = cv2.imread(str(a.image), cv2.IMREAD_GRAYSCALE)
        if grey8 is None:
            ap.error(f"--image {a.image}: not a readable image")
    else:
        grey8 = cv2.cvtColor(textured_scene(a.size, a.size), cv2.COLOR_BGR2GRAY)
    h, w = grey8.shape
    masks = [maskgen.FAMILIES[a.family](h, w, np.random.default_rng([7, k]), 0.1, 0.4) for k in range(a.masks)]
    rows = []
    try:  # a bad model or output is found before the run, not after it
        if a.json:  # not over the image or the model (its sidecar) under test
            models = [a.model] if a.model is not None else [DEFAULT_MODEL] if uses_model(a.backend) else []
            check_report(a.json, model_inputs(models) + ([(a.image, "the image")] if a.image is not None else []))
        inp = edgefill.Inpainter(model=a.model, backend=a.backend)
    except edgefill.EdgeFillError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model = a.model if a.model is not None else DEFAULT_MODEL if inp.backend.uses_model else None
    host = host_info()
    print(f"{w}x{h} {'image ' + str(a.image) if a.image is not None else 'synthetic scene'}, "
          f"{model or 'no model'} on {inp.backend_name}, {a.masks} {a.family} masks")
    print(host_line(host))
    too_large = False
    with inp, tempfile.TemporaryDirectory() as tmp:
        spread = []
        for b in bits:
            deep = deepen(grey8, b, np.random.default_rng(b))
            path = Path(tmp) / f"grey{b}.png"
            cv2.imwrite(str(path), deep)
            stored = read_stored_image(path)
            peak = (1 << b) - 1
            now, before = [], []
            for mask in masks:
                hole = mask > 0
                now.append(hole_psnr(stored.restore(inp.inpaint(stored.bgr, mask), hole), deep, hole, peak))
                legacy8 = scaled_8bit(deep, 257.0) if b > 8 else deep  # read_image's scaling until this session
                filled = inp.inpaint(legacy8, mask).astype(np.float64) * (257 if b > 8 else 1)
                before.append(hole_psnr(np.minimum(filled, peak), deep, hole, peak))
                if b == 8 and inp.backend.uses_model:
                    raw = raw_fill(inp.backend, cv2.cvtColor(deep, cv2.COLOR_GRAY2BGR), mask)
                    too_large = raw is None
                    if raw is not None:
                        px = raw[hole].astype(int)
                        spread.append(float(np.mean(px.max(axis=1) - px.min(axis=1))))
            rows.append({"bits": b, "scale": stored.scale, "hole_psnr_db": float(np.mean(now)),
                         "hole_psnr_db_divided_by_257": float(np.mean(before))})
            print(f"{b:>2} bits (scale {stored.scale:7.3f}): hole PSNR at the image's peak {np.mean(now):6.2f} dB; "
                  f"divided by 257 (before) {np.mean(before):6.2f} dB", flush=True)
        if spread:
            print(f"the model's raw fill of the 8-bit grey image: channels {np.mean(spread):.2f} levels apart on average "
                  f"(Inpainter makes it grey)")
        elif too_large:
            print(f"the model's raw fill is not measured: {w}x{h} is larger than the backend takes "
                  f"({inp.backend.input_info.max_size} px a side)")
    report = {"host": host, "model": model, "backend": inp.backend_name, "image": str(a.image or "synthetic"),
              "family": a.family, "masks": a.masks, "rows": rows, "raw_fill_channel_spread": float(np.mean(spread)) if spread else None}
    if a.json:
        atomic_write_bytes(a.json, (json.dumps(report, indent=2) + "\n").encode())
        print(f"wrote {a.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
