"""`python -m companion.agent`: run the agent in the foreground (what `mailwarden serve` does)."""

from __future__ import annotations

import sys

from companion.agent.service import run_agent
from companion.config import paths


def main() -> int:
    return run_agent(paths())


if __name__ == "__main__":
    sys.exit(main())
