"""Install the Thunderbird side for the current user: the native-messaging host manifest (so the
extension can start the companion) and the extension itself in each Thunderbird profile.

`install_thunderbird()` is what `mailwarden install-thunderbird` runs; `mailwarden native-host` runs
companion.native_host.main. Where Thunderbird looks for the host manifest named "mailwarden":

- Linux:   ~/.mozilla/native-messaging-hosts/mailwarden.json  (not ~/.thunderbird)
- macOS:   ~/Library/Mozilla/NativeMessagingHosts/mailwarden.json
- Windows: the default value of HKCU\\Software\\Mozilla\\NativeMessagingHosts\\mailwarden is the
           full path of the manifest (written here into the data directory); HKLM for all users.

The manifest's "path" is a launcher written beside it that runs `<this Python> -m
companion.native_host` (an executable shell script on Linux and macOS, a .bat file on Windows).
The Windows registry is reached through a writer function, so the code runs (and is tested) anywhere;
the real writer imports winreg only when called.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from companion.config import HOME_ENV, paths
from companion.errors import MailwardenError

EXTENSION_ID = "mailwarden@mailwarden.example"
HOST_NAME = "mailwarden"
HOST_DESCRIPTION = "Mailwarden pre-send checks (companion)"
REGISTRY_KEY = rf"Software\Mozilla\NativeMessagingHosts\{HOST_NAME}"
LAUNCHER_POSIX = "mailwarden-native-host"
LAUNCHER_WINDOWS = "mailwarden-native-host.bat"
EXT_SOURCE = Path(__file__).resolve().parents[1] / "thunderbird_ext"

RegistryWriter = Callable[[str, str], None]  # (key under HKCU, default value)


class InstallError(MailwardenError):
    title = "Cannot install the Thunderbird extension"


def _is_windows(platform: str) -> bool:
    return platform.startswith("win") or platform == "cygwin"


def manifest_dir(platform: str = sys.platform, home: Path | None = None) -> Path:
    """Where the host manifest is written for this user."""
    home = Path.home() if home is None else home
    if _is_windows(platform):
        return paths().home / "thunderbird"  # any folder: the registry points at the file
    if platform == "darwin":
        return home / "Library" / "Mozilla" / "NativeMessagingHosts"
    return home / ".mozilla" / "native-messaging-hosts"


def host_manifest(launcher: str | Path) -> dict[str, Any]:
    """The native-messaging host manifest for a launcher path."""
    return {
        "name": HOST_NAME,
        "description": HOST_DESCRIPTION,
        "path": str(launcher),
        "type": "stdio",
        "allowed_extensions": [EXTENSION_ID],
    }


def _console_python(python: str, platform: str) -> str:
    """python.exe rather than pythonw.exe: native messaging needs stdin and stdout."""
    if _is_windows(platform) and python.lower().endswith("pythonw.exe"):
        candidate = python[: -len("pythonw.exe")] + "python.exe"
        if Path(candidate).exists():
            return candidate
    return python


def write_launcher(
    directory: Path,
    platform: str = sys.platform,
    *,
    python: str = sys.executable,
    data_home: Path | str | None = None,
) -> Path:
    """Write the script Thunderbird starts; it runs the host with `python`. With `data_home`, the
    host uses that data directory (MAILWARDEN_HOME) whatever Thunderbird's environment is."""
    directory.mkdir(parents=True, exist_ok=True)
    python = _console_python(python, platform)
    if _is_windows(platform):
        lines = [
            "@echo off",
            "rem Written by `mailwarden install-thunderbird`: the Mailwarden native-messaging host.",
        ]
        if data_home is not None:
            lines.append(f'set "{HOME_ENV}={data_home}"')
        lines.append(f'"{python}" -m companion.native_host %*')
        launcher = directory / LAUNCHER_WINDOWS
        launcher.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
        return launcher
    lines = [
        "#!/bin/sh",
        "# Written by `mailwarden install-thunderbird`: the Mailwarden native-messaging host.",
    ]
    if data_home is not None:
        lines.append(f"{HOME_ENV}={shlex.quote(str(data_home))}; export {HOME_ENV}")
    lines.append(f'exec {shlex.quote(python)} -m companion.native_host "$@"')
    launcher = directory / LAUNCHER_POSIX
    launcher.write_text("\n".join(lines) + "\n", encoding="utf-8")
    launcher.chmod(0o755)
    return launcher


def winreg_writer(key: str, value: str, *, module: Any = None) -> None:
    """Set the default value of HKCU\\<key> (creating the key). `module` stands in for winreg in
    tests; the real one is imported only here, so this file imports anywhere."""
    if module is None:  # pragma: no cover - Windows only
        import winreg as module
    with module.CreateKeyEx(module.HKEY_CURRENT_USER, key, 0, module.KEY_SET_VALUE) as handle:
        module.SetValueEx(handle, "", 0, module.REG_SZ, value)


