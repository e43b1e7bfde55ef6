"""Policies: one interface, several algorithms, chosen by ``decisioning.policy.algorithm``."""

from __future__ import annotations

from decisioning.config import PolicyConfig
from decisioning.policies.base import Policy, Scores
from decisioning.policies.greedy import ABThenCommit, EpsilonGreedy, LinUCB
from decisioning.policies.thompson import CampaignThompsonSampling, ThompsonSampling
from decisioning.policies.uniform import UniformRandom

__all__ = [
    "ABThenCommit",
    "CampaignThompsonSampling",
    "EpsilonGreedy",
    "LinUCB",
    "Policy",
    "Scores",
    "ThompsonSampling",
    "UniformRandom",
    "make_policy",
    "policy_class",
]

_POLICIES: dict[str, type[Policy]] = {
    p.name: p
    for p in (
        ThompsonSampling,
        LinUCB,
        EpsilonGreedy,
        UniformRandom,
        ABThenCommit,
        CampaignThompsonSampling,
    )
}


def policy_class(algorithm: str) -> type[Policy]:
    """The class implementing ``algorithm`` (a validated ``policy.algorithm``)."""
    return _POLICIES[algorithm]


def make_policy(settings: PolicyConfig, days_running: int = 0) -> Policy:
    """The configured policy. ``days_running``: days since the campaign's first decision."""
    floor, name = settings.propensity_floor, settings.algorithm
    if name == ThompsonSampling.name:
        return ThompsonSampling(floor, settings.monte_carlo_draws)
    if name == CampaignThompsonSampling.name:
        return CampaignThompsonSampling(floor, settings.monte_carlo_draws)
    if name == LinUCB.name:
        return LinUCB(floor, settings.ucb_alpha)
    if name == EpsilonGreedy.name:
        return EpsilonGreedy(floor, settings.epsilon)
    if name == ABThenCommit.name:
        return ABThenCommit(floor, settings.test_days, days_running)
    return UniformRandom(floor)
