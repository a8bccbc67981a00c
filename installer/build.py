"""Build the Windows MSI on Linux: dist/Mailwarden-<version>-x64.msi.

    .venv/bin/python installer/build.py [--version X.Y.Z] [--out DIR] [--lock]   (make msi)

The steps (docs/deploy.md "How the MSI is built"), each in its own module of this folder:

- installer/runtime.py, steps 1-3, cached by the lock file's and the sdist's hashes: the Windows
  CPython (pinned sdist, Authenticode signatures checked), the locked Windows dependency set (uv,
  wheels only, hash-checked, stripped), bytecode compiled by the shipped python.exe under wine.
- installer/staging.py, step 4: the project (companion, outlook_bridge, ui; never collector) with a
  dist-info, the launchers, the Thunderbird host manifest, the .xpi and its policies.json, the icon.
- installer/wix.py, step 5: wixl, mailwarden.wxs + the generated fragments -> the MSI, finished
  with msibuild.

Cache: $MAILWARDEN_MSI_CACHE or ~/.cache/mailwarden-msi (downloads, uv's cache, staged runtimes,
the build-time wine prefix). Work files: build/msi/. An MSI whose inputs did not change is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository's packages

from installer.common import HERE, REPO, cache_dir, log, msi_name, project_version, sha256_file  # noqa: E402
from installer.runtime import lock, runtime  # noqa: E402
from installer.staging import stage  # noqa: E402
from installer.wix import wixl  # noqa: E402


def inputs_digest(version: str, root: Path, work: Path) -> str:
    """What the MSI is made of: every staged file (path and content; .pyc files are derived from the
    .py beside them and not byte-for-byte reproducible), the WiX sources and the build's own code."""
    h = hashlib.sha256(version.encode())
    staged = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".pyc")
    for f in [
        HERE / "mailwarden.wxs",
        HERE / "remove_user_data.js",
        *sorted(HERE.glob("*.py")),
        *staged,
        *sorted((work / "tbdist").iterdir()),
    ]:
        h.update((f.relative_to(root) if f.is_relative_to(root) else f.relative_to(REPO)).as_posix().encode())
        h.update(sha256_file(f).encode())
    return h.hexdigest()


def build(version: str | None = None, out_dir: Path | None = None) -> Path:
    t0 = time.monotonic()
    version = version or project_version()
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"MSI versions are X.Y.Z numbers, not {version!r}")
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    out_dir = out_dir or REPO / "dist"
    out_dir.mkdir(parents=True, exist_ok=True)
    rt = runtime(cache)
    work = REPO / "build" / "msi" / version
    tb = stage(version, cache, rt, work)
    out = out_dir / msi_name(version)
    digest = inputs_digest(version, work / "root", work)
    stamp = REPO / "build" / "msi" / f"{out.name}.inputs"
    if out.exists() and stamp.exists() and stamp.read_text() == digest:
        log(f"{out.name} is up to date (same inputs)")
        return out
    wixl(version, work / "root", work, out, tb)
    stamp.write_text(digest)
    log(f"{out} ({out.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - t0:.0f} s")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Mailwarden MSI (see docs/deploy.md)")
    parser.add_argument("--version", help="product version (default: pyproject.toml's)")
    parser.add_argument("--out", type=Path, help="output folder (default: dist/)")
    parser.add_argument(
        "--lock", action="store_true", help="re-resolve installer/requirements-windows.txt first"
    )
    args = parser.parse_args(argv)
    if args.lock:
        lock(cache_dir())
    print(build(args.version, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
