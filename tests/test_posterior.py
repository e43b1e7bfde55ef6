"""Bayesian linear models from sufficient statistics."""

from __future__ import annotations

import numpy as np

from decisioning.posterior import (
    PRIOR_NOISE_VARIANCE,
    fit_field,
    models_from_frame,
    models_to_frame,
)
from tests.conftest import statistics_frame

NAMES = ("x_0", "x_1", "x_2")


def _data(n: int, theta: np.ndarray, noise_sd: float, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([np.ones(n), rng.normal(size=(n, len(theta) - 1))])
    r = x @ theta + rng.normal(scale=noise_sd, size=n)
    return x, r, np.ones(n)


def test_posterior_mean_recovers_the_true_coefficients() -> None:
    theta, noise_sd, n = np.array([0.2, -0.1, 0.05]), 0.3, 40_000
    stats = statistics_frame("offer", {"a": _data(n, theta, noise_sd, 0)})
    model = fit_field("offer", ("a",), stats, NAMES, prior_variance=1.0)
    # OLS standard error with unit-variance regressors: noise_sd / sqrt(n).
    assert np.all(np.abs(model.mean[0] - theta) < 5 * noise_sd / np.sqrt(n))
    assert np.all(np.sqrt(np.diag(model.covariance[0])) < 2 * noise_sd / np.sqrt(n))


def test_closed_form_with_weights() -> None:
    x, r, _ = _data(50, np.array([0.1, 0.2, 0.0]), 0.5, 1)
    w = np.random.default_rng(2).uniform(0.1, 1.0, size=50)
    model = fit_field("offer", ("a",), statistics_frame("offer", {"a": (x, r, w)}), NAMES, 2.0)
    sse = (w * r * r).sum() - (w * r).sum() ** 2 / w.sum()
    noise = (PRIOR_NOISE_VARIANCE + sse) / (1 + w.sum())
    precision = np.eye(3) / 2.0 + (x.T * w) @ x / noise
    assert np.isclose(model.noise_variance, noise)
    assert np.allclose(model.covariance[0], np.linalg.inv(precision))
    assert np.allclose(model.mean[0], np.linalg.solve(precision, (x.T * w) @ r / noise))


def test_value_without_data_keeps_the_prior_and_posterior_shrinks_with_data() -> None:
    theta = np.array([0.3, 0.0, 0.1])
    traces = []
    for n in (10, 100, 1000):
        stats = statistics_frame("offer", {"a": _data(n, theta, 0.3, n)})
        model = fit_field("offer", ("a", "new"), stats, NAMES, prior_variance=0.5)
        assert np.array_equal(model.mean[1], np.zeros(3))
        assert np.allclose(model.covariance[1], 0.5 * np.eye(3))
        assert model.n_rewards.tolist() == [n, 0]
        traces.append(np.trace(model.covariance[0]))
    assert traces[0] > traces[1] > traces[2]


def test_parameters_round_trip_through_the_long_table(catalog) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    stats = statistics_frame(
        "offer",
        {v: (rng.normal(size=(20, 3)), rng.normal(size=20), np.ones(20)) for v in ("o1", "o3")},
    )
    models = {f: fit_field(f, catalog.values[f], stats, NAMES, 1.0) for f in catalog.fields}
    restored = models_from_frame(models_to_frame(models, "v1"), catalog)
    for field, model in models.items():
        assert np.allclose(restored[field].mean, model.mean)
        assert np.allclose(restored[field].covariance, model.covariance)
        assert restored[field].n_rewards.tolist() == model.n_rewards.tolist()