def install_native_manifest(
    platform: str = sys.platform,
    home: Path | None = None,
    *,
    python: str = sys.executable,
    target_dir: Path | None = None,
    registry: RegistryWriter | None = None,
    data_home: Path | str | None = None,
) -> dict[str, Any]:
    """Write the launcher and the host manifest where Thunderbird looks (and, on Windows, the
    HKCU registry value naming the manifest). Returns what was written, as plain data."""
    directory = target_dir or manifest_dir(platform, home)
    try:
        launcher = write_launcher(directory, platform, python=python, data_home=data_home)
        manifest_path = directory / f"{HOST_NAME}.json"
        text = json.dumps(host_manifest(launcher), indent=2) + "\n"
        tmp = manifest_path.with_name(manifest_path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(manifest_path)
    except OSError as exc:
        raise InstallError(f"cannot write the native-messaging host in {directory}: {exc}") from None
    result: dict[str, Any] = {"manifest": str(manifest_path), "launcher": str(launcher), "registry": None}
    if _is_windows(platform):
        writer = registry or winreg_writer
        try:
            writer(REGISTRY_KEY, str(manifest_path))
        except OSError as exc:
            raise InstallError(f"cannot write HKCU\\{REGISTRY_KEY}: {exc}") from None
        result["registry"] = {"key": f"HKCU\\{REGISTRY_KEY}", "value": str(manifest_path)}
    return result


def install_extension(profile_dir: Path | str, xpi_path: Path | str) -> Path:
    """Copy the .xpi into <profile>/extensions/<extension id>.xpi (replacing an older copy).
    Thunderbird finds it at its next start and asks the user to allow it."""
    profile_dir, xpi_path = Path(profile_dir), Path(xpi_path)
    if not xpi_path.is_file():
        raise InstallError(f"the extension file does not exist: {xpi_path}")
    if not profile_dir.is_dir():
        raise InstallError(f"the Thunderbird profile does not exist: {profile_dir}")
    target = profile_dir / "extensions" / f"{EXTENSION_ID}.xpi"
    try:
        target.parent.mkdir(exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(xpi_path, tmp)
        tmp.replace(target)
    except OSError as exc:
        raise InstallError(f"cannot copy the extension into {profile_dir}: {exc}") from None
    return target


def default_xpi(out_dir: Path | None = None) -> Path:
    """The extension to install: built from thunderbird_ext/ (a source checkout) into the data
    directory. An installed package without the sources must be given the .xpi."""
    builder = EXT_SOURCE / "build_xpi.py"
    if not builder.is_file():
        raise InstallError(
            "the Thunderbird extension sources are not here; pass the .xpi file "
            "(dist/mailwarden-thunderbird-<version>.xpi from `make xpi`)"
        )
    import importlib.util

    spec = importlib.util.spec_from_file_location("mailwarden_build_xpi", builder)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.build(out_dir or paths().home / "thunderbird")


def install_thunderbird(
    profiles: Iterable[Any] | None = None,
    *,
    xpi_path: Path | str | None = None,
    platform: str = sys.platform,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    python: str = sys.executable,
    registry: RegistryWriter | None = None,
) -> dict[str, Any]:
    """Install the host manifest and the extension in every profile (`profiles`: Profile objects
    or paths; by default every profile of this user). Returns what was done, as plain data."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    if profiles is None:
        from companion.stores.thunderbird import discover_profiles

        profiles = discover_profiles(env=env, home=home, platform=platform)
    profile_dirs = [Path(getattr(p, "path", p)) for p in profiles]
    host = install_native_manifest(
        platform, home, python=python, registry=registry, data_home=env.get(HOME_ENV) or None
    )
    xpi = Path(xpi_path) if xpi_path else default_xpi()
    installed = [{"profile": str(d), "extension": str(install_extension(d, xpi))} for d in profile_dirs]
    # What the person who ran it must do next: "install_thunderbird.<note>" in the catalogue.
    notes = ["restart"] if installed else ["no_profile"]
    return {
        "extension_id": EXTENSION_ID,
        "xpi": str(xpi),
        "host": host,
        "profiles": installed,
        "notes": notes,
    }


def enterprise_policies(
    install_url: str, *, fail_mode: str | None = None, timeout_ms: int | None = None
) -> dict[str, Any]:
    """A Thunderbird policies.json that force-installs the extension for every user and, optionally,
    fixes its settings (read by the extension as managed storage)."""
    policies: dict[str, Any] = {
        "ExtensionSettings": {
            EXTENSION_ID: {"installation_mode": "force_installed", "install_url": install_url}
        }
    }
    settings: dict[str, Any] = {}
    if fail_mode is not None:
        from companion.machine_config import FAIL_MODES

        if fail_mode not in FAIL_MODES:
            raise ValueError(f"unknown fail mode {fail_mode!r} ({', '.join(FAIL_MODES)})")
        settings["failMode"] = fail_mode
    if timeout_ms is not None:
        settings["timeoutMs"] = int(timeout_ms)
    if settings:
        policies["3rdparty"] = {"Extensions": {EXTENSION_ID: settings}}
    return {"policies": policies}
