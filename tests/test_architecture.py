"""The folder rules of docs/architecture.md, read from the source (every import statement, lazy ones
in functions and TYPE_CHECKING blocks included), and the architecture document's module list
checked against the tree. Plus, at run time: the companion loads no Qt/pywin32 module, and the
pre-send path keeps heavy modules lazy."""

from __future__ import annotations

import ast
import json
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import companion

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("companion", "ui", "collector", "outlook_bridge", "installer", "mailwarden_common")
ARCHITECTURE = REPO / "docs" / "architecture.md"

QT = {"PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "shiboken2"}
PYWIN32 = {"pythoncom", "pywintypes", "winerror", "servicemanager", "pythonwin", "adodbapi", "isapi"}

# What the tray may use of the companion: the local API client and what that client needs (its
# errors, the data directory it finds the agent's address in, the version it announces), plus the
# system language. Nothing that reads the database or judges mail.
UI_MAY_USE = {
    "companion",  # __version__
    "companion.agent",  # AGENT_FILE, API_VERSION (the package's __init__ only: the agent is lazy)
    "companion.agent.client",
    "companion.agent.errors",
    "companion.config",
    "companion.errors",
    "companion.i18n",
    "companion.policy.model",  # the tier order and labels, the one set (a leaf: it imports no companion module)
}

# The shared protocol package (canonical JSON, signing, versions, the policy model and validator)
# the collector will import from the companion's side. It does not exist yet: its name goes here.
PROTOCOL_PACKAGES: tuple[str, ...] = ()
# The one message catalogue every part speaks from (docs/i18n.md): the collector may use it too.
CATALOGUE_MODULES = ("companion.i18n", "companion.cli_catalogue")

# Known exceptions, to be emptied (issue #13): every collector -> companion import of today that is
# not the shared protocol package. A new one fails the test; so does an entry that no longer exists.
COLLECTOR_EXCEPTIONS = {
    # the policy editor validates with the companion's loader and shows its errors
    ("collector.dashboard.policy_editor", "companion.errors"),
    ("collector.dashboard.policy_editor", "companion.policy.loader"),
    # policy version order (is_newer) comes with enrolment, keystore and config
    ("collector.service", "companion.policy_update"),
    ("collector.admin", "companion.policy_update"),  # publish_policy: the same order
    # canonical JSON and Ed25519 signatures
    ("collector.dashboard.access_log", "companion.signing"),
    ("collector.keys", "companion.signing"),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, absolute and dotted (a module, or the package of a name)
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target}"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def tree() -> dict[str, Path]:
    """Every module and package of the product's folders, by dotted name."""
    return {module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def imports_in(source: str, module: str, is_package: bool, known: Iterable[str]) -> list[Import]:
    """Every import statement anywhere in `source` (functions, classes, if-blocks included).
    Relative imports are made absolute; `from pkg import name` counts as importing `pkg.name`
    when that is a module of `known`."""
    known = set(known)
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append(Import(module, sub if sub in known else base, node.lineno))
    return found


def all_imports() -> list[Import]:
    modules = tree()
    return [
        imp
        for name, path in modules.items()
        for imp in imports_in(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", modules)
    ]


IMPORTS = all_imports()


def top(name: str) -> str:
    return name.split(".")[0]


def is_pywin32(name: str) -> bool:
    return top(name).startswith("win32") or top(name) in PYWIN32


def of(package: str) -> list[Import]:
    return [i for i in IMPORTS if top(i.module) == package]


# -- the reader itself ----------------------------------------------------------------------------


def test_the_reader_sees_lazy_relative_and_submodule_imports():
    source = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from collector.service import Collector\n"
        "def f():\n    import PySide6.QtCore\n    from . import sibling\n    from ..errors import E\n"
        "class C:\n    def g(self):\n        from companion import enroll, __version__\n"
    )
    known = {
        "companion",
        "companion.agent",
        "companion.agent.sibling",
        "companion.enroll",
        "companion.errors",
    }
    got = {(i.target, i.line) for i in imports_in(source, "companion.agent.x", False, known)}
    assert got == {
        ("__future__", 1),
        ("typing", 2),
        ("collector.service", 4),
        ("PySide6.QtCore", 6),
        ("companion.agent.sibling", 7),
        ("companion.errors", 8),
        ("companion.enroll", 11),
        ("companion", 11),
    }


def test_the_tree_is_read():
    targets = {i.target for i in IMPORTS}
    assert {"companion.cli", "ui.tray", "collector.app", "outlook_bridge.addin"} <= set(tree())
    assert "PySide6.QtWidgets" in targets and "companion.agent.client" in targets
    assert any(i.module == "outlook_bridge.addin" and i.target == "win32com.client" for i in IMPORTS)


# -- the folder rules ---------------------------------------------------------------------------


def test_companion_never_imports_qt_pywin32_collector_outlook_bridge_or_ui():
    bad = [
        str(i)
        for i in of("companion")
        if top(i.target) in QT | {"collector", "outlook_bridge", "ui"} or is_pywin32(i.target)
    ]
    assert bad == []


def test_ui_uses_only_the_local_api_client_of_the_companion():
    bad = [
        str(i)
        for i in of("ui")
        if (top(i.target) == "companion" and i.target not in UI_MAY_USE)
        or top(i.target) in {"collector", "outlook_bridge"}
        or is_pywin32(i.target)
    ]
    assert bad == []
    # ... and what the client needs stays within that list: it drags nothing else in.
    dragged = [
        str(i)
        for i in IMPORTS
        if i.module in UI_MAY_USE and top(i.target) == "companion" and i.target not in UI_MAY_USE
    ]
    assert dragged == []
    used = {i.target for i in of("ui") if top(i.target) == "companion"}
    assert used <= UI_MAY_USE and {"companion.agent.client", "companion.agent.errors"} <= used


def test_collector_imports_from_the_companion_only_the_protocol_package():
    to_companion = {
        (i.module, i.target)
        for i in of("collector")
        if top(i.target) == "companion"
        and not any(i.target == p or i.target.startswith(p + ".") for p in PROTOCOL_PACKAGES)
        and i.target not in CATALOGUE_MODULES
    }
    new = sorted(to_companion - COLLECTOR_EXCEPTIONS)
    assert new == [], "collector -> companion imports outside the shared protocol package"
    gone = sorted(COLLECTOR_EXCEPTIONS - to_companion)
    assert gone == [], "fixed: remove these from COLLECTOR_EXCEPTIONS"
    others = [
        str(i)
        for i in of("collector")
        if top(i.target) in QT | {"ui", "outlook_bridge"} or is_pywin32(i.target)
    ]
    assert others == []


def test_the_shared_package_imports_no_other_part_of_the_product():
    """mailwarden_common is what the companion and the collector may both import: so it may
    import neither of them (nor the tray, the Outlook bridge or the installer)."""
    bad = [str(i) for i in of("mailwarden_common") if top(i.target) in set(PACKAGES) - {"mailwarden_common"}]
    assert bad == []
    assert any(i.target == "mailwarden_common.pdf" for i in of("collector"))


def test_outlook_bridge_and_the_installer_stay_out_of_the_collector_and_the_tray():
    bad = [
        str(i) for i in of("outlook_bridge") + of("installer") if top(i.target) in QT | {"collector", "ui"}
    ]
    assert bad == []


# -- docs/architecture.md -----------------------------------------------------------------------

DOTTED = re.compile(r"(?<![\w./-])(?:" + "|".join(PACKAGES) + r")(?:\.[A-Za-z_]\w*)+")
PATH = re.compile(r"(?<![\w./-])(?:" + "|".join(PACKAGES) + r")/[\w./-]*")


def _top_level_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def named_in_architecture() -> tuple[set[str], list[str]]:
    """(the modules and packages the document names, the names that are not in the tree)."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    modules = tree()
    named, missing = set(), []
    for token in DOTTED.findall(text):
        parts = token.split(".")
        for n in range(len(parts), 0, -1):  # the longest module prefix; the rest is an attribute
            prefix = ".".join(parts[:n])
            if prefix in modules:
                break
        rest = parts[n:]
        if rest and rest[0] not in _top_level_names(modules[prefix]):
            missing.append(token)
        else:
            named.add(prefix)
    for token in PATH.findall(text):
        path = REPO / token.rstrip("/.")
        if not path.exists():
            missing.append(token)
        elif path.suffix == ".py" or (path / "__init__.py").exists():
            named.add(module_name(path if path.suffix == ".py" else path / "__init__.py"))
    return named, missing


def test_architecture_names_only_modules_that_exist():
    _, missing = named_in_architecture()
    assert missing == []


def test_architecture_names_every_package_of_the_tree():
    named, _ = named_in_architecture()
    packages = {name for name, path in tree().items() if path.name == "__init__.py"}
    assert packages - named == set()


# -- at run time --------------------------------------------------------------------------------

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
    "dkim",  # evidence (companion/evidence): only when a proof is made or checked
    "dns",
    "pymerkle",
    "rfc3161_client",
    "fpdf",
)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_no_companion_module_loads_qt_or_pywin32():
    """The same rule at run time: not even a third-party module the companion uses pulls them in."""
    names = [m.name for m in pkgutil.walk_packages(companion.__path__, "companion.")]
    assert "companion.cli" in names and "companion.policy.engine" in names
    loaded = _modules_after("\n".join(f"import {n}" for n in names))
    assert not {m for m in loaded if top(m) in QT or is_pywin32(m)}


def test_check_path_keeps_heavy_modules_lazy():
    loaded = _modules_after(
        "from companion.cli import cli\nfrom companion.policy import PolicyEngine, load_policy\n"
        "from companion.parsing import parse_eml_bytes\n"
        "e = PolicyEngine(load_policy())\n"
        "e.check(parse_eml_bytes(b'From: a@b.c\\nSubject: x\\n\\nlowest price'))"
    )
    assert not {m for m in loaded if top(m) in LAZY}
