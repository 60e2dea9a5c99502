"""Python data in and out: lists, scalars and numpy arrays. No encoding happens here: integers
and fixed-point numbers are encoded and range-checked by the client crate."""

from __future__ import annotations

from typing import Any, List, Tuple

from .errors import UsageError


def _is_numpy(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "numpy" and hasattr(x, "dtype")


def flatten_values(values: Any) -> Tuple[List[Any], bool]:
    """The values as a flat list, and whether they are floating-point numbers.

    Takes a scalar, a list or tuple (of ints, floats, bools or numpy scalars) or a 1-D numpy
    array. Floats anywhere (or a float dtype) make the whole secret a fixed-point one.
    """
    if _is_numpy(values):
        if getattr(values, "ndim", 0) == 0:
            values = [values.item()]
        elif values.ndim != 1:
            raise UsageError(
                f"a secret is a 1-D sequence of numbers; this array has shape {values.shape} "
                "(store each column or row as its own secret, or flatten it with .ravel())"
            )
        else:
            kind = values.dtype.kind
            if kind not in "biuf":
                raise UsageError(
                    f"cannot store a numpy array of dtype {values.dtype}; use integers or floats"
                )
            return values.tolist(), kind == "f"
    if isinstance(values, (int, float)):
        values = [values]
    elif isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise UsageError(
            f"cannot store {type(values).__name__!s} values; give a number, a list of numbers "
            "or a 1-D numpy array"
        )
    out = list(values)
    is_float = False
    for i, v in enumerate(out):
        if _is_numpy(v):
            v = v.item()
            out[i] = v
        if isinstance(v, bool):
            out[i] = int(v)
        elif isinstance(v, float):
            is_float = True
        elif not isinstance(v, int):
            if hasattr(v, "__index__"):
                out[i] = v.__index__()
            elif hasattr(v, "__float__"):
                out[i] = float(v)
                is_float = True
            else:
                raise UsageError(f"value {i}: {v!r} is not a number")
    return out, is_float


def to_array(values: List[Any], fixed: bool) -> Any:
    """``values`` as a numpy array: float64 for fixed-point numbers, else int64 (an integer
    outside the 64-bit range is an error, not a silent wrap)."""
    try:
        import numpy as np
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise UsageError("numpy is not installed: pip install numpy") from e
    if fixed:
        return np.asarray(values, dtype=np.float64)
    for i, v in enumerate(values):
        if not -(2**63) <= v < 2**63:
            raise UsageError(
                f"value {i}: {v} does not fit a numpy int64; read it as a list of Python ints"
            )
    return np.asarray(values, dtype=np.int64)
