"""Backends register themselves by name; ``create_backend("auto")`` picks the best one.

Registration stores the class only. Heavy packages (onnxruntime, tensorrt, pycuda)
are imported when a backend is constructed, never at registration.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Type, TypeVar

from ..checks import is_finite
from ..errors import BackendUnavailableError, ConfigError, UnknownBackendError
from .base import Availability, Backend

log = logging.getLogger(__name__)

_REGISTRY: dict[str, tuple[int, type[Backend]]] = {}
B = TypeVar("B", bound=Type[Backend])  # typing.Type: evaluated at import, on Python 3.8 too


def register_backend(name: str, priority: int) -> Callable[[B], B]:
    """Class decorator. ``auto`` tries backends from the highest ``priority`` down."""

    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"a backend's name must be a non-empty string, got {name!r}")
    if not is_finite(priority):  # a str or None broke list_backends(), and so auto, for the whole process
        raise ConfigError(f"backend {name!r}: priority must be a finite number, got {priority!r}")

    def deco(cls: B) -> B:
        if name in _REGISTRY and _REGISTRY[name][1] is not cls:
            raise ValueError(f"backend {name!r} is already registered")
        _REGISTRY[name] = (priority, cls)
        return cls

    return deco


def list_backends() -> list[str]:
    """Registered backend names, best first (the order ``auto`` tries them in)."""
    return [n for n, _ in sorted(_REGISTRY.items(), key=lambda kv: -kv[1][0])]


def backend_class(name: str) -> type[Backend]:
    if not isinstance(name, str) or name not in _REGISTRY:  # a list was a TypeError (unhashable)
        raise UnknownBackendError(name, list_backends())
    return _REGISTRY[name][1]


def uses_model(backend: str | Backend) -> bool:
    """Whether ``backend`` (a name, ``auto``, or an instance) runs a model: ``auto`` may; an
    unknown name is taken as one, its error left to where the backend is made."""
    if isinstance(backend, Backend):
        return backend.uses_model
    if backend == "auto":
        return True
    try:
        return backend_class(backend).uses_model
    except UnknownBackendError:
        return True


def option_names(cls: type[Backend]) -> list[str]:
    """The keyword options a backend's constructor names."""
    params = inspect.signature(cls.__init__).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in kinds and p.name != "self"]


def ignored_options(cls: type[Backend], options: dict) -> list[str]:
    """Options a backend would swallow unused (its ``**unused``); ``model`` given to a classical
    backend is not counted (Inpainter passes the default model to every backend)."""
    named = set(option_names(cls))
    return sorted(k for k in options if k not in named and not (k == "model" and not cls.uses_model))


def _options_for(cls: type[Backend], options: dict) -> dict:
    """The options ``cls`` can be given: ``model`` only to a backend that uses one, and to a
    constructor without ``**kwargs`` only what it names (a plug-in backend's ``__init__(self)``
    was a TypeError for the default model every Inpainter passes, by name and through ``auto``)."""
    params = inspect.signature(cls.__init__).parameters.values()
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
    named = set(option_names(cls))
    return {k: v for k, v in options.items()
            if (k != "model" or cls.uses_model or "model" in named) and (open_ended or k in named)}


def available_class(name: str) -> type[Backend]:
    """The class of backend ``name`` (not ``auto``), or the :class:`BackendUnavailableError` that
    says why it cannot run here and which extra to install."""
    cls = backend_class(name)
    avail = cls.is_available()
    if not avail:
        raise BackendUnavailableError(name, avail.reason, getattr(cls, "extra", None))
    return cls


def create_backend(name: str = "auto", **options: object) -> Backend:
    """Construct a backend by name (or ``"auto"``), passing ``options`` to it.

    With ``auto``, a learned backend that fails to load (missing package, no GPU)
    is skipped with a logged reason and the next one is tried. An option the backend does not
    take (with ``auto``: that no backend takes) is logged as a warning: most likely a misspelling.
    """
    if name != "auto":
        cls = available_class(name)
        ignored = ignored_options(cls, options)
        if ignored:  # most likely a misspelling (thread= for threads=)
            log.warning("backend %r ignores option(s) %s (it takes: %s)", name, ", ".join(ignored),
                        ", ".join(option_names(cls)) or "none")
        return cls(**_options_for(cls, options))
    # each backend swallows the others' options (auto passes them all to whichever loads), so a
    # misspelling (thread= for threads=) went unreported on the default path: warn where none takes it
    taken = {opt for n in list_backends() for opt in option_names(backend_class(n))}
    unknown = sorted(k for k in options if k not in taken and k != "model")
    if unknown:
        log.warning("auto: no backend takes option(s) %s (they take: %s)", ", ".join(unknown), ", ".join(sorted(taken)))
    errors = []
    for candidate in list_backends():
        cls = backend_class(candidate)
        avail = cls.is_available()
        if not avail:
            log.info("auto: skipping backend %r: %s", candidate, avail.reason)
            errors.append(f"{candidate}: {avail.reason}")
            continue
        fit = cls.accepts_model(options.get("model")) if cls.uses_model else Availability(True)
        if not fit:  # e.g. tensorrt, given a shipped model name rather than a bundle: expected
            log.info("auto: skipping backend %r: %s", candidate, fit.reason)
            errors.append(f"{candidate}: {fit.reason}")
            continue
        try:
            backend = cls(**_options_for(cls, options))
        except BackendUnavailableError as exc:
            log.warning("auto: backend %r could not start: %s", candidate, exc.reason)
            errors.append(f"{candidate}: {exc.reason}")
            continue
        log.info("auto: using backend %r", candidate)
        return backend
    raise BackendUnavailableError("auto", "; ".join(errors) or "no backend registered")
