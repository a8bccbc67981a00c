"""The policy: model, loader (TOML with line-numbered errors), normaliser and the one engine.

The names below are loaded on first use (PEP 562), so that importing a light part (the model's tier
labels, companion.policy.in_force) does not load the engine and its phrase automaton.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from companion.policy.engine import Finding, PolicyEngine, Verdict, verdict_of
    from companion.policy.loader import load_policy, parse_policy
    from companion.policy.model import TIERS, Policy

_WHERE = {
    "TIERS": "model",
    "Policy": "model",
    "Finding": "engine",
    "PolicyEngine": "engine",
    "Verdict": "engine",
    "verdict_of": "engine",
    "load_policy": "loader",
    "parse_policy": "loader",
}

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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'companion.policy' has no attribute {name!r}")
    return getattr(import_module(f"companion.policy.{_WHERE[name]}"), name)
