"""Safetensors-only weight and checkpoint I/O. No pickle is ever loaded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save

from edgefill.errors import EdgeFillError
from edgefill.fileio import atomic_write_bytes
from edgefill.refill_settings import RefillSettings

from .model import MODEL_CONFIGS, PConvUNet, build_model, check_fill_passes


class CheckpointError(EdgeFillError):
    """A weights file or checkpoint is missing, not safetensors, or does not fit the model."""


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    atomic_write_bytes(Path(path), save({k: v.contiguous() for k, v in tensors.items()}, metadata=metadata))


def _check_is_file(path: Path) -> None:
    """CheckpointError unless ``path`` is a file: a folder there was said "does not exist"."""
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a weights or checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")


def _read(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    path = Path(path)
    _check_is_file(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{path}: only .safetensors files are accepted (pickle checkpoints are refused)")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            return {k: f.get_tensor(k) for k in f.keys()}, meta
    except Exception as exc:  # safetensors raises several types for corrupt headers
        raise CheckpointError(f"{path} is not a valid safetensors file: {exc}") from exc


def _misfit(exc: RuntimeError) -> str:
    """The first problem torch lists when a state dict does not fit a model, and how many more:
    torch lists one line per tensor (weights of another width gave ~60 lines, under a first line
    that says only "Error(s) in loading state_dict")."""
    problems = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
    if not problems:
        return str(exc)
    first = problems[0] if len(problems[0]) <= 300 else problems[0][:300] + " ..."
    return first + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")


def _header(path: Path) -> dict[str, str]:
    """A safetensors file's metadata, read from its header alone (no tensors). Raises whatever
    safetensors raises for a missing or corrupt file (several types)."""
    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}


def recorded_steps(path: Path) -> tuple[int, str] | None:
    """(steps, finished) that a weights file's metadata records; None when it records none or is
    not a readable safetensors file."""
    try:
        meta = _header(path)
        return int(meta["steps"]), str(meta.get("finished"))
    except Exception:  # noqa: BLE001 - safetensors raises several types; KeyError, ValueError
        return None


def recorded_model(path: Path) -> str | None:
    """The model name a weights file's metadata records; None when it records none or is not a
    readable safetensors file (:func:`load_weights` then says which)."""
    try:
        name = _header(path).get("model")
    except Exception:  # safetensors raises several types for corrupt headers
        return None
    return name if isinstance(name, str) else None


def recorded_architecture(path: Path) -> dict:
    """What a weights file's metadata records of the network's shape, as training's flags name
    it: ``model`` (a known name), ``context`` (bool; a file from before the block records none:
    without it, as :func:`load_weights` reads it) and ``refine`` (its width); only what it
    records validly, and ``{}`` for a file that is not readable safetensors (:func:`load_weights`
    then says why)."""
    try:
        meta = _header(path)
    except Exception:  # safetensors raises several types for corrupt headers
        return {}
    out: dict = {"context": meta.get("context") == "true"}
    if meta.get("model") in MODEL_CONFIGS:
        out["model"] = meta["model"]
    refine = meta.get("refine", "0")
    if isinstance(refine, str) and refine.isdecimal():
        out["refine"] = int(refine)
    return out


def save_weights(model: PConvUNet, path: Path, extra: dict | None = None) -> None:
    meta = {"model": model.config.name, "channels": json.dumps(model.config.channels),
            "context": str(model.config.context).lower(), "refine": str(model.config.refine),
            "fill_passes": str(model.config.fill_passes), **(extra or {})}
    meta.update({k: repr(v) for k, v in model.config.refill.to_dict().items()})
    _atomic_save(dict(model.state_dict()), path, {k: str(v) for k, v in meta.items()})


def set_inference_options(src: Path, dst: Path, fill_passes: int | None = None,
                          refill: Mapping[str, float | None] | None = None) -> None:
    """Copy weights ``src`` to ``dst`` with the inference graph's fill smoothing set to
    ``fill_passes`` (``ModelConfig.fill_passes``; 0: none) and the runtime refinement settings
    in ``refill`` (``ModelConfig.refill``, by name: ``thin_radius``, ``wide_ns_weight``,
    ``wide_ns_scale``, ``wide_ns_max_std``, ``thin_ns_weight``; 0: none recorded, the runtime's
    default); None keeps the file's own.
    Tensors and other metadata unchanged. ValueError for a bad or unknown setting."""
    tensors, meta = _read(src)
    if fill_passes is not None:
        meta["fill_passes"] = str(check_fill_passes(fill_passes))
    for key, value in (refill or {}).items():
        if key not in RefillSettings.keys():
            raise ValueError(f"unknown refinement setting {key!r}; known: {', '.join(RefillSettings.keys())}")
        if value == 0:
            meta.pop(key, None)
        elif value is not None:
            meta[key] = repr(getattr(RefillSettings(**{key: value}), key))
    _atomic_save(tensors, dst, meta)


def load_weights(path: Path, name: str | None = None) -> PConvUNet:
    """Build the model named in the file's metadata (or ``name``) and load its weights."""
    tensors, meta = _read(path)
    if "rng.torch" in tensors or any(k.startswith("model.") for k in tensors):
        raise CheckpointError(f"{path} is a training checkpoint, not a weights file: pass the weights the run "
                              f"wrote next to it ({meta.get('model', 'MODEL')}.safetensors)")
    name = name or meta.get("model")
    if name not in MODEL_CONFIGS:
        raise CheckpointError(f"{path}: unknown model name {name!r}")
    # files written before the global-context block existed have no "context" key: without it
    # (and files from before the refinement head have no "refine" key)
    try:
        refine = int(meta.get("refine", "0"))
        if refine < 0:
            raise ValueError
    except ValueError:
        raise CheckpointError(f"{path}: bad refine width {meta.get('refine')!r} in its metadata") from None
    try:  # files from before the eleventh session have no "fill_passes": no smoothing
        fill_passes = check_fill_passes(int(meta.get("fill_passes", "0")))
    except ValueError:
        raise CheckpointError(f"{path}: bad fill_passes {meta.get('fill_passes')!r} in its metadata") from None
    try:  # only files whose shipping recorded some have refinement settings ("thin_radius", ...)
        refill = RefillSettings.parse(meta)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc} in its metadata") from None
    model = build_model(name, context=meta.get("context") == "true", refine=refine, fill_passes=fill_passes,
                        refill=refill)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        raise CheckpointError(f"{path} does not fit model {name!r}: {_misfit(exc)}") from exc
    return model


