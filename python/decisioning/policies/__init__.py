"""Policies: one interface, several algorithms, chosen by ``decisioning.policy.algorithm``."""

from __future__ import annotations

from decisioning.config import PolicyConfig
from decisioning.policies.base import Policy
from decisioning.policies.thompson import ThompsonSampling
from decisioning.policies.uniform import UniformRandom

__all__ = ["Policy", "ThompsonSampling", "UniformRandom", "make_policy"]


def make_policy(settings: PolicyConfig) -> Policy:
    """The configured policy."""
    if settings.algorithm == ThompsonSampling.name:
        return ThompsonSampling(settings.propensity_floor, settings.monte_carlo_draws)
    return UniformRandom(settings.propensity_floor)
