"""Register (or remove) the Outlook add-in by writing the rows of `outlook_bridge.registration`.

`install_outlook()` is what `mailwarden install-outlook` runs for one user (HKCU, no admin rights);
the MSI writes the HKLM rows itself. The registry is reached through a writer object so that the
same code runs in tests with an in-memory fake; the real writer imports `winreg` only when used.

    python -m outlook_bridge.install [--uninstall] [--machine] [--print] [--python-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import ntpath
import sys
from pathlib import Path
from typing import Any, Literal, Protocol

from outlook_bridge.registration import (
    RegistryRow,
    machine_rows,
    owned_keys,
    python_bitness,
    pythoncom_dll_name,
    user_rows,
)

log = logging.getLogger(__name__)

Scope = Literal["user", "machine"]


class InstallError(Exception):
    pass


class RegistryWriter(Protocol):
    def set_value(self, row: RegistryRow) -> None:
        """Create the row's key if needed and set the value."""

    def delete_key(self, hive: str, key: str, view: int) -> bool:
        """Delete one key (its subkeys are deleted first by the caller); False if it did not exist."""


class WinregWriter:
    """The Windows registry (winreg is imported here, on first use, so this module imports anywhere)."""

    _VIEW_FLAGS = {64: 0x0100, 32: 0x0200}  # KEY_WOW64_64KEY, KEY_WOW64_32KEY

    def _hive(self, name: str):
        import winreg

        return {"HKCU": winreg.HKEY_CURRENT_USER, "HKLM": winreg.HKEY_LOCAL_MACHINE}[name]

    def set_value(self, row: RegistryRow) -> None:
        import winreg

        kind = {"REG_SZ": winreg.REG_SZ, "REG_DWORD": winreg.REG_DWORD}[row.type]
        access = winreg.KEY_SET_VALUE | self._VIEW_FLAGS[row.view]
        with winreg.CreateKeyEx(self._hive(row.hive), row.key, 0, access) as key:
            winreg.SetValueEx(key, row.name or None, 0, kind, row.value)

    def delete_key(self, hive: str, key: str, view: int) -> bool:
        import winreg

        try:
            winreg.DeleteKeyEx(self._hive(hive), key, self._VIEW_FLAGS[view], 0)
        except FileNotFoundError:
            return False
        return True


def _default_python_path() -> str:
    """The folder that holds the `outlook_bridge` and `companion` packages (PythonCOMPath)."""
    return str(Path(__file__).resolve().parent.parent)


def _find_pythoncom(python_dir: str | None) -> str:
    """pythoncom3XX.dll of the Python that will run inside Outlook."""
    name = pythoncom_dll_name()
    if python_dir:
        return ntpath.join(python_dir, name)
    try:  # on Windows, the pythoncom module *is* the DLL
        import pythoncom  # type: ignore[import-not-found]

        return str(pythoncom.__file__)
    except ImportError:
        return ntpath.join(str(Path(sys.executable).parent), name)


def _rows(
    scope: Scope, python_dir: str | None, pythoncom_dll: str | None, python_path: str | None, view: int | None
) -> list[RegistryRow]:
    dll = pythoncom_dll or _find_pythoncom(python_dir)
    path = python_path or _default_python_path()
    if scope == "user":
        return user_rows(dll, path, view)
    if scope == "machine":
        return machine_rows(dll, path, view or python_bitness())
    raise InstallError(f"unknown scope {scope!r} (user or machine)")


def _check_files(rows: list[RegistryRow]) -> None:
    dll = next(r.value for r in rows if r.key.endswith("InprocServer32") and r.name == "")
    if not Path(str(dll)).is_file():
        raise InstallError(f"pywin32's {ntpath.basename(str(dll))} was not found at {dll}")


def install_outlook(
    scope: Scope = "user",
    writer: RegistryWriter | None = None,
    *,
    python_dir: str | None = None,
    pythoncom_dll: str | None = None,
    python_path: str | None = None,
    view: int | None = None,
    check_files: bool | None = None,
) -> list[dict[str, Any]]:
    """Write the add-in's registry rows and return them as plain dicts.

    `python_dir` is the folder of the Python that Outlook will load (pythoncom3XX.dll sits there);
    by default the running Python's pythoncom. `view` defaults to the running Python's bitness, which
    must be Office's. `check_files` (default: on Windows) refuses to register a DLL that is not there.
    """
    rows = _rows(scope, python_dir, pythoncom_dll, python_path, view)
    if check_files if check_files is not None else sys.platform == "win32":
        _check_files(rows)
    writer = writer or WinregWriter()
    for row in rows:
        writer.set_value(row)
    log.info("Outlook add-in registered (%s, %d values)", scope, len(rows))
    return [r.to_dict() for r in rows]


def uninstall_outlook(
    scope: Scope = "user", writer: RegistryWriter | None = None, *, view: int | None = None
) -> list[dict[str, Any]]:
    """Delete the keys `install_outlook` creates (and nothing else); returns those that existed."""
    rows = _rows(scope, "", "", "", view)
    writer = writer or WinregWriter()
    removed = []
    for hive, key, key_view in owned_keys(rows):
        if writer.delete_key(hive, key, key_view):
            removed.append({"hive": hive, "key": key, "view": key_view})
    log.info("Outlook add-in unregistered (%s, %d keys)", scope, len(removed))
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m outlook_bridge.install", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--uninstall", action="store_true", help="remove the registration")
    parser.add_argument("--machine", action="store_true", help="HKLM for every user (needs admin rights)")
    parser.add_argument("--print", action="store_true", dest="dry_run", help="print the rows, write nothing")
    parser.add_argument("--python-dir", help="folder of pythoncom3XX.dll (default: this Python's)")
    args = parser.parse_args(argv)
    scope: Scope = "machine" if args.machine else "user"
    try:
        if args.dry_run:
            result = [r.to_dict() for r in _rows(scope, args.python_dir, None, None, None)]
        elif args.uninstall:
            result = uninstall_outlook(scope)
        else:
            result = install_outlook(scope, python_dir=args.python_dir)
    except (InstallError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
