"""Randomness keyed by decision id, so a rerun reproduces every draw.

Each decision id (an md5 hex digest) gives a 64-bit key; draw ``k`` of a decision is
``splitmix64(key + k * golden) / 2**64``. A customer's draws depend only on its own
decision id, not on row order or on the rest of the batch.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_HEX = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i


def decision_keys(decision_ids: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """64-bit keys from the first 16 hex digits of each decision id, shape (n,)."""
    ids = np.asarray(decision_ids, dtype="S32")
    if ids.size == 0:
        return np.zeros(0, dtype=np.uint64)
    nibbles = _HEX[ids.view(np.uint8).reshape(len(ids), 32)[:, :16]]
    if (nibbles == 255).any():
        bad = ids[(nibbles == 255).any(axis=1)][0].decode(errors="replace")
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
