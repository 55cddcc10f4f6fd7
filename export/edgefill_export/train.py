"""Training loop for the PConv generator: random rescaled crops of real photos, random
hole masks, L1 on hole and valid pixels plus total variation (Liu et al. 2018 weights),
and optionally a gradient loss, an SSIM loss and a PatchGAN (``losses.py``; which help is
measured in docs/training.md).

It checkpoints to one safetensors file every ``--save-every`` steps and on Ctrl-C, and
resumes from it: model, Adam state, step, training seconds and the torch RNG state; each step's
crops and masks are drawn from a generator seeded by (seed, step), so a resumed CPU run is
bit-identical to an uninterrupted one (on CUDA, cuDNN's kernel choice makes runs close but not
bit-identical). ``--max-minutes`` stops a run checkpointed after a wall-time budget (a lent GPU's command
limit); ``--pack`` trains from a photo pack (:mod:`.pack`) and ``--workers`` makes batches
ahead in worker processes.
A CSV log holds the losses and a fixed validation score (hole PSNR on held-out crops).

    python -m edgefill_export.train --model lite --steps 9000 --out runs/lite
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from edgefill import maskgen
from edgefill.errors import EdgeFillError
from edgefill.fileio import TEMP_NAME_CHARS, atomic_write_bytes, move_no_replace
from edgefill.refill_settings import RefillSettings

from .fetch import TRAINING_DATA, training_paths
from .losses import (PatchDiscriminator, gradient_l1, hinge_d, hinge_g, hole_error_db, ssim_loss, ssim_map,
                     total_variation)
from .ema import WeightAverage
from .model import MODEL_CONFIGS, PConvUNet, build_model
from .pack import MAX_SIDE, decode_photos, load_pack
from .weights import (CheckpointError, checkpoint_state, load_checkpoint, load_weights, recorded_architecture,
                      recorded_model, recorded_steps, save_checkpoint, save_weights)


@dataclass
class TrainConfig:
    model: str = "lite"
    steps: int = 9000
    batch: int = 8
    crop: int = 128
    lr: float = 5e-4
    lr_min: float = 2e-5
    warmup: int = 200
    hole_weight: float = 6.0
    valid_weight: float = 1.0
    hole_norm: bool = False  # hole L1 as each image's mean over its hole pixels (not over all pixels)
    hole_mse_weight: float = 0.0  # squared error on hole pixels (PSNR's own loss: the mean, not L1's median)
    hole_db_weight: float = 0.0  # each image's hole error in dB, averaged over images (the benchmark's mean PSNR)
    tv_weight: float = 0.1
    teacher: str = ""  # weights of a larger trained model whose fill the student also learns (distillation)
    distill_weight: float = 0.0  # squared difference from the teacher's fill on hole pixels
    grad_weight: float = 0.0
    ssim_weight: float = 0.0
    gan_weight: float = 0.0
    d_lr: float = 2e-4
    max_hole: float = 0.6
    min_scale: float = 0.25  # crops are rescaled from min_scale x to 1x native resolution (log-uniform)
    channel_shuffle: float = 0.0  # share of crops whose colour channels are permuted (docs/training.md)
    # crops also turned by a random multiple of 90 degrees: with the flip, all 8 orientations (four
    # times the distinct crops of few photos, which the GPU-trained lite had begun to memorise)
    rot90: bool = False
    masks: str = "training"  # maskgen.TRAINING_MIX; "mixed" (strokes + blobs) reproduces generations 1-3
    seed: int = 0
    bf16: bool = True
    context: bool = False  # the global-context bottleneck (model.GlobalContext); fourth-generation models
    context_lr_mult: float = 10.0  # its learning rate relative to --lr (it starts at zero; docs/training.md)
    refine: int = 0  # width of the full-resolution refinement head (model.RefineHead); 0: none
    # BatchNorm normalises with (and keeps) the --init weights' running statistics while the weights
    # train: fine-tuning on textures (docs/training.md, "Twenty-eighth session")
    freeze_bn: bool = False
    # a moving average of the weights (decay per step; 0: none) is validated and written as the
    # run's weights, the trained ones beside it as MODEL.trained.safetensors (.ema, docs/training.md)
    ema: float = 0.0
    workers: int = 0  # processes making batches ahead (use several on a GPU, where sampling is the bottleneck)
    max_minutes: float = 0.0  # stop, checkpointed, after this much training time (0: no limit)
    stop_at: int = 0  # stop, checkpointed, at this step of the --steps schedule (0: run it all)
    device: str = "cpu"
    threads: int = 0
    save_every: int = 500
    val_every: int = 500


def load_photos(paths: list[Path], max_side: int = MAX_SIDE) -> list[np.ndarray]:
    """Decode photos once, shrinking any side above ``max_side`` (crops are rescaled anyway).
    Files that are not usable images are left out, named in one warning with the reason for each
    (it said "not readable images" of every one, a photo above the pixel limit included)."""
    return [img for _, img in decode_photos(paths, max_side, desc="loading photos")[0]]


def photo_sets(source: list[Path] | Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(training photos, validation photos) from a list of image files or a photo pack
    (:mod:`.pack`); both split the readable photos by sorted name, so a pack trains on the same
    split (a folder split before dropping an unreadable file held out other photos than its pack,
    and one of them was trained on)."""
    if isinstance(source, Path):
        _, photos = load_pack(source)
        return split_photos(photos)
    return split_photos(load_photos(sorted(source, key=lambda p: p.name)))


#: ``--masks`` choices: the training mix or one mask family.
MASKS = {"training": maskgen.training_mix, **maskgen.FAMILIES}


