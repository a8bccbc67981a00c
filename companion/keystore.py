"""The device's private key: in the OS credential store (Windows Credential Manager, macOS Keychain,
Secret Service) through `keyring`, or, where none works, in a file only the user can read.

The fallback is deliberate and logged, never silent: a keyring backend that is not a real secret
store (keyring's "fail"/"null" backends, keyrings.alt's plaintext or prompting file backends) is
refused rather than used. The key itself is never logged.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from companion.config import Paths
from companion.errors import MailwardenError
from companion.signing import b64url_decode, b64url_encode

log = logging.getLogger(__name__)

SERVICE = "Mailwarden"
KEY_FILE = "device.key"
KEYRING = "keyring"
FILE = "file"

# Backends that are no secret store: they fail, drop the secret, keep it as base64 in a file, or
# ask for a password on a terminal the agent does not have.
_REFUSED_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")


class SecretStoreError(MailwardenError):
    title = "Cannot keep the device key"


@dataclass(frozen=True)
class StoredKey:
    where: str  # KEYRING or FILE
    detail: str  # the keyring backend's name or the file's path (never the key)


def _username(paths: Paths) -> str:
    # One entry per data directory, so two Mailwarden homes (tests, a second profile) never clash.
    digest = hashlib.sha256(str(paths.home.resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"device-key-{digest}"


def _usable_keyring():
    """The keyring backend if it is a real secret store, else None (with the reason logged)."""
    try:
        import keyring
    except ImportError:
        log.warning("the keyring package is not installed: the device key goes to a private file")
        return None
    backend = keyring.get_keyring()
    # A chainer is only as good as the backends behind it.
    behind = (
        list(getattr(backend, "backends", ())) if type(backend).__name__ == "ChainerBackend" else [backend]
    )
    if not behind or any(type(b).__module__.startswith(_REFUSED_MODULES) for b in behind):
        log.warning(
            "no usable OS credential store (keyring backend %s.%s): the device key goes to a"
            " file only this user can read",
            type(backend).__module__,
            type(backend).__name__,
        )
        return None
    return keyring


def store_device_key(paths: Paths, raw: bytes) -> StoredKey:
    """Keep the private key; return where it went (to be recorded next to the device id)."""
    keyring = _usable_keyring()
    if keyring is not None:
        try:
            keyring.set_password(SERVICE, _username(paths), b64url_encode(raw))
            return StoredKey(KEYRING, type(keyring.get_keyring()).__name__)
        except Exception as exc:  # keyring backends raise many types (D-Bus, locked keychain...)
            log.warning(
                "the OS credential store refused the device key (%s): it goes to a file only this"
                " user can read",
                type(exc).__name__,
            )
    path = paths.home / KEY_FILE
    _write_private_file(path, b64url_encode(raw).encode("ascii"))
    log.warning("device key stored in %s (readable by this user only), not in an OS credential store", path)
    return StoredKey(FILE, str(path))


def load_device_key(paths: Paths, where: str) -> bytes:
    """The private key stored by store_device_key (`where` as it returned)."""
    if where == KEYRING:
        try:
            import keyring

            value = keyring.get_password(SERVICE, _username(paths))
        except Exception as exc:
            raise SecretStoreError(
                f"cannot read the device key from the OS credential store: {exc}"
            ) from None
        if not value:
            raise SecretStoreError("the device key is missing from the OS credential store; enrol again")
        return b64url_decode(value)
    path = paths.home / KEY_FILE
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise SecretStoreError(
            f"cannot read the device key file {path}: {exc.strerror or exc}; enrol again"
        ) from None
    if sys.platform != "win32" and stat.S_IMODE(mode) & 0o077:
        log.warning("the device key file %s is readable by others; restricting it to this user", path)
        os.chmod(path, 0o600)
    return b64url_decode(text)


def delete_device_key(paths: Paths, where: str) -> None:
    if where == KEYRING:
        try:
            import keyring

            keyring.delete_password(SERVICE, _username(paths))
        except Exception:
            pass  # already gone or the store is unavailable: nothing to keep secret any more
    else:
        (paths.home / KEY_FILE).unlink(missing_ok=True)


def _write_private_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, created 0600 from the start (never briefly world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
