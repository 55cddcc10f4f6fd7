"""The refinement settings a model may record for the runtime, and their checks.

``Inpainter`` refines a learned model's fill with OpenCV Navier-Stokes in two steps: a share of a
coarse NS fill mixed into the hole pixels where the hole's surroundings are smooth
(:mod:`edgefill.wide_mix`) and the thin-hole refill (:mod:`edgefill.thin`). Their best settings
depend on the model and on the images it was tuned for: ``nano`` records a gate of its own,
``lite-surface`` (textures) a mix of its own. A model records them in its ONNX metadata (``edgefill.<key>``), an engine in its
sidecar, the weights file in its safetensors metadata (``edgefill_export.ship --wide-ns-weight``
...). What the caller passes to ``Inpainter`` (or the CLI's options) wins; then what the model
records; then the runtime's defaults (:meth:`RefillSettings.resolved`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING
from dataclasses import asdict, dataclass, fields, replace

from .checks import is_number
from .errors import ModelError
from .thin import DEFAULT_NS_WEIGHT, MAX_NS_RADIUS, NS_RADIUS, refill_thin_in_place
from .wide_mix import DEFAULT_WIDE_NS_MAX_STD, DEFAULT_WIDE_NS_WEIGHT, MAX_NS_SCALE, NS_SCALE, UNGATED_STD, mix_wide_in_place

if TYPE_CHECKING:
    import argparse

    import numpy as np


def _number(name: str, value: object) -> float:
    """``value`` as a finite float, else ValueError naming ``name`` (strings, bools, None, NaN
    and infinities are refused: a caller's typo or a corrupt file, never a setting)."""
    if not is_number(value):
        raise ValueError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    return number


def check_thin_radius(value: float) -> float:
    """``value`` as a float if it is a valid thin-hole refill radius, else ValueError."""
    number = _number("thin_radius", value)
    if not 1 <= number <= MAX_NS_RADIUS:
        raise ValueError(f"thin_radius must be from 1 to {MAX_NS_RADIUS:g}, got {value}")
    return number


def check_share(name: str, value: float) -> float:
    """``value`` as a float if it is a valid share (0-1) of NS in a mix, else ValueError."""
    number = _number(name, value)
    if not 0 <= number <= 1:
        raise ValueError(f"{name} must be from 0 to 1, got {value}")
    return number


def check_wide_ns_scale(value: float) -> int:
    """``value`` as an int if it is a valid resolution divisor of the wide NS fill, else ValueError."""
    number = _number("wide_ns_scale", value)
    if int(number) != number or not 1 <= number <= MAX_NS_SCALE:
        raise ValueError(f"wide_ns_scale must be a whole number from 1 to {MAX_NS_SCALE}, got {value}")
    return int(number)


def check_wide_ns_max_std(value: float) -> float:
    """``value`` as a float if it is a valid gate of the wide NS mix, else ValueError."""
    number = _number("wide_ns_max_std", value)
    if not 0 < number <= UNGATED_STD:
        raise ValueError(f"wide_ns_max_std must be above 0 and at most {UNGATED_STD:g} (every hole mixed), got {value}")
    return number


@dataclass(frozen=True)
class RefillSettings:
    """Refinement settings; None: not set here (the next source decides, finally the default)."""

    #: OpenCV NS radius of the thin-hole refill (default :data:`edgefill.thin.NS_RADIUS`)
    thin_radius: float | None = None
    #: share of NS in the hole pixels where the gate is open (default
    #: :data:`edgefill.wide_mix.DEFAULT_WIDE_NS_WEIGHT`; 0: off)
    wide_ns_weight: float | None = None
    #: that NS fill runs at 1/this of the resolution (default :data:`edgefill.wide_mix.NS_SCALE`)
    wide_ns_scale: int | None = None
    #: the gate: the share falls from full at a ring std (:func:`edgefill.wide_mix.ring_std`) of
    #: half this to none at this (default :data:`edgefill.wide_mix.DEFAULT_WIDE_NS_MAX_STD`;
    #: :data:`edgefill.wide_mix.UNGATED_STD`: every hole)
    wide_ns_max_std: float | None = None
    #: share of NS in the thin pixels, the rest the model's own fill there (default
    #: :data:`edgefill.thin.DEFAULT_NS_WEIGHT`; 1: NS alone). Recorded since the thirty-fourth
    #: session: a model whose own fill of thin holes is better takes less NS (lite 0.5).
    thin_ns_weight: float | None = None

    def __post_init__(self) -> None:
        checked = {"thin_radius": check_thin_radius, "wide_ns_scale": check_wide_ns_scale,
                   "wide_ns_weight": lambda v: check_share("wide_ns_weight", v),
                   "wide_ns_max_std": check_wide_ns_max_std,
                   "thin_ns_weight": lambda v: check_share("thin_ns_weight", v)}
        for name, check in checked.items():
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check(value))

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The settings' names, as metadata keys (ONNX: with the ``edgefill.`` prefix)."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def parse(cls, values: Mapping[str, object], prefix: str = "") -> RefillSettings:
        """The settings among ``values`` (metadata: strings, or a sidecar's numbers), each under
        ``prefix + name``; missing, None or empty ones are unset; others must be finite numbers in
        range (ValueError otherwise, naming the key)."""
        found: dict[str, float] = {}
        for name in cls.keys():
            raw = values.get(prefix + name)
            if raw is None or raw == "":
                continue
            number = None
            if not isinstance(raw, bool):  # JSON true / false is no number
                try:
                    number = float(raw)  # type: ignore[arg-type]
                except (TypeError, ValueError, OverflowError):
                    pass
            if number is None:
                raise ValueError(f"bad {prefix + name} {raw!r} (not a number)")
            found[name] = number
        try:
            return cls(**found)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValueError(f"bad {prefix}{exc}") from None

    def to_dict(self) -> dict[str, float | int]:
        """The settings that are set, by name (for a sidecar or metadata)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def updated(self, other: RefillSettings) -> RefillSettings:
        """These settings with every setting ``other`` sets taking its place."""
        return replace(self, **other.to_dict())

    def resolved(self) -> RefillSettings:
        """Every setting filled in: unset ones get the runtime's defaults."""
        defaults = RefillSettings(NS_RADIUS, DEFAULT_WIDE_NS_WEIGHT, NS_SCALE, DEFAULT_WIDE_NS_MAX_STD, DEFAULT_NS_WEIGHT)
        return defaults.updated(self)

    def refine_in_place(self, out: np.ndarray, original: np.ndarray, hole: np.ndarray, box: tuple[int, int, int, int],
                        thin_hole_px: float, thin_ns_weight: float | None = None) -> None:
        """Refine a learned model's fill in ``out`` (in place) as ``Inpainter`` does, with these
        settings (resolved: every one set): the gated NS mix over the hole
        (:func:`edgefill.wide_mix.mix_wide_in_place`), then the thin-hole refill of the
        components up to ``thin_hole_px`` half-width with :attr:`thin_ns_weight` of NS
        (``thin_ns_weight``, when given, instead; :func:`edgefill.thin.refill_thin_in_place`; 0
        px: none). ``original`` supplies the known pixels, ``box`` is the hole's bounding box
        ``(x, y, w, h)``."""
        if thin_ns_weight is None:
            thin_ns_weight = self.thin_ns_weight
        mix_wide_in_place(out, original, hole, box, self.wide_ns_weight, self.wide_ns_scale, self.wide_ns_max_std)
        refill_thin_in_place(out, original, hole, box, thin_hole_px, self.thin_radius, thin_ns_weight)


