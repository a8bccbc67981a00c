"""The companion never imports Qt or pywin32 at module level, and keeps heavy modules lazy."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import companion

FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "win32com", "pythoncom", "pywintypes", "win32api")
LAZY = (
    "requests",
    "keyring",
    "phonenumbers",
    "extract_msg",
    "docx",
    "openpyxl",
    "pypdf",
    "pypff",
    "RTFDE",
    "bs4",
    "watchdog",
    "opencc",
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_no_companion_module_imports_qt_or_pywin32():
    names = [m.name for m in pkgutil.walk_packages(companion.__path__, "companion.")]
    assert "companion.cli" in names and "companion.policy.engine" in names
    loaded = _modules_after("\n".join(f"import {n}" for n in names))
    assert not {m for m in loaded if m.split(".")[0] in FORBIDDEN}


def test_check_path_keeps_heavy_modules_lazy():
    loaded = _modules_after(
        "from companion.cli import cli\nfrom companion.policy import PolicyEngine, load_policy\n"
        "from companion.parsing import parse_eml_bytes\n"
        "e = PolicyEngine(load_policy())\n"
        "e.check(parse_eml_bytes(b'From: a@b.c\\nSubject: x\\n\\nlowest price'))"
    )
    assert not {m for m in loaded if m.split(".")[0] in LAZY}