class CropSampler:
    """Random crops with rescaling (``min_scale`` x to 1x of native resolution, log-uniform, never
    more than the whole shorter side) and flips; ``channel_shuffle``: that share of the crops get
    their colour channels in a random other order (new colours, the same structure); ``rot90``:
    each crop also turned by a random multiple of 90 degrees (drawn only then: without it the
    crops are those of a run before the option)."""

    def __init__(self, photos: list[np.ndarray], crop: int, max_hole: float, masks: str = "training",
                 min_scale: float = 0.25, channel_shuffle: float = 0.0, rot90: bool = False):
        self.photos, self.crop, self.max_hole, self.min_scale, self.rot90 = photos, crop, max_hole, min_scale, rot90
        self.masks = MASKS[masks]
        if not 0.0 <= channel_shuffle <= 1.0:
            raise ValueError(f"channel_shuffle is a share of the crops, 0 to 1; got {channel_shuffle}")
        self.channel_shuffle = channel_shuffle

    @classmethod
    def for_config(cls, photos: list[np.ndarray], cfg: TrainConfig) -> CropSampler:
        """The sampler a training run with ``cfg`` draws its batches from (benchmarks build the same)."""
        return cls(photos, cfg.crop, cfg.max_hole, cfg.masks, cfg.min_scale, cfg.channel_shuffle, cfg.rot90)

    def crop_one(self, rng: np.random.Generator) -> np.ndarray:
        img = self.photos[int(rng.integers(len(self.photos)))]
        h, w = img.shape[:2]
        whole = self.crop / min(h, w)  # the scale at which the crop is the whole shorter side
        scale = float(np.exp(rng.uniform(np.log(max(whole, self.min_scale)), np.log(max(whole, 1.0)))))
        side = min(int(round(self.crop / scale)), h, w)
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        patch = cv2.resize(img[y : y + side, x : x + side], (self.crop, self.crop), interpolation=cv2.INTER_AREA)
        patch = patch[:, ::-1] if rng.random() < 0.5 else patch
        return np.rot90(patch, int(rng.integers(4))) if self.rot90 else patch

    def mask_one(self, rng: np.random.Generator) -> np.ndarray:
        t = rng.uniform(0.02, self.max_hole)
        return self.masks(self.crop, self.crop, rng, max(0.005, t - 0.05), t + 0.05)

    def arrays(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` crops (uint8 N,H,W,3 BGR) and their masks (uint8 N,H,W, non-zero = hole)."""
        imgs = np.stack([self.crop_one(rng) for _ in range(n)])
        masks = np.stack([self.mask_one(rng) for _ in range(n)])
        if self.channel_shuffle > 0:  # drawn last: the crops and masks are those of a run without it
            imgs = self.shuffle_channels(imgs, rng)
        return imgs, masks

    def batch(self, n: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return to_tensors(*self.arrays(n, rng))

    def shuffle_channels(self, imgs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        orders = [(0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]  # every order but the original
        out = imgs.copy()
        for i in np.flatnonzero(rng.random(len(imgs)) < self.channel_shuffle):
            out[i] = imgs[i][..., list(orders[int(rng.integers(len(orders)))])]
        return out


def to_tensors(imgs: np.ndarray | torch.Tensor, masks: np.ndarray | torch.Tensor,
               device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N,H,W,3) BGR + uint8 (N,H,W) public masks -> image in [-1,1], valid in {0,1}, on
    ``device``: the uint8 arrays go there first (a quarter of the float bytes), then convert."""
    imgs, masks = (torch.as_tensor(np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a) for a in (imgs, masks))
    nonblocking = imgs.is_pinned()
    imgs, masks = imgs.to(device, non_blocking=nonblocking), masks.to(device, non_blocking=nonblocking)
    x = imgs.permute(0, 3, 1, 2).float() / 127.5 - 1.0
    valid = (masks == 0).float()[:, None]
    return x, valid


def loss_fn(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, cfg: TrainConfig,
            teacher_fill: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    pred = pred.float()
    hole = 1.0 - valid
    err = (pred - target).abs()
    if cfg.hole_norm:  # every image's hole counts alike, thin scratches as much as large objects
        per_image = (err * hole).sum(dim=(1, 2, 3)) / (hole.sum(dim=(1, 2, 3)) * err.shape[1]).clamp(min=1)
        l_hole = per_image.mean()
    else:  # proportional to the hole's area (generations 1-4)
        l_hole = (err * hole).mean()
    l_valid = (err * valid).mean()
    comp = pred * hole + target * valid
    out = {"hole": l_hole, "valid": l_valid, "tv": total_variation(comp)}
    total = cfg.hole_weight * l_hole + cfg.valid_weight * l_valid + cfg.tv_weight * out["tv"]
    if cfg.hole_mse_weight:
        out["hole_mse"] = (err * err * hole).mean()
        total = total + cfg.hole_mse_weight * out["hole_mse"]
    if cfg.hole_db_weight:
        out["hole_db"] = hole_error_db(err, hole).mean()
        total = total + cfg.hole_db_weight * out["hole_db"]
    if teacher_fill is not None:  # the teacher's fill is a low-noise estimate of the mean a PSNR-optimal fill is
        out["distill"] = ((pred - teacher_fill) ** 2 * hole).mean()
        total = total + cfg.distill_weight * out["distill"]
    if cfg.grad_weight:
        out["grad"] = gradient_l1(comp, target, hole)
        total = total + cfg.grad_weight * out["grad"]
    if cfg.ssim_weight:
        out["ssim"] = ssim_loss(comp, target, hole)
        total = total + cfg.ssim_weight * out["ssim"]
    out["loss"] = total
    return out


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then a cosine decay to ``lr_min``; the default ``lr_min`` is a
    floor no higher than ``lr`` (a fine-tuning ``--lr 1e-5`` decays to 1e-5, not up to 2e-5), and
    :func:`check_config` refuses a given one above ``lr``."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    t = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    floor = min(cfg.lr_min, cfg.lr)
    return floor + 0.5 * (cfg.lr - floor) * (1 + math.cos(math.pi * min(1.0, t)))


def hole_psnr(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> float:
    """PSNR in 8-bit units on hole pixels only, pooled over the batch."""
    p = ((pred.float().clamp(-1, 1) + 1) * 127.5).round()
    t = (target + 1) * 127.5
    hole = (1 - valid).expand_as(p) > 0
    mse = ((p - t)[hole] ** 2).mean().item()
    return 10 * math.log10(255.0**2 / max(mse, 1e-10))


class Validator:
    """A fixed set of held-out crops and masks (seeded), scored by hole PSNR."""

    def __init__(self, photos: list[np.ndarray], crop: int, n: int = 32, seed: int = 1234):
        rng = np.random.default_rng(seed)
        sampler = CropSampler(photos, crop, 0.5, "mixed")  # the same held-out masks for every generation
        self.x, self.valid = sampler.batch(n, rng)

    @torch.no_grad()
    def _predict(self, model: PConvUNet, device: str) -> torch.Tensor:
        modes = [m.training for m in model.modules()]  # (frozen BatchNorm stays in eval mode)
        model.eval()
        pred = model(self.x.to(device), self.valid.to(device)).cpu().float().clamp(-1, 1)
        for m, mode in zip(model.modules(), modes, strict=True):
            m.training = mode
        return pred

    def psnr(self, model: PConvUNet, device: str) -> float:
        """Hole PSNR in dB alone (the training-photo score, where SSIM is not logged)."""
        return hole_psnr(self._predict(model, device), self.x, self.valid)

    def __call__(self, model: PConvUNet, device: str) -> tuple[float, float]:
        """(hole PSNR in dB, mean SSIM over hole pixels) of the composite."""
        pred = self._predict(model, device)
        comp = pred * (1 - self.valid) + self.x * self.valid
        hole = (1 - self.valid).expand_as(comp) > 0
        return hole_psnr(pred, self.x, self.valid), float(ssim_map(comp, self.x)[hole].mean())


#: Blocks that fine-tuning may add to trained weights (each starts as a no-op).
ADDED_BLOCKS = ("context.", "refine.")


def param_groups(model: PConvUNet, cfg: TrainConfig, fast: tuple[str, ...] = ADDED_BLOCKS) -> list[dict]:
    """Adam parameter groups: the blocks named in ``fast`` (prefixes of ``ADDED_BLOCKS``: the
    ones this run adds to its ``--init`` weights as no-ops, or all of them when training from
    scratch) learn ``context_lr_mult`` times faster. Started at zero, the context block barely
    moved at the base rate (max |weight| 0.01 after 500 steps at 1.5e-4), while the rest of a
    fine-tuned network should move slowly. A block the ``--init`` weights already had trained
    is part of that rest (twenty-eighth session: before, the shipped lite's trained context
    block took 10x the fine-tuning rate, and texture fine-tunes got worse; docs/training.md)."""
    new = [p for n, p in model.named_parameters() if n.startswith(fast)]  # (no name starts with ())
    rest = [p for n, p in model.named_parameters() if not n.startswith(fast)]
    return [{"params": rest}] + ([{"params": new, "lr_mult": cfg.context_lr_mult}] if new else [])


def init_from(model: PConvUNet, path: Path) -> tuple[str, ...]:
    """Load trained weights into ``model`` for fine-tuning. Weights without the global-context
    block or the refinement head may start a model with them (they start as no-ops); anything
    else must match; weights of another model (its width) are refused in one line. Returns the
    prefixes of the blocks so added (for ``param_groups``).

    The inference options the weights record (``fill_passes``, the runtime's refill settings;
    not part of the trained network) are carried into ``model.config``, so that the fine-tuned
    weights ship as the ones they came from unless ``ship`` is told otherwise: without them a
    fine-tune of the shipped nano shipped with no fill smoothing and the default NS mix gate."""
    named, name = recorded_model(path), model.config.name
    if named in MODEL_CONFIGS and named != name:
        narrow, wide = MODEL_CONFIGS[named].channels, MODEL_CONFIGS[name].channels
        widen = (f", or widen them first (python -m edgefill_export.widen {path} --to {name} --out WEIGHTS)"
                 if len(narrow) == len(wide) and all(a <= b for a, b in zip(narrow, wide, strict=True)) else "")
        raise SystemExit(f"--init {path} holds model {named!r}, not {name!r}: fine-tune them with --model {named}{widen}")
    source = load_weights(path, name)
    if source.config.context and not model.config.context:
        raise SystemExit(f"{path} has the global-context block; train with --context to fine-tune it")
    if source.config.refine and source.config.refine != model.config.refine:
        raise SystemExit(f"{path} has a refinement head of width {source.config.refine}; "
                         f"train with --refine {source.config.refine} to fine-tune it")
    result = model.load_state_dict(source.state_dict(), strict=False)
    missing = [k for k in result.missing_keys if not k.startswith(ADDED_BLOCKS)]
    if missing or result.unexpected_keys:
        raise SystemExit(f"{path} does not fit model {model.config.name!r}: missing {missing}, "
                         f"unexpected {result.unexpected_keys}")
    model.config = replace(model.config, fill_passes=source.config.fill_passes, refill=source.config.refill)
    return tuple(b for b in ADDED_BLOCKS if any(k.startswith(b) for k in result.missing_keys))


def inference_options(config) -> dict:
    """``config``'s inference options (fill passes and the recorded refill settings), as a
    checkpoint's state records them."""
    return {"fill_passes": config.fill_passes, **config.refill.to_dict()}


def with_inference_options(config, options: dict):
    """``config`` with the inference options a checkpoint recorded (:func:`inference_options`)."""
    return replace(config, fill_passes=int(options.get("fill_passes", 0)), refill=RefillSettings.parse(options))


def train_mode(model: PConvUNet, freeze_bn: bool) -> None:
    """Training mode; with ``freeze_bn`` every BatchNorm stays in eval mode: it normalises with
    its running statistics and does not update them (its scale and shift still learn).
    Re-estimating the shipped lite's statistics on texture crops alone, weights unchanged,
    lowered its texture validation score from 23.43 to 22.82 dB (docs/training.md)."""
    model.train()
    if freeze_bn:
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()


def split_photos(items: list) -> tuple[list, list]:
    """Every 10th training photo (by sorted name) is held out for validation."""
    return [p for i, p in enumerate(items) if i % 10 != 5], [p for i, p in enumerate(items) if i % 10 == 5]


def batch_rng(cfg: TrainConfig, step: int) -> np.random.Generator:
    """The random stream of one step's crops and masks: a function of (seed, step) only, so a
    resumed run draws what an uninterrupted one would, and batches can be made ahead of time
    in worker processes (``--workers``) without changing them."""
    return np.random.default_rng([cfg.seed, step])


class _StepBatches(torch.utils.data.Dataset):
    """Item ``step`` is that step's batch (:func:`batch_rng`): the same in any worker process."""

    def __init__(self, sampler: "CropSampler", cfg: TrainConfig):
        self.sampler, self.cfg = sampler, cfg

    def __len__(self) -> int:
        return self.cfg.steps

    def __getitem__(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        return self.sampler.arrays(self.cfg.batch, batch_rng(self.cfg, step))


def _quiet_worker(_: int) -> None:
    """A batch worker leaves Ctrl-C to the training process (which checkpoints at the next step
    and then stops the workers): a worker that took it would die, and the next batch would fail
    with "DataLoader worker exited unexpectedly". One OpenCV thread each: the workers are the
    parallelism. (Safe here because workers are not forked from the training process: a worker
    forked after that process had used OpenCV's thread pool hung in ``cv2.setNumThreads``, and
    would hang in any parallel OpenCV call, on the pool's copied, ownerless lock.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)


#: How batch workers start: see :class:`BatchPrefetcher`.
_WORKER_START = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
#: What the fork server imports once, before it forks any worker: this module, and with it torch and
#: OpenCV (imports only; no thread pool has run there). Without it (the stdlib's default preloads
#: ``__main__`` alone, and nothing for ``python -m``) every worker imported them itself when it
#: unpickled its batch maker: 3.8-4.9 s to the first batch with 2 workers on the 2-core VM against
#: 2.2-2.7 s (``benchmarks/batch_startup.py --repeats 3``: 1.79x sooner); a lent H100's calls spent
#: 50-57 s before their first step with 12 workers (thirty-first session; not measured there since).
_WORKER_PRELOAD = ["__main__", __name__]
#: The process that imported this module: the fork server, in a batch worker, when the preload works.
_IMPORTED_BY = os.getpid()


class BatchPrefetcher:
    """Makes the batches of the coming steps in ``workers`` processes while the model trains on
    the current one; ``workers=0`` makes each batch in this process when asked. The processes are
    a ``torch`` DataLoader's workers, started by a fork server (spawned where there is none), never
    forked from this process, whose OpenCV and OpenMP thread pools a fork would copy without their
    threads; each gets the decoded photos once, pickled. Processes, not threads: the mask
    generator is Python and holds the GIL, and twelve threads fed a lent H100 only 5-7 steps/s of
    lite at batch 32, 256 px, its GPU mostly idle (docs/training.md "Twenty-seventh session").
    Steps are asked for in order from ``start``."""

    def __init__(self, sampler: "CropSampler", cfg: TrainConfig, start: int = 0):
        self.steps, self.cfg, self.next_step = _StepBatches(sampler, cfg), cfg, start
        self.batches = None
        if cfg.workers > 0 and start < cfg.steps:
            if _WORKER_START == "forkserver":  # (no effect once this process's fork server runs)
                multiprocessing.get_context("forkserver").set_forkserver_preload(_WORKER_PRELOAD)
            loader = torch.utils.data.DataLoader(
                self.steps, batch_size=None, sampler=range(start, cfg.steps),
                num_workers=cfg.workers, prefetch_factor=4, worker_init_fn=_quiet_worker,
                multiprocessing_context=_WORKER_START, pin_memory=cfg.device.startswith("cuda"))
            self.batches = iter(loader)

    def arrays(self, step: int) -> tuple:
        """Step ``step``'s crops and masks as :meth:`CropSampler.arrays` makes them (uint8; from a
        worker, as tensors). The workers send these, not the float batch: a quarter of the bytes."""
        if self.batches is None:
            return self.steps[step]
        if step != self.next_step:
            raise ValueError(f"batches are made ahead in order: step {self.next_step} is next, not {step}")
        self.next_step += 1
        return next(self.batches)

    def get(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Step ``step``'s batch on the training device (:func:`to_tensors`)."""
        return to_tensors(*self.arrays(step), device=self.cfg.device)

    def close(self) -> None:
        """Stops the worker processes (dropping the DataLoader's iterator shuts them down)."""
        self.batches = None


def _early_stop(cfg: TrainConfig, step: int, elapsed: float) -> str | None:
    """Why the run stops before ``cfg.steps`` (``--max-minutes`` or ``--stop-at``), or None."""
    if cfg.max_minutes and elapsed > 60 * cfg.max_minutes:
        return (f"time limit ({cfg.max_minutes:g} min) reached at step {step} of {cfg.steps}: "
                "checkpoint saved; run the same command again to resume")
    if cfg.stop_at and step >= cfg.stop_at:
        return f"stopped at step {step} of {cfg.steps} (--stop-at)"
    return None


class _StopRequest:
    """Ctrl-C and SIGTERM (``kill``, a scheduler's stop; background jobs of a non-interactive
    shell ignore SIGINT) stop the run at the next step boundary, where the loop raises
    KeyboardInterrupt and saves a checkpoint: one raised mid-step (inside ``opt.step()``, or
    between the discriminator's and the generator's updates) would checkpoint a half-made step
    under the previous step's number, and the resumed run would differ. A second signal stops at
    once, without a checkpoint, except while a checkpoint is being written (:meth:`deferred`):
    then it waits for the write (raised into it, it aborted the atomic write, and the run had said
    "saving checkpoint at step N" while the one kept was older). :meth:`restore` puts the previous
    handlers back."""

    def __init__(self) -> None:
        self.requested = self.urgent = self.holding = False
        self.previous: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            if sig == signal.SIGINT and signal.getsignal(sig) is not signal.default_int_handler:
                continue  # SIGINT ignored (a background job) or handled by the caller: leave it so
            self.previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum, frame) -> None:
        if self.holding:  # a checkpoint is being written: the run stops once it is whole
            if self.requested:
                sys.stderr.write("\nstill writing the checkpoint: the run stops when it is saved\n")
            self.requested = True
            return
        if self.requested:
            self.urgent = True
            raise KeyboardInterrupt
        self.requested = True

    @contextlib.contextmanager
    def deferred(self):
        """While the block runs (a checkpoint's write), a signal is noted, not raised."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def restore(self) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


#: The loss terms' weights: 0 turns a term off; a negative one would train to make it worse.
_LOSS_WEIGHTS = ("hole_weight", "valid_weight", "hole_mse_weight", "hole_db_weight", "tv_weight", "distill_weight",
                 "grad_weight", "ssim_weight", "gan_weight")


def check_config(cfg: TrainConfig) -> None:
    """Refuse, in one line (SystemExit), settings a run cannot train with, before any work."""
    if cfg.model not in MODEL_CONFIGS:
        raise SystemExit(f"unknown --model {cfg.model!r}; known: {', '.join(MODEL_CONFIGS)}")
    if cfg.masks not in MASKS:
        raise SystemExit(f"unknown --masks {cfg.masks!r}; known: {', '.join(MASKS)}")
    for name in ("steps", "batch", "save_every", "val_every"):
        if getattr(cfg, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")
    for name in ("warmup", "threads", "workers", "stop_at", "max_minutes", "lr_min", "refine", "context_lr_mult",
                 *_LOSS_WEIGHTS):
        if not getattr(cfg, name) >= 0:
            raise SystemExit(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(cfg, name)}")
    # inf passes the range checks but makes every weight NaN at the first step
    for name in ("lr", "lr_min", "d_lr", "context_lr_mult", *_LOSS_WEIGHTS):
        if not math.isfinite(getattr(cfg, name)):
            raise SystemExit(f"--{name.replace('_', '-')} must be a finite number, got {getattr(cfg, name)}")
    multiple = MODEL_CONFIGS[cfg.model].multiple
    if cfg.crop < multiple or cfg.crop % multiple:
        raise SystemExit(f"--crop must be a multiple of {multiple} for model {cfg.model!r}, got {cfg.crop}")
    side = cfg.crop // multiple  # of the bottleneck, where training's BatchNorm needs 2 values per channel or more
    if cfg.batch * side * side < 2:  # it was a ValueError traceback from torch at the first step
        raise SystemExit(f"--batch {cfg.batch} with --crop {cfg.crop} gives model {cfg.model!r} one value per channel "
                         f"at its {side}x{side} bottleneck, too few for BatchNorm in training: use --batch 2 or more, "
                         f"or --crop {2 * multiple}")
    if not 0.0 <= cfg.ema < 1.0:
        raise SystemExit(f"--ema is a decay per step, 0 (off) or above and below 1 (e.g. 0.999), got {cfg.ema}")
    for name in ("lr", "d_lr"):
        if not getattr(cfg, name) > 0:
            raise SystemExit(f"--{name.replace('_', '-')} must be above 0, got {getattr(cfg, name)}")
    # the default (or the same value given) is a floor that lr_at lowers to --lr; another one above --lr would rise
    if cfg.lr_min > cfg.lr and cfg.lr_min != TrainConfig.lr_min:
        raise SystemExit(f"--lr-min {cfg.lr_min:g} is above --lr {cfg.lr:g}: the schedule decays from --lr to "
                         "--lr-min, so give an --lr-min at or below --lr")
    for name in ("max_hole", "min_scale"):
        if not 0 < getattr(cfg, name) <= 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be in (0, 1], got {getattr(cfg, name)}")
    if not 0 <= cfg.channel_shuffle <= 1:
        raise SystemExit(f"--channel-shuffle is a share of the crops, 0 to 1; got {cfg.channel_shuffle}")
    # checked before the photos load: "gpu", "mps" or "cuda:x" were a PyTorch traceback after it,
    # and "meta" left a run folder holding a log.csv header only
    if re.fullmatch(r"cpu|cuda(:\d+)?", cfg.device) is None:
        raise SystemExit(f"--device must be cpu, cuda or cuda:N (a GPU's index), got {cfg.device!r}")
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {cfg.device}: this PyTorch sees no CUDA GPU (torch.cuda.is_available() "
                         "is false); train with --device cpu or install a CUDA build of torch")
    if cfg.device.startswith("cuda:") and int(cfg.device[5:]) >= torch.cuda.device_count():
        raise SystemExit(f"--device {cfg.device}: this machine has {torch.cuda.device_count()} CUDA GPU(s), "
                         "numbered from 0")


#: Settings that may change between a run and its resumption without a word: how long it
#: runs and how it uses the machine.
_QUIET_ON_RESUME = ("steps", "stop_at", "max_minutes", "threads", "workers", "device")


def resume_notes(saved: dict, cfg: TrainConfig, step: int, ckpt: Path) -> list[str]:
    """What a user resuming ``ckpt`` (saved with the settings ``saved``) with ``cfg`` should be
    told: settings that differ from the checkpoint's (the resumed run trains with the new ones),
    a run that is already past ``--steps``, and a discriminator left behind."""
    notes = []
    changed = [f"--{k.replace('_', '-')} {saved[k]!r} -> {v!r}" for k, v in asdict(cfg).items()
               if k in saved and k not in _QUIET_ON_RESUME and saved[k] != v]
    if changed:
        notes.append(f"resuming with settings other than the checkpoint's; from step {step} the run trains with "
                     f"the new ones: {', '.join(changed)}")
    if step >= cfg.steps:
        notes.append(f"the checkpoint is at step {step}, at or past --steps {cfg.steps}: nothing is trained (raise "
                     "--steps to train on, or pass --no-resume to start again)")
    elif isinstance(saved.get("steps"), int) and saved["steps"] != cfg.steps:
        # --steps is quiet on resume (how long a run trains), but it also sets the schedule's length
        before = lr_at(step, replace(cfg, steps=saved["steps"]))
        notes.append(f"--steps is the run's total, not steps to add: the checkpoint at step {step} was scheduled for "
                     f"{saved['steps']} steps and now trains to {cfg.steps}; the learning rate's cosine decay is "
                     f"stretched to match (at step {step}: {before:.2e} -> {lr_at(step, cfg):.2e})")
    if saved.get("gan_weight") and not cfg.gan_weight:
        notes.append(f"{ckpt.name} holds a discriminator (--gan-weight {saved['gan_weight']}), which this run "
                     "without --gan-weight leaves out")
    return notes


def _read_log(path: Path, header: list[str]) -> list[list[str]] | None:
    """The rows of the CSV log ``path`` (its header first) if it is one this command wrote: it
    reads as text CSV to its end and its header starts with ``step`` and names only columns of
    ``header`` (an older version's log has fewer; it is continued with its own). Else None:
    anything else (a garbled header, bytes of a torn write, another file saved as log.csv) would
    get rows under the wrong names, and :func:`_trim_log` would drop its rows as malformed."""
    try:
        with path.open(newline="") as f:
            rows = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error):  # binary or not CSV at all
        return None
    old = rows[0] if rows else []
    return rows if old[:1] == ["step"] and set(old) <= set(header) else None


def _trim_log(path: Path, rows: list[list[str]], step: int) -> list[str]:
    """Cut the CSV log ``path`` (its ``rows``, as :func:`_read_log` read them) back to the rows of
    steps up to ``step`` (where the run resumes: a run that died after its last checkpoint had
    logged steps it will train again) and drop a row cut short by the crash; return its header."""
    header, *rows = rows
    keep = [r for r in rows if len(r) == len(header) and r[0].isdigit() and int(r[0]) <= step]
    if len(keep) < len(rows):
        buf = io.StringIO()
        csv.writer(buf).writerows([header, *keep])
        atomic_write_bytes(path, buf.getvalue().encode())
    return header


def _elapsed_of(state: dict) -> float:
    """The training seconds a checkpoint records (0 for one from before they were recorded)."""
    seconds = state.get("elapsed", 0.0)
    ok = isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and math.isfinite(seconds) and seconds >= 0
    return float(seconds) if ok else 0.0


def small_photos_note(photos: list[np.ndarray], crop: int) -> str | None:
    """One line for the run's log when some photos' shorter side is below ``crop`` (those crops
    are the whole photo, upscaled: softer than the rest), or None; once per run, not per photo."""
    small = sum(min(p.shape[:2]) < crop for p in photos)
    if not small:
        return None
    return (f"{small} of {len(photos)} photos are smaller than the {crop}-px crop (shorter side) and are "
            "upscaled to it")


def load_teacher(cfg: TrainConfig) -> PConvUNet | None:
    """The frozen teacher of ``--teacher`` (in eval mode), or None without distillation."""
    if not cfg.distill_weight and not cfg.teacher:
        return None
    if not (cfg.distill_weight and cfg.teacher):
        raise SystemExit("distillation needs both --teacher WEIGHTS and --distill-weight W > 0")
    path = Path(cfg.teacher)
    if not path.is_file():
        raise SystemExit(f"--teacher {path}: no such file")
    try:
        teacher = load_weights(path).to(cfg.device).eval()
    except CheckpointError as exc:
        raise SystemExit(f"--teacher: {exc}") from None
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def run_weights(out: Path, model: str) -> list[Path]:
    """The weights files a run of any model writes in ``out`` (``MODEL.safetensors`` and, with
    ``--ema``, ``MODEL.trained.safetensors``), those of ``model`` first; existing or not."""
    names = [model, *(m for m in MODEL_CONFIGS if m != model)]
    return [out / f"{m}{suffix}" for m in names for suffix in (".safetensors", ".trained.safetensors")]


def check_out(out: Path, ckpt: Path, weights: Path, resume: bool) -> None:
    """Refuse, in one line, a run folder ``out`` that is a file or cannot be written to, and one
    holding a finished or stopped run's weights without its checkpoint (deleted, or still in
    the parts the GPU recipe sends back): resuming it would start again from step 0 over them;
    ``--no-resume`` says that is wanted. Any model's weights count: training another model into
    the folder of a finished run (its checkpoint deleted) cut that run's log back to nothing.
    Then remove the temporary files an interrupted save of this run's files (checkpoint, weights,
    log.csv; :func:`edgefill.fileio.atomic_write_bytes`) left: a SIGKILL mid-save left a
    full-size hidden one behind for good."""
    if out.exists() and not out.is_dir():
        raise SystemExit(f"--out {out} is a file; give a folder for the run (checkpoint, log.csv, weights)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise SystemExit(f"--out {out}: cannot write there ({exc.strerror or exc})") from None
    model = weights.stem
    held = [p for p in run_weights(out, model) if p.exists()] if resume and not ckpt.exists() else []
    if held:
        parts = sorted(out.glob(ckpt.name + ".part-*"))
        hint = (f"join its parts first (cat {ckpt}.part-* > {ckpt}), or " if parts else "")
        if held[0].name.startswith(f"{model}."):
            raise SystemExit(f"{out} holds {held[0].name} from an earlier run but no {ckpt.name} to resume from: "
                             f"{hint}pass --no-resume to train again from step 0 (replacing the weights; log.csv is "
                             "moved aside to log.N.csv), or give another --out")
        raise SystemExit(f"{out} holds {held[0].name}, another model's weights from an earlier run, but no "
                         f"{ckpt.name}: {hint}give another --out for {model} (or pass --no-resume to train it there "
                         "beside them; log.csv is moved aside to log.N.csv)")
    ours = [ckpt.name, "log.csv", *(p.name for p in run_weights(out, model)[:2])]
    temporary = re.compile("|".join(re.escape("." + name[:TEMP_NAME_CHARS] + ".") + r"[a-z0-9_]{8}\.part"
                                    for name in ours))
    stale = sorted(p for p in out.iterdir() if temporary.fullmatch(p.name) and p.is_file() and not p.is_symlink())
    for p in stale:
        p.unlink(missing_ok=True)
    if stale:
        print(f"note: removed {len(stale)} temporary file(s) an interrupted save had left in {out}: "
              f"{', '.join(p.name for p in stale)}", file=sys.stderr)


def data_id(images: list[Path] | Path) -> str:
    """What a checkpoint records of the photos it was trained on: their number and a digest of
    their sorted file names (a pack's names with those it skipped as unreadable, so a folder and
    its pack agree); a resumed run on other photos says so."""
    if isinstance(images, Path):
        with np.load(images, allow_pickle=False) as z:
            names = [str(n) for n in z["names"]] + list(json.loads(str(z["header"])).get("skipped", []))
    else:
        names = [p.name for p in images]
    digest = hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:12]
    return f"{len(names)} files, names {digest}"


def train(cfg: TrainConfig, out: Path, images: list[Path] | Path, resume: bool = True, init: Path | None = None,
          inherit: Iterable[str] = ()) -> Path:
    """Train (or resume) into ``out``; return the weights file. ``images``: photo files, or the
    path of a photo pack. With ``cfg.max_minutes`` it may stop early, checkpointed; the weights
    file's metadata says ``finished: false`` then. ``cfg.threads`` holds for the run only: the
    process's torch thread count is put back when it returns or raises (``edgefill train`` and the
    tests run it in-process). A run refused or failed before it wrote anything (too few photos,
    a bad ``--init``) removes the folders it made for ``out``: they were left empty.
    ``inherit``: fields of :data:`ARCHITECTURE` to take from the checkpoint the run resumes, or
    else from the ``init`` weights, rather than from ``cfg`` (those the command line did not
    set; :func:`inherited`)."""
    threads = torch.get_num_threads()
    out = Path(out)
    made = [p for p in (out, *out.parents) if not p.exists()]  # deepest first
    try:
        return _train(cfg, out, images, resume, init, tuple(inherit))
    except BaseException:
        for folder in made:
            try:
                folder.rmdir()  # only an empty one: anything the run wrote is kept
            except OSError:
                break
        raise
    finally:
        torch.set_num_threads(threads)


#: The flags trained weights record and a run must match (its network's shape): those the
#: command line does not set are taken from ``--init``'s weights, or from the checkpoint a run
#: resumes (every shipped model records ``context: true``, and the README's fine-tuning command,
#: without ``--context``, was refused).
ARCHITECTURE = ("model", "context", "refine")


def _flag(field: str, value) -> str:
    """How the command line sets ``field`` to ``value`` (for a note)."""
    if isinstance(value, bool):
        return f"--{'' if value else 'no-'}{field}"
    return f"--{field.replace('_', '-')} {value}"


def inherited(cfg: TrainConfig, fields: tuple[str, ...], ckpt: Path | None, init: Path | None) -> TrainConfig:
    """``cfg`` with the :data:`ARCHITECTURE` ``fields`` (those the command line did not set) as
    the checkpoint ``ckpt`` a run resumes records them, or else the ``init`` weights; said in one
    line where that differs from the defaults. What the source does not record (validly) stays
    as it is; a flag the command line did set is never changed (a contradiction is refused later,
    as before)."""
    if not fields or (ckpt is None and init is None):
        return cfg
    if ckpt is not None:
        config, source = checkpoint_state(ckpt).get("config", {}), f"the checkpoint {ckpt} records"
        config = config if isinstance(config, dict) else {}
        checks = {"model": lambda v: v in MODEL_CONFIGS, "context": lambda v: isinstance(v, bool),
                  "refine": lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0}
        recorded = {k: v for k, v in config.items() if k in checks and checks[k](v)}
    else:
        recorded, source = recorded_architecture(init), f"the --init weights {init} record"
    values = {k: recorded[k] for k in fields if k in recorded}
    said = [_flag(k, v) for k, v in values.items() if v != getattr(TrainConfig, k)]
    if said:
        print(f"note: training with {' '.join(said)} as {source} (not set on the command line)", file=sys.stderr)
    return replace(cfg, **values)


def _train(cfg: TrainConfig, out: Path, images: list[Path] | Path, resume: bool, init: Path | None,
           inherit: tuple[str, ...] = ()) -> Path:
    ckpt = out / "checkpoint.safetensors"
    cfg = inherited(cfg, inherit, ckpt if resume and ckpt.is_file() else None, init)
    check_config(cfg)
    weights = out / f"{cfg.model}.safetensors"
    check_out(out, ckpt, weights, resume)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    if cfg.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels
    train_photos, val_photos = photo_sets(images)
    if not train_photos or not val_photos:
        raise SystemExit(f"need at least 6 readable training images (the 6th of every 10 by name is held out for "
                         f"validation), found {len(train_photos) + len(val_photos)} "
                         "(run: make data, or give --images DIR / --pack FILE)")
    upscaled = small_photos_note(train_photos + val_photos, cfg.crop)
    if upscaled:
        print(f"note: {upscaled}", file=sys.stderr)
    data = data_id(images)
    sampler = CropSampler.for_config(train_photos, cfg)
    validator = Validator(val_photos, cfg.crop)
    # the same score on crops of the training photos: a gap that grows while validation stays
    # flat is the network memorising its photos (the GPU-trained lite: docs/training.md)
    fit_validator = Validator(train_photos, cfg.crop)

    model = build_model(cfg.model, context=cfg.context, refine=cfg.refine).to(cfg.device)
    teacher = load_teacher(cfg)
    resuming = resume and ckpt.exists()
    saved = checkpoint_state(ckpt) if resuming else {}  # its loop state, from the header alone
    if resuming:  # the groups the run started with (checkpoints from before they were recorded: all blocks)
        fast = tuple(saved.get("fast_blocks", ADDED_BLOCKS))
    elif init is not None:  # fine-tune from trained weights (e.g. the shipped model)
        fast = init_from(model, init)
        print(f"initialised from {init}", file=sys.stderr)
        carried = {k: v for k, v in inference_options(model.config).items() if v}
        if carried:
            print("carried its inference options into the new weights: "
                  f"{', '.join(f'{k} {v:g}' for k, v in carried.items())} (chosen for the --init weights; "
                  "`ship --fill-passes ... --wide-ns-weight ...` sets others)", file=sys.stderr)
    else:
        fast = ADDED_BLOCKS
    opt = torch.optim.Adam(param_groups(model, cfg, fast), lr=cfg.lr)
    extra = {}
    disc = None
    if cfg.gan_weight:
        disc = PatchDiscriminator().to(cfg.device)
        d_opt = torch.optim.Adam(disc.parameters(), lr=cfg.d_lr, betas=(0.5, 0.999))
        extra["disc"] = (disc, d_opt)
    average = WeightAverage(model, cfg.ema) if cfg.ema else None
    step, elapsed = 0, 0.0
    if resuming:
        mults = [g.get("lr_mult", 1.0) for g in opt.param_groups]
        saved_ema = saved.get("config", {}).get("ema", 0.0)
        with_average = {"ema": (average.module, None)} if average is not None and saved_ema else {}
        state = load_checkpoint(ckpt, model, opt, {**extra, **with_average})
        if average is not None and not with_average:
            average.restart(model)
            print(f"note: {ckpt.name} holds no weight average (trained without --ema): the average starts at its "
                  f"weights of step {state['step']}", file=sys.stderr)
        elif saved_ema and average is None:
            print(f"warning: {ckpt.name} holds a weight average (--ema {saved_ema}), which this run without --ema "
                  "leaves out: it trains on, and writes, the trained weights", file=sys.stderr)
        for g, mult in zip(opt.param_groups, mults, strict=True):  # this run's --context-lr-mult, not the saved one
            g["lr_mult"] = mult
        if disc is not None:  # this run's --d-lr (the loop sets only the generator's rate; the saved one stayed)
            for g in d_opt.param_groups:
                g["lr"] = cfg.d_lr
        step, elapsed = state["step"], _elapsed_of(state)
        if isinstance(state.get("inference"), dict):  # carried from --init (checkpoints before: none)
            model.config = with_inference_options(model.config, state["inference"])
        print(f"resumed {ckpt} at step {step}", file=sys.stderr)
        for note in resume_notes(state.get("config", {}), cfg, step, ckpt):
            print(f"warning: {note}", file=sys.stderr)
        if state.get("data", data) != data:  # checkpoints from before it was recorded have none
            print(f"warning: the checkpoint was trained on other photos ({state['data']} -> {data}: --data, --images "
                  f"or --pack differs); from step {step} the run trains on the new ones", file=sys.stderr)
    if average is not None:
        extra["ema"] = (average.module, None)
        average.module.config = model.config  # the inference options carried from --init or the checkpoint
    shown = average.module if average is not None else model  # validated, and written as the run's weights
    log_path = out / "log.csv"
    columns = ("loss", "hole", "hole_mse", "hole_db", "distill", "valid", "tv", "grad", "ssim", "gan_g", "gan_d")
    header = ["step", "time", "lr", *columns, "val_hole_psnr", "val_hole_ssim", "train_hole_psnr", "crop",
              "trained_val_hole_psnr"]
    if log_path.is_dir():
        raise SystemExit(f"{log_path} is a folder: train writes its log there; move the folder away")
    continued_log = log_path.exists() and log_path.stat().st_size > 0
    rows = _read_log(log_path, header) if continued_log else None
    if continued_log and rows is None:  # not a log of this command: kept, under another name
        aside = move_no_replace(log_path, (log_path.with_name(f"{log_path.stem}.{n}{log_path.suffix}")
                                           for n in itertools.count(1)))
        print(f"warning: {log_path} is not a log train wrote (its header is not train's columns step,time,lr,..., "
              "or it does not read as text CSV); "
              f"moved it to {aside.name} and started a new log.csv", file=sys.stderr)
        continued_log = False
    if continued_log and not resuming:  # a fresh start: the rows are another run's (or no checkpoint continues them)
        if len(rows) > 1:
            aside = move_no_replace(log_path, (log_path.with_name(f"{log_path.stem}.{n}{log_path.suffix}")
                                               for n in itertools.count(1)))
            print(f"warning: {log_path} holds {len(rows) - 1} rows of an earlier run that no checkpoint continues "
                  f"(this run starts at step 0); moved it to {aside.name} and started a new log.csv", file=sys.stderr)
        continued_log = False  # (a header alone is written anew)
    if continued_log:  # a resumed run keeps its log's columns, and its rows up to the step it resumes at
        header = _trim_log(log_path, rows, step)
    log = log_path.open("a" if continued_log else "w", newline="")
    writer = csv.DictWriter(log, fieldnames=header, extrasaction="ignore", restval="")
    if not continued_log:
        writer.writeheader()

    logged, losses = -1, {}
    log_failed = False

    def log_lost(exc: OSError, at: int) -> SystemExit:
        """One line for a log write that failed (a full disk): it was a traceback, three deep."""
        kept = f"the last checkpoint ({ckpt}) is kept" if ckpt.exists() else "no checkpoint was saved yet"
        return SystemExit(f"cannot write {log_path} at step {at}: {exc.strerror or exc}; {kept}: free some space and "
                          "run the same command again")

    def log_row(at: int, terms: dict, val: tuple[str, ...]) -> None:
        nonlocal logged, log_failed
        try:
            writer.writerow({"step": at, "time": f"{elapsed + time.time() - t0:.1f}", "lr": f"{lr_at(at, cfg):.2e}",
                             **{k: f"{terms[k].item():.5f}" for k in columns if k in terms},
                             "val_hole_psnr": val[0], "val_hole_ssim": val[1], "train_hole_psnr": val[2],
                             "trained_val_hole_psnr": val[3], "crop": cfg.crop})
            log.flush()
        except OSError as exc:
            log_failed = True
            raise log_lost(exc, at) from None
        logged = at

    saved_step = step if resuming else None  # the step of the checkpoint on disk (None: none of this run yet)

    def checkpoint() -> None:
        """Save the checkpoint, unless it holds this step already: a run that trained no step (a
        finished run run again with other flags) rewrote it recording settings it never trained
        with, and without --ema dropped its weight average. A signal while it is written waits."""
        nonlocal saved_step
        if step == saved_step and ckpt.exists():
            return
        # training seconds since step 0, over every resume (unchanged by a run that trains no step)
        seconds = elapsed + (time.time() - t0 if step > start else 0.0)
        try:
            with stop.deferred():
                save_checkpoint(ckpt, model, opt, {"step": step, "config": asdict(cfg), "data": data,
                                                   "elapsed": round(seconds, 1), "fast_blocks": list(fast),
                                                   "inference": inference_options(model.config)}, extra)
        except OSError as exc:  # a full disk: the write is atomic, so the previous checkpoint is whole
            raise SystemExit(f"cannot write {ckpt} at step {step}: {exc.strerror or exc} "
                             "(the previous checkpoint, if any, is kept)") from None
        saved_step = step

    train_mode(model, cfg.freeze_bn)
    last = min(cfg.steps, cfg.stop_at) if cfg.stop_at else cfg.steps  # the bar's ETA is to where this run stops
    bar = tqdm(total=max(last, step), initial=step, desc=f"train {cfg.model}", unit="step", dynamic_ncols=True)
    t0, start = time.time(), step
    batches = BatchPrefetcher(sampler, cfg, start=step)
    stopped_early = False
    stop = _StopRequest()
    try:
        while step < cfg.steps:
            stop.check()
            reason = _early_stop(cfg, step, time.time() - t0)
            if reason:
                stopped_early = True
                bar.write(reason)
                if losses and logged != step:  # the log ends at the step the run stopped at
                    log_row(step, losses, ("", "", "", ""))
                break
            x, valid = batches.get(step)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg) * g.get("lr_mult", 1.0)
            with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                pred = model(x, valid)
                teacher_fill = None
                if teacher is not None:
                    with torch.no_grad():
                        teacher_fill = teacher(x, valid).float().clamp(-1, 1)
            losses = loss_fn(pred, x, valid, cfg, teacher_fill)
            if disc is not None:
                hole = 1.0 - valid
                comp = pred.float() * hole + x * valid
                with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                    losses["gan_d"] = hinge_d(disc(x, hole).float(), disc(comp.detach(), hole).float())
                d_opt.zero_grad(set_to_none=True)
                losses["gan_d"].backward()
                d_opt.step()
                with torch.autocast(device_type=x.device.type, dtype=torch.bfloat16, enabled=cfg.bf16):
                    losses["gan_g"] = hinge_g(disc(comp, hole).float())
                losses["loss"] = losses["loss"] + cfg.gan_weight * losses["gan_g"]
            loss_value = losses["loss"].item()
            if not math.isfinite(loss_value):  # one NaN step makes every weight NaN from then on
                raise SystemExit(f"training diverged: the loss is {loss_value} at step {step + 1}; stopped "
                                 f"without saving over {ckpt.name} (lower --lr, or try --no-bf16)")
            opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            opt.step()
            step += 1
            if average is not None:
                average.update(model, step)
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.4f}", hole=f"{losses['hole'].item():.4f}")
            val = ("", "", "", "")
            if step % cfg.val_every == 0 or step == cfg.steps:
                psnr, ssim = validator(shown, cfg.device)
                fit = fit_validator.psnr(shown, cfg.device)
                trained = f"{validator.psnr(model, cfg.device):.3f}" if average is not None else ""
                val = (f"{psnr:.3f}", f"{ssim:.4f}", f"{fit:.3f}", trained)
                bar.write(f"step {step}: validation hole PSNR {val[0]} dB, SSIM {val[1]}; training photos {val[2]} dB"
                          + (f" (weight average; the trained weights {trained} dB)" if trained else ""))
            if step % 25 == 0 or val[0]:
                log_row(step, losses, val)
            if step % cfg.save_every == 0:
                checkpoint()
    except KeyboardInterrupt:
        if stop.urgent:
            kept = (f"the checkpoint of step {saved_step} in {ckpt} is kept" if saved_step is not None and ckpt.exists()
                    else "no checkpoint was saved")
            bar.write(f"interrupted again mid-step: step {step} is not checkpointed ({kept})")
        elif step == saved_step and ckpt.exists():
            bar.write(f"interrupted: the checkpoint of step {step} is saved")
        else:
            bar.write(f"interrupted: saving checkpoint at step {step}")
            checkpoint()
        raise
    finally:
        stop.restore()
        batches.close()
        bar.close()
        try:
            log.close()  # flushes what is left: it fails again after a failed write, which was reported
        except OSError as exc:
            if not log_failed:
                raise log_lost(exc, step) from None
    checkpoint()
    model.eval()
    meta = {"steps": step, "finished": str(not stopped_early).lower()}
    if step == start and recorded_steps(weights) == (step, meta["finished"]):
        # nothing trained, and the weights are this step's: kept as the run that trained them wrote
        # them (a checkpoint newer than the weights, after a Ctrl-C or a failed write, writes them)
        return weights
    try:
        if average is not None:  # both, so that a user can compare them (bench quality --models)
            save_weights(model, weights.with_name(f"{cfg.model}.trained.safetensors"), meta)
            meta["ema"] = f"{cfg.ema:g}"
        save_weights(shown, weights, meta)
    except OSError as exc:
        raise SystemExit(f"cannot write {weights}: {exc.strerror or exc} (the checkpoint {ckpt} is saved; "
                         "free some space and run the same command again)") from None
    return weights


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The training command's options (``prog``: the name its usage shows)."""
    ap = argparse.ArgumentParser(prog=prog, description="Train a PConv U-Net generator.")
    for field, default in asdict(TrainConfig()).items():
        flag = "--" + field.replace("_", "-")
        if isinstance(default, bool):
            ap.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            ap.add_argument(flag, type=type(default), default=default)
    ap.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, log.csv, weights)")
    ap.add_argument("--images", type=Path, default=None, help="folder of training photos (default: fetched set of --data)")
    ap.add_argument("--pack", type=Path, default=None,
                    help="a photo pack (python -m edgefill_export.pack) instead of a folder, e.g. on a GPU machine")
    ap.add_argument("--data", choices=TRAINING_DATA, default="train",
                    help="fetched set to train on: the photos, the textures minus the held-out families, or both")
    ap.add_argument("--no-resume", action="store_true")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from these .safetensors weights (fine-tuning), unless a checkpoint resumes")
    return ap


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """``python -m edgefill_export.train`` and ``edgefill train`` (``prog``: the name usage shows)."""
    ap = build_parser(prog)
    unset = object()  # the architecture flags the command line does not set keep this (argparse leaves them)
    a = vars(ap.parse_args(argv, namespace=argparse.Namespace(**dict.fromkeys(ARCHITECTURE, unset))))
    inherit = tuple(k for k in ARCHITECTURE if a[k] is unset)
    a.update({k: getattr(TrainConfig, k) for k in inherit})
    out, images_dir, no_resume, init, data = a.pop("out"), a.pop("images"), a.pop("no_resume"), a.pop("init"), a.pop("data")
    pack = a.pop("pack")
    cfg = TrainConfig(**a)
    if pack is not None and images_dir is not None:
        ap.error("give --images or --pack, not both")
    if images_dir is not None and not images_dir.is_dir():
        ap.error(f"--images {images_dir}: not a folder")
    try:
        print(train(cfg, out, pack if pack is not None else training_paths(data, images_dir), resume=not no_resume,
                    init=init, inherit=inherit))
    except EdgeFillError as exc:  # a pack, a checkpoint, an image folder's broken link (was a traceback here)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # train() has said whether it saved a checkpoint
        print("stopped; run the same command again to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
