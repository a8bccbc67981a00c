"""The policy: model, loader (TOML with line-numbered errors), normaliser and the one engine."""

from companion.policy.engine import Finding, PolicyEngine, Verdict, verdict_of
from companion.policy.loader import load_policy, parse_policy
from companion.policy.model import TIERS, Policy

__all__ = [
    "TIERS",
    "Finding",
    "Policy",
    "PolicyEngine",
    "Verdict",
    "load_policy",
    "parse_policy",
    "verdict_of",
]
