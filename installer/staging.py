"""Step 4 of the MSI build: the folder the MSI installs, staged from the cached runtime: the project
(companion, outlook_bridge, ui; never collector) with a dist-info, the launchers, the Thunderbird
host manifest, the .xpi and its policies.json, the icon."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PureWindowsPath

from installer.common import DEFAULT_INSTALL, EXTENSION_ID, NATIVE_HOST, REPO, log, remove, run
from installer.runtime import WINPYTHON, compile_bytecode

PROJECT_PACKAGES = ("companion", "outlook_bridge", "ui", "mailwarden_common")  # the last: the PDF font


def stage(version: str, cache: Path, runtime: Path, work: Path) -> dict[str, str]:
    """Fill work/root (what the MSI installs) and work/tbdist (Thunderbird's distribution folder);
    returns the Thunderbird file names the WiX source refers to."""
    remove(work)
    root = work / "root"
    root.mkdir(parents=True)
    log("staging")
    # hard links from the cached runtime: fast, and wixl only reads them
    run(["cp", "-al", str(runtime / "python"), str(root / "python")])
    site = root / "python" / "Lib" / "site-packages"
    copy_project(site, version)
    compile_bytecode(cache, root / "python", [site / p for p in PROJECT_PACKAGES if (site / p).is_dir()])
    launchers(root / "bin")
    tb = thunderbird_files(root / "thunderbird", build_xpi(REPO / "dist"))
    make_icon(root / "mailwarden.ico")
    (root / "VERSION.txt").write_text(f"Mailwarden {version}\r\nPython {WINPYTHON['python_version']}\r\n")
    # policies.json also goes to Thunderbird's distribution folder (a separate directory in the wxs)
    tbdist = work / "tbdist"
    tbdist.mkdir()
    shutil.copy2(root / "thunderbird" / "policies.json", tbdist / "policies.json")
    return tb


def copy_project(site: Path, version: str) -> None:
    import runpy

    runpy.run_path(str(REPO / "scripts" / "i18n.py"))["compile_all"]()  # the .mo files the code reads
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", ".*", "*.po", "*.pot")
    for pkg in PROJECT_PACKAGES:
        src = REPO / pkg
        if src.is_dir():
            shutil.copytree(src, site / pkg, ignore=ignore)
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    info = site / f"mailwarden-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: mailwarden\nVersion: {version}\n"
        f"Summary: {meta['description']}\nLicense: {meta['license']}\n",
        encoding="utf-8",
    )
    # The console scripts (never the collector's) and every entry point group: companion.cli finds
    # the commands other packages add (install-outlook) in this file.
    groups = {
        "console_scripts": {k: v for k, v in meta.get("scripts", {}).items() if not k.endswith("collector")},
        **meta.get("entry-points", {}),
    }
    text = "".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()) + "\n"
        for group, entries in groups.items()
    )
    (info / "entry_points.txt").write_text(text, encoding="utf-8")
    (info / "INSTALLER").write_text("mailwarden-msi\n", encoding="utf-8")


def build_xpi(dist: Path) -> Path:
    """The Thunderbird extension, built now by thunderbird_ext/build_xpi.py. No MSI without it (and
    never a stale .xpi left in dist/ by an earlier build)."""
    builder = REPO / "thunderbird_ext" / "build_xpi.py"
    if not builder.exists():
        raise SystemExit(f"cannot build the Thunderbird extension: {builder} is missing")
    p = subprocess.run([sys.executable, str(builder), "--out", str(dist)], capture_output=True, text=True)
    xpi = Path(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 and p.stdout.strip() else None
    if xpi is None or xpi.suffix != ".xpi" or not xpi.is_file():
        raise SystemExit(
            f"cannot build the Thunderbird extension: thunderbird_ext/build_xpi.py exited {p.returncode}"
            f" without an .xpi\n{(p.stdout + p.stderr).strip()[-1000:]}"
        )
    return xpi


def file_url(windows_path: str) -> str:
    from urllib.parse import quote

    return "file:///" + quote(windows_path.replace("\\", "/"), safe="/:")


def thunderbird_files(dest: Path, xpi: Path) -> dict[str, str]:
    dest.mkdir(parents=True)
    launcher = "mailwarden-native-host.bat"
    (dest / launcher).write_bytes(
        b"@echo off\r\nrem Started by Thunderbird (native messaging): the Mailwarden companion on stdin/stdout.\r\n"
        b'"%~dp0..\\python\\python.exe" -X utf8 -E -s -m companion.native_host %*\r\n'
    )
    manifest = {
        "name": NATIVE_HOST,
        "description": "Mailwarden pre-send checks (companion)",
        "path": launcher,
        "type": "stdio",
        "allowed_extensions": [EXTENSION_ID],
    }
    (dest / f"{NATIVE_HOST}.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    shutil.copy2(xpi, dest / xpi.name)
    url = file_url(str(PureWindowsPath(DEFAULT_INSTALL, "thunderbird", xpi.name)))
    policies = {
        "policies": {
            "ExtensionSettings": {EXTENSION_ID: {"installation_mode": "force_installed", "install_url": url}}
        }
    }
    (dest / "policies.json").write_text(json.dumps(policies, indent=2) + "\n", encoding="utf-8")
    return {"manifest": f"{NATIVE_HOST}.json", "xpi": xpi.name, "install_url": url}


def launchers(dest: Path) -> None:
    dest.mkdir(parents=True)
    (dest / "mailwarden.cmd").write_bytes(
        b'@echo off\r\n"%~dp0..\\python\\python.exe" -X utf8 -E -s -c "import sys; from companion.cli import main;'
        b' sys.exit(main())" %*\r\n'
    )
    (dest / "mailwarden-tray.cmd").write_bytes(
        b'@echo off\r\nstart "" "%~dp0..\\python\\pythonw.exe" -X utf8 -E -s -c "import sys; from ui.app import main;'
        b' sys.exit(main())" %*\r\n'
    )


def make_icon(path: Path) -> None:
    """A 32x32 and 16x16 icon (PNG frames): a blue shield-like disc with a white bar."""
    import struct
    import zlib

    def png(size: int) -> bytes:
        rows = []
        c = (size - 1) / 2
        for y in range(size):
            row = bytearray([0])
            for x in range(size):
                d = ((x - c) ** 2 + (y - c) ** 2) ** 0.5
                if d <= size / 2 - 0.5:
                    white = abs(y - c) <= size / 10 and abs(x - c) <= size / 4
                    row += bytes((255, 255, 255, 255) if white else (30, 90, 170, 255))
                else:
                    row += bytes((0, 0, 0, 0))
            rows.append(bytes(row))

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b"")
        )

    frames = [png(32), png(16)]
    header = struct.pack("<HHH", 0, 1, len(frames))
    offset = 6 + 16 * len(frames)
    entries = b""
    for size, data in zip((32, 16), frames, strict=True):
        entries += struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    path.write_bytes(header + entries + b"".join(frames))
