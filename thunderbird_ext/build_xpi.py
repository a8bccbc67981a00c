"""Build the Thunderbird extension: dist/mailwarden-thunderbird-<version>.xpi (a zip file).

The archive is deterministic: the same sources give the same bytes (sorted entries, fixed dates
and permissions), so a build can be verified by its hash. Only the extension itself goes in
(manifest, background, popup, options, locales, icons); build tools and the native-host templates
stay out.

    python thunderbird_ext/build_xpi.py [--out DIR]        (make xpi)

`build()` also takes test-only additions (extra files and scripts added to the prompt page and the
background page); the e2e tests use them for their hooks, the shipped build never does.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

EXT_DIR = Path(__file__).resolve().parent
REPO = EXT_DIR.parent
INCLUDED = ("manifest.json", "background", "popup", "options", "_locales", "icons")
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
PROMPT_PAGE = "popup/prompt.html"


def extension_files(root: Path = EXT_DIR) -> dict[str, bytes]:
    """Archive name -> bytes for every file of the extension."""
    files: dict[str, bytes] = {}
    for top in INCLUDED:
        path = root / top
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in candidates:
            name = file.relative_to(root).as_posix()
            if any(part.startswith(".") or part == "__pycache__" for part in name.split("/")):
                continue
            files[name] = file.read_bytes()
    return files


def manifest(root: Path = EXT_DIR) -> dict:
    return json.loads((root / "manifest.json").read_text(encoding="utf-8"))


def xpi_name(version: str) -> str:
    return f"mailwarden-thunderbird-{version}.xpi"


def write_zip(path: Path, files: Mapping[str, bytes]) -> Path:
    """Write `files` as a deterministic zip (manifest.json first, then by name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(files, key=lambda n: (n != "manifest.json", n)):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the permissions below are read as such
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name], compresslevel=9)
    tmp.replace(path)
    return path


def _add_script(html: str, script: str) -> str:
    tag = f'  <script src="{script}"></script>\n'
    at = html.rindex("</body>")
    return html[:at] + tag + html[at:]


def build(
    out_dir: Path | None = None,
    *,
    root: Path = EXT_DIR,
    extra_files: Mapping[str, bytes] | None = None,
    prompt_scripts: Sequence[str] = (),
    background_scripts: Sequence[str] = (),
    name: str | None = None,
) -> Path:
    """Build the .xpi into `out_dir` (default: <repo>/dist) and return its path."""
    files = extension_files(root)
    meta = json.loads(files["manifest.json"])
    for name_, data in (extra_files or {}).items():
        files[name_] = data
    if prompt_scripts:
        html = files[PROMPT_PAGE].decode("utf-8")
        for script in prompt_scripts:
            html = _add_script(html, script)
        files[PROMPT_PAGE] = html.encode("utf-8")
    if background_scripts:
        meta["background"]["scripts"] = [*meta["background"]["scripts"], *background_scripts]
        files["manifest.json"] = (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    missing = [s for s in [*meta["background"]["scripts"]] if s not in files]
    if missing:
        raise FileNotFoundError(f"background scripts missing from the extension: {', '.join(missing)}")
    out = (out_dir or REPO / "dist") / (name or xpi_name(meta["version"]))
    return write_zip(out, files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    path = build(args.out)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
