"""The X-Mailwarden header a checked mail leaves with, and the decision key read back from it.

    X-Mailwarden: policy 2026.11.1; warn; justified; key=5f0c9d2e-...     (a checked mail)
    X-Mailwarden: unchecked; key=5f0c9d2e-...                            (the check could not run)

The key is the pre-send decision's (companion.records.decisions): when the scan later reads the
copy in the Sent folder, the key ties that message to what the sender decided. The Thunderbird
extension writes the same format (thunderbird_ext/background/header.js); both are tested against
each other (tests/test_presend_paths.py).
"""

from __future__ import annotations

import re

NAME = "X-Mailwarden"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,100}$")  # what a decision key may be: header-safe
_KEY_IN_VALUE = re.compile(r"(?:^|;)\s*key=([A-Za-z0-9._-]{1,100})\s*(?:;|$)")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def value(parts: list[str], key: str) -> str:
    """The header value: `parts` (e.g. ["policy 2026.11.1", "warn", "justified"]) and the key, as
    printable ASCII on one line."""
    return _UNPRINTABLE.sub("?", "; ".join([*parts, f"key={key}"]))[:300]


def decision_key(header: str | None) -> str:
    """The decision key in an X-Mailwarden value; "" when there is none (or the header is not ours)."""
    m = _KEY_IN_VALUE.search(header or "")
    return m.group(1) if m else ""
