"""Backends register themselves by name; ``create_backend("auto")`` picks the best one.

Registration stores the class only. Heavy packages (onnxruntime, tensorrt, pycuda)
are imported when a backend is constructed, never at registration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Type, TypeVar

from ..errors import BackendUnavailableError, UnknownBackendError
from .base import Backend

log = logging.getLogger(__name__)

_REGISTRY: dict[str, tuple[int, type[Backend]]] = {}
B = TypeVar("B", bound=Type[Backend])  # typing.Type: evaluated at import, on Python 3.8 too


def register_backend(name: str, priority: int) -> Callable[[B], B]:
    """Class decorator. ``auto`` tries backends from the highest ``priority`` down."""

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
    if name not in _REGISTRY:
        raise UnknownBackendError(name, list_backends())
    return _REGISTRY[name][1]


def resolve_auto(require_model: bool = False) -> str:
    """The name of the best backend that is available here, logging each skip and why."""
    for name in list_backends():
        cls = backend_class(name)
        if require_model and not cls.uses_model:
            continue
        avail = cls.is_available()
        if avail:
            log.info("auto: using backend %r", name)
            return name
        log.info("auto: skipping backend %r: %s", name, avail.reason)
    raise BackendUnavailableError("auto", "no registered backend can run here")


def create_backend(name: str = "auto", **options: object) -> Backend:
    """Construct a backend by name (or ``"auto"``), passing ``options`` to it.

    With ``auto``, a learned backend that fails to load (missing package, no GPU)
    is skipped with a logged reason and the next one is tried.
    """
    if name != "auto":
        cls = backend_class(name)
        avail = cls.is_available()
        if not avail:
            raise BackendUnavailableError(name, avail.reason, getattr(cls, "extra", None))
        return cls(**options)
    errors = []
    for candidate in list_backends():
        cls = backend_class(candidate)
        avail = cls.is_available()
        if not avail:
            log.info("auto: skipping backend %r: %s", candidate, avail.reason)
            errors.append(f"{candidate}: {avail.reason}")
            continue
        try:
            backend = cls(**options)
        except BackendUnavailableError as exc:
            log.warning("auto: backend %r could not start: %s", candidate, exc.reason)
            errors.append(f"{candidate}: {exc.reason}")
            continue
        log.info("auto: using backend %r", candidate)
        return backend
    raise BackendUnavailableError("auto", "; ".join(errors) or "no backend registered")