#: Named (module, optimizer) pairs saved beside the model; a module without an optimizer (None:
#: the weight average of ``--ema``) saves its weights alone.
Trainable = dict[str, tuple[torch.nn.Module, torch.optim.Optimizer | None]]


def save_checkpoint(path: Path, model: PConvUNet, optimizer: torch.optim.Optimizer, state: dict,
                    extra: Trainable | None = None) -> None:
    """Model, Adam state, the loop's own state (JSON-able) and any ``extra`` named
    (module, optimizer) pairs (e.g. a discriminator) in one safetensors file."""
    tensors: dict[str, torch.Tensor] = {}
    meta = {"state": json.dumps(state), "model": model.config.name}
    for prefix, (module, opt) in {"": (model, optimizer), **{f"{k}.": v for k, v in (extra or {}).items()}}.items():
        tensors.update({f"{prefix}model.{k}": v for k, v in module.state_dict().items()})
        if opt is None:
            meta[f"{prefix}param_groups"] = "null"
            continue
        opt_sd = opt.state_dict()
        for idx, st in opt_sd["state"].items():
            for key, val in st.items():
                tensors[f"{prefix}opt.{idx}.{key}"] = val if torch.is_tensor(val) else torch.tensor(val)
        meta[f"{prefix}param_groups"] = json.dumps(opt_sd["param_groups"])
    tensors["rng.torch"] = torch.get_rng_state()
    _atomic_save(tensors, path, meta)


def checkpoint_state(path: Path) -> dict:
    """The training loop's own state saved in a checkpoint (step, config, ...), read from its
    header alone (no tensors); ``{}`` where it has none."""
    path = Path(path)
    _check_is_file(path)
    try:
        return json.loads(_header(path).get("state", "{}"))
    except Exception as exc:  # safetensors raises several types for corrupt headers; JSON its own
        raise CheckpointError(f"{path} is not a valid training checkpoint: {exc}") from exc


def load_checkpoint(path: Path, model: PConvUNet, optimizer: torch.optim.Optimizer, extra: Trainable | None = None) -> dict:
    tensors, meta = _read(path)
    if meta.get("model") != model.config.name:
        raise CheckpointError(f"{path} holds model {meta.get('model')!r}, not {model.config.name!r}")
    for prefix, (module, opt) in {"": (model, optimizer), **{f"{k}.": v for k, v in (extra or {}).items()}}.items():
        if f"{prefix}param_groups" not in meta:
            part = prefix.rstrip(".") or "the model"
            hint = (f" (it was trained without it: one cannot join a run part-way; resume without the option "
                    f"that adds {part} (--gan-weight for disc), or start a new run with --init "
                    f"{path.parent / (model.config.name + '.safetensors')})") if prefix else ""
            raise CheckpointError(f"{path} has no state for {part}{hint}")
        sub = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)} if prefix else tensors
        try:
            module.load_state_dict({k[6:]: v for k, v in sub.items() if k.startswith("model.")})
        except RuntimeError as exc:
            raise CheckpointError(f"{path} does not fit this run's model (was it trained with other flags, "
                                  f"e.g. --context or --refine?): {_misfit(exc)}") from exc
        if opt is None:
            continue
        opt_state: dict[int, dict] = {}
        for k, v in sub.items():
            if k.startswith("opt."):
                _, idx, key = k.split(".", 2)
                opt_state.setdefault(int(idx), {})[key] = v
        opt.load_state_dict({"state": opt_state, "param_groups": json.loads(meta[f"{prefix}param_groups"])})
    if "rng.torch" not in tensors or "state" not in meta:
        raise CheckpointError(f"{path} is not a training checkpoint (no loop state or RNG state); pass trained "
                              "weights with --init instead")
    torch.set_rng_state(tensors["rng.torch"])
    return json.loads(meta["state"])
