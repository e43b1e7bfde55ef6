"""Randomness keyed by decision id."""

from __future__ import annotations

import numpy as np
import pytest

from decisioning.keyed_random import decision_keys, keyed_uniforms
from tests.conftest import md5


def test_keys_are_the_first_16_hex_digits() -> None:
    ids = [md5(str(i)) for i in range(50)]
    assert decision_keys(ids).tolist() == [int(i[:16], 16) for i in ids]


def test_uniforms_depend_only_on_the_decision_id() -> None:
    ids = np.array([md5(str(i)) for i in range(1000)])
    order = np.random.default_rng(1).permutation(len(ids))
    u = keyed_uniforms(decision_keys(ids), stream=3)
    assert np.array_equal(keyed_uniforms(decision_keys(ids[order]), stream=3), u[order])


def test_uniforms_are_uniform_and_streams_independent() -> None:
    n = 200_000
    keys = decision_keys([md5(str(i)) for i in range(n)])
    u0, u1 = keyed_uniforms(keys, 0), keyed_uniforms(keys, 1)
    assert ((u0 >= 0) & (u0 < 1)).all()
    # Mean of n uniforms has sd sqrt(1/12n); correlation of independent streams sd 1/sqrt(n).
    assert abs(u0.mean() - 0.5) < 4 * np.sqrt(1 / (12 * n))
    assert abs(np.corrcoef(u0, u1)[0, 1]) < 4 / np.sqrt(n)
    counts = np.histogram(u0, bins=10, range=(0, 1))[0]
    expected = n / 10
    assert ((counts - expected) ** 2 / expected).sum() < 27.9  # chi2(9) 0.999 quantile


def test_non_hex_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="not an md5 hex digest"):
        decision_keys(["customer-42-2026-01-01-xxxxxxxxxxxx"])
