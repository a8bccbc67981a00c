"""Test-only native host that reads everything and never answers (a hung companion).

stall_host.py STATE_DIR [manifest path] [extension id]
"""

import os
import sys
from pathlib import Path

with (Path(sys.argv[1]) / "stall_started").open("a") as f:
    f.write(f"{os.getpid()}\n")
while sys.stdin.buffer.read(65536):
    pass
