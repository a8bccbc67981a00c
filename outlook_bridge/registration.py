"""The registry rows that make classic Outlook load the Mailwarden COM add-in, as plain data.

Two groups of rows:

* the Outlook add-in key, `Software\\Microsoft\\Office\\Outlook\\Addins\\Mailwarden.OutlookAddin`
  (LoadBehavior 3 = load at startup, FriendlyName, Description, CommandLineSafe 0);
* the pywin32 COM server: `Software\\Classes\\CLSID\\{CLSID}` whose InprocServer32 is
  pywin32's pythoncom3XX.dll, with the `PythonCOM` (class to create) and `PythonCOMPath`
  (folder added to sys.path) subkeys pythoncom reads, and the ProgID -> CLSID mapping Outlook
  uses to find the class from the add-in key's name.

Per user (`mailwarden install-outlook`) the rows go to HKCU; per machine the MSI writes the same
rows to HKLM. The add-in key is written in both registry views (64-bit and 32-bit Office each read
their own view of HKLM\\Software); the COM server rows only in the view of the shipped Python,
because an in-process server can only load into an Office of the same bitness. Nothing here
touches the registry: `outlook_bridge.install` writes these rows through an injectable writer.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Any, Literal

PROGID = "Mailwarden.OutlookAddin"
CLSID = "{82C8E60E-8AA4-4780-B209-37CDB75CE3BF}"
# What pythoncom creates when Outlook asks for the CLSID (module.Class, importable from PythonCOMPath).
PYTHON_CLASS = "outlook_bridge.addin.MailwardenAddin"
FRIENDLY_NAME = "Mailwarden"
DESCRIPTION = "Checks outgoing mail against the company policy before it is sent / 发送前按公司策略检查邮件"
DESCRIPTION_COM = "Mailwarden Outlook add-in"

ADDIN_KEY = rf"Software\Microsoft\Office\Outlook\Addins\{PROGID}"
CLSID_KEY = rf"Software\Classes\CLSID\{CLSID}"
PROGID_KEY = rf"Software\Classes\{PROGID}"

LOAD_AT_STARTUP = 3  # LoadBehavior: loaded (1) + load at startup (2)

Hive = Literal["HKCU", "HKLM"]
ValueType = Literal["REG_SZ", "REG_DWORD"]


@dataclass(frozen=True)
class RegistryRow:
    """One registry value. `name` "" is the key's default value; `view` is the registry view the row
    belongs to (64 or 32): a 32-bit-view HKLM\\Software row lands under WOW6432Node on 64-bit Windows
    (an MSI component with Win64="no"; winreg with KEY_WOW64_32KEY)."""

    hive: Hive
    key: str
    name: str
    value: str | int
    type: ValueType
    view: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def python_bitness() -> int:
    """The bitness of the running Python (and so of any pythoncom DLL it ships)."""
    return 64 if sys.maxsize > 2**32 else 32


def pythoncom_dll_name(version: tuple[int, int] | None = None) -> str:
    major, minor = version or sys.version_info[:2]
    return f"pythoncom{major}{minor}.dll"


def addin_rows(hive: Hive, view: int) -> list[RegistryRow]:
    """The Outlook add-in key: Outlook loads every ProgID listed there whose LoadBehavior says so."""
    return [
        RegistryRow(hive, ADDIN_KEY, "LoadBehavior", LOAD_AT_STARTUP, "REG_DWORD", view),
        RegistryRow(hive, ADDIN_KEY, "FriendlyName", FRIENDLY_NAME, "REG_SZ", view),
        RegistryRow(hive, ADDIN_KEY, "Description", DESCRIPTION, "REG_SZ", view),
        RegistryRow(hive, ADDIN_KEY, "CommandLineSafe", 0, "REG_DWORD", view),
    ]


def com_server_rows(hive: Hive, view: int, pythoncom_dll: str, python_path: str) -> list[RegistryRow]:
    """The pywin32 in-process COM server: COM loads `pythoncom_dll`, which reads `PythonCOMPath`
    into sys.path and creates `PythonCOM` (the add-in class). The strings are written as given, so an
    MSI can pass formatted properties such as "[PYTHONDIR]pythoncom312.dll"."""
    inproc = CLSID_KEY + r"\InprocServer32"
    return [
        RegistryRow(hive, CLSID_KEY, "", DESCRIPTION_COM, "REG_SZ", view),
        RegistryRow(hive, CLSID_KEY + r"\ProgID", "", PROGID, "REG_SZ", view),
        RegistryRow(hive, inproc, "", pythoncom_dll, "REG_SZ", view),
        RegistryRow(hive, inproc, "ThreadingModel", "Both", "REG_SZ", view),
        RegistryRow(hive, CLSID_KEY + r"\PythonCOM", "", PYTHON_CLASS, "REG_SZ", view),
        RegistryRow(hive, CLSID_KEY + r"\PythonCOMPath", "", python_path, "REG_SZ", view),
        RegistryRow(hive, PROGID_KEY, "", DESCRIPTION_COM, "REG_SZ", view),
        RegistryRow(hive, PROGID_KEY + r"\CLSID", "", CLSID, "REG_SZ", view),
    ]


def user_rows(pythoncom_dll: str, python_path: str, view: int | None = None) -> list[RegistryRow]:
    """HKCU rows for one user (`mailwarden install-outlook`). HKCU\\Software\\Microsoft\\Office is
    shared by both views, HKCU\\Software\\Classes\\CLSID is not: both go to the view of the Python
    that will run inside Outlook (the running Python by default)."""
    view = view or python_bitness()
    return addin_rows("HKCU", view) + com_server_rows("HKCU", view, pythoncom_dll, python_path)


def machine_rows(pythoncom_dll: str, python_path: str, python_view: int = 64) -> list[RegistryRow]:
    """HKLM rows for the MSI (per machine): the add-in key in both views, so 64-bit and 32-bit
    Office both list the add-in, and the COM server in the view of the shipped Python only (an Office
    of the other bitness then reports the add-in as not loaded instead of loading a DLL it cannot)."""
    return (
        addin_rows("HKLM", 64)
        + addin_rows("HKLM", 32)
        + com_server_rows("HKLM", python_view, pythoncom_dll, python_path)
    )


def owned_keys(rows: list[RegistryRow]) -> list[tuple[Hive, str, int]]:
    """Every key the rows create, deepest first (the order to delete them in on uninstall). Parents
    such as `...\\Addins` or `Software\\Classes\\CLSID` are never included: they are not ours."""
    keys = {(r.hive, r.key, r.view) for r in rows}
    return sorted(keys, key=lambda k: (-k[1].count("\\"), k))
