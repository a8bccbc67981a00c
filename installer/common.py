"""What every step of the MSI build shares: where things are, the product's names, the cache, and
small helpers (logging, running a tool, hashing, removing)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# The product's names, as Windows and Thunderbird see them.
DEFAULT_INSTALL = r"C:\Program Files\Mailwarden"  # for the policies.json file URL (see docs/deploy.md)
EXTENSION_ID = "mailwarden@mailwarden.example"
NATIVE_HOST = "mailwarden"


def log(msg: str) -> None:
    print(f"[msi {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def cache_dir() -> Path:
    return Path(os.environ.get("MAILWARDEN_MSI_CACHE") or "~/.cache/mailwarden-msi").expanduser()


def project_version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def msi_name(version: str) -> str:
    return f"Mailwarden-{version}-x64.msi"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def uv() -> str:
    """uv from the project's venv (pip-installed there when missing)."""
    exe = Path(sys.executable).with_name("uv")
    if not exe.exists():
        log("installing uv into the venv")
        run([sys.executable, "-m", "pip", "install", "-q", "uv"])
    return str(exe)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
