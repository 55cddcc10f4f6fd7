"""Type checks for settings that must be numbers.

Python counts ``True`` and ``False`` as integers, so ``isinstance(value, numbers.Real)`` lets a
bool through as 1 or 0; a bool given for a number is always a caller's mistake.
"""

from __future__ import annotations

import math
import numbers


def is_number(value: object) -> bool:
    """A real number (int, float, NumPy scalar ...), not a bool; may still be NaN or infinite."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_whole(value: object) -> bool:
    """An integral number (int, NumPy integer ...), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_finite(value: object) -> bool:
    """A finite real number (not a bool, NaN or an infinity) that a float can hold: an integer
    beyond a float's range (``10**400``) made ``math.isfinite`` raise OverflowError, a traceback
    where the callers give a ConfigError."""
    if not is_number(value):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def is_fourcc(value: object) -> bool:
    """A four-character pixel format code of printable ASCII (``MJPG``, ``YUYV``), as V4L2 takes."""
    return isinstance(value, str) and len(value) == 4 and all(" " <= c <= "~" for c in value)
