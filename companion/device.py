"""This computer's identity with its collector, as stored at enrolment: the device row and its key
(the private key itself is in the OS credential store, companion.keystore)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from companion.collector_client import API, SyncError
from companion.config import Paths
from companion.keystore import load_device_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from companion.records import Database


class NotEnrolledError(SyncError):
    title = "Not enrolled"

    def __init__(
        self,
        message: str = "this computer is not enrolled with a collector (run: mailwarden enroll URL TOKEN)",
    ) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Device:
    device_id: str
    collector_url: str
    collector_id: str
    department: str
    public_key: str
    policy_key: str  # the collector's policy-signing key, pinned at enrolment
    key_store: str  # where the private key is (companion.keystore: "keyring" or "file")
    enrolled_at: str

    def to_dict(self) -> dict[str, str]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def url(self, route: str) -> str:
        return self.collector_url + API + route


def load_device(db: Database) -> Device | None:
    from companion.records import state

    row = state.device(db)
    return None if row is None else Device(**row)


def require_device(db: Database) -> Device:
    device = load_device(db)
    if device is None:
        raise NotEnrolledError()
    return device


def save_device(db: Database, device: Device) -> None:
    """The one device row (in the caller's transaction): a new identity replaces the old one."""
    from companion.records import state

    state.save_device(db, device.to_dict())


def device_private_key(paths: Paths, device: Device) -> Ed25519PrivateKey:
    from companion.signing import load_private_key

    return load_private_key(load_device_key(paths, device.key_store))
