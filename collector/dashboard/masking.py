"""Further masking of snippets for department managers: only the matched phrase stays.

Snippets arrive as `…context »match« context…` (companion/snippets.py marks the match with »« and
has already put placeholders such as [姓名] in place of personal data; quoted events have none);
a manager sees `…»match«…`. A snippet without markers shows as a bare ellipsis.
"""

from __future__ import annotations

import re

_MATCH = re.compile(r"»[^»«]*«")


def manager_snippet(snippet: str) -> str:
    if not snippet:
        return ""
    matches = _MATCH.findall(snippet)
    return "…" + "…".join(matches) + "…" if matches else "…"
