"""Mailwarden companion: the core (message model, parsers, policy engine, masking, database, CLI).

Nothing here imports Qt or pywin32 at module level: the agent must stay small and portable.
"""

__version__ = "0.1.0"