def requested_settings(thin_radius: float | None, thin_ns_weight: float | None, wide_ns_weight: float | None,
                       wide_ns_scale: int | None, wide_ns_max_std: float | None = None) -> RefillSettings:
    """A caller's settings (``Inpainter``'s keywords, the CLI's options), checked: ValueError
    naming the first bad one."""
    return RefillSettings(thin_radius, wide_ns_weight, wide_ns_scale, wide_ns_max_std, thin_ns_weight)


def recorded_settings(values: Mapping[str, object], source: object, prefix: str = "") -> RefillSettings:
    """:meth:`RefillSettings.parse` for what a model file records (``source`` names it): a bad
    value is a :class:`~edgefill.errors.ModelError`."""
    try:
        return RefillSettings.parse(values, prefix)
    except ValueError as exc:
        raise ModelError(f"{source}: {exc} in its metadata") from None


def add_refill_options(parser: argparse.ArgumentParser) -> None:
    """``--thin-radius``, ``--thin-ns-weight`` and the ``--wide-ns-*`` options, for every command that
    runs the refill as ``Inpainter`` does (``edgefill inpaint`` / ``run`` / ``bench quality``);
    :func:`refill_kwargs` turns them into ``Inpainter`` keywords."""

    parser.add_argument("--thin-radius", type=float, default=None,
                        help=f"OpenCV NS radius of the thin-hole refill, 1-{MAX_NS_RADIUS:g} (default: the model's "
                             f"own, else {NS_RADIUS:g}; larger suits uniform surfaces, costs about r squared)")
    parser.add_argument("--thin-ns-weight", type=float, default=None,
                        help=f"share of NS in the thin pixels, the rest the model's fill (default: the model's own, "
                             f"else {DEFAULT_NS_WEIGHT:g}; 1: NS alone)")
    parser.add_argument("--wide-ns-weight", type=float, default=None,
                        help=f"share of an NS fill in the hole pixels where the hole's surroundings are smooth "
                             f"(--wide-ns-max-std), the rest the model's fill (default: the model's own, else "
                             f"{DEFAULT_WIDE_NS_WEIGHT:g}; 0: off)")
    parser.add_argument("--wide-ns-scale", type=int, default=None,
                        help=f"that NS fill runs at 1/this of the resolution (default: the model's own, else {NS_SCALE}; "
                             "1: full, at about the model's inference time)")
    parser.add_argument("--wide-ns-max-std", type=float, default=None,
                        help=f"gate of that mix: the share falls from full where the grey-level std of the known "
                             f"pixels around the hole is half this to none at this (default: the model's own, else "
                             f"{DEFAULT_WIDE_NS_MAX_STD:g}; {UNGATED_STD:g}: mix every hole)")


def refill_kwargs(args: argparse.Namespace) -> dict:
    """The ``Inpainter`` keywords of :func:`add_refill_options`' arguments."""
    return {k: getattr(args, k) for k in RefillSettings.keys()}


def refill_args_error(args: argparse.Namespace) -> str | None:
    """The first bad :func:`add_refill_options` value as one line naming its option, else None."""
    try:
        requested_settings(**refill_kwargs(args))
    except ValueError as exc:
        name, _, rest = str(exc).partition(" ")
        return f"--{name.replace('_', '-')} {rest}"
    return None
