"""Randomness keyed by decision id, so a rerun reproduces every draw.

Each decision id (an md5 hex digest) gives a 64-bit key; draw ``k`` of a decision is
``splitmix64(key + k * golden) / 2**64``. A customer's draws depend only on its own
decision id, not on row order or on the rest of the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i


def decision_keys(decision_ids: Any) -> npt.NDArray[np.uint64]:
    """64-bit keys from the first 16 hex digits of each decision id, shape (n,).

    ``decision_ids``: anything Arrow reads as strings (numpy, pandas, lists); the bytes are
    read in place, not string by string.
    """
    ids = pa.array(decision_ids, type=pa.string())
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    try:
        if ids.null_count:
            raise ValueError
        fixed = ids.cast(pa.binary()).cast(pa.binary(32))
    except (ValueError, pa.ArrowInvalid):
        lengths = pc.fill_null(pc.utf8_length(ids), 0).to_numpy(zero_copy_only=False)
        bad = ids[int(np.flatnonzero(lengths != 32)[0])] if (lengths != 32).any() else None
        raise ValueError(f"decision_id {bad} is not an md5 hex digest (32 hex digits).") from None
    if len(ids) == 0:
        return np.zeros(0, dtype=np.uint64)
    raw = np.frombuffer(fixed.buffers()[1], dtype=np.uint8)
    raw = raw[fixed.offset * 32 : (fixed.offset + len(fixed)) * 32].reshape(len(fixed), 32)
    nibbles = _HEX[raw[:, :16]]
    if (nibbles == 255).any():
        bad = fixed[int(np.flatnonzero((nibbles == 255).any(axis=1))[0])].as_py()
        raise ValueError(f"decision_id {bad!r} is not an md5 hex digest (32 hex digits).")
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    keys: npt.NDArray[np.uint64] = np.bitwise_or.reduce(nibbles.astype(np.uint64) << shifts, axis=1)
    return keys


def _splitmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def keyed_uniforms(keys: npt.NDArray[np.uint64], stream: int) -> npt.NDArray[np.float64]:
    """One uniform in [0, 1) per key for draw number ``stream``, shape (n,)."""
    with np.errstate(over="ignore"):
        x = keys + np.uint64(stream) * _GOLDEN
    bits = _splitmix64(x) >> np.uint64(11)
    return bits.astype(np.float64) / float(2**53)


def draw_index(p: npt.NDArray[np.float64], u: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Inverse-CDF draw of one index per row of ``p`` (n, V) with uniforms ``u`` (n,).

    Never lands on a zero-probability value through rounding at either end of the CDF.
    """
    cdf = np.cumsum(p, axis=1)
    index = (cdf < (u * cdf[:, -1])[:, None]).sum(axis=1)
    first_positive = np.argmax(p > 0, axis=1)
    last_positive = p.shape[1] - 1 - np.argmax(p[:, ::-1] > 0, axis=1)
    drawn: npt.NDArray[np.intp] = np.clip(index, first_positive, last_positive)
    return drawn
