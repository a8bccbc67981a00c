"""Thunderbird: find the user's profiles, read prefs.js for accounts, identities and the real
Sent/Drafts folders, and read every mail folder through the mbox and maildir adapters.

Layout (checked on Thunderbird 153): a Thunderbird home holds profiles.ini (and installs.ini, which
names each installation's default profile); a profile holds prefs.js and one directory per server
(`Mail/<server>/`, `ImapMail/<server>/`). A folder is an mbox file beside its `.msf` index, or for
maildir servers a directory with `cur/`; subfolders of `X` live in `X.sbd/`.

A server's directory is its `directory-rel`/`directory` pref. Profiles copied between machines,
older and hand-made ones may lack it (or name a folder of another machine); then it is where
Thunderbird put it when it made the account: the root of the server's type (`Mail`, `ImapMail`,
`News`, or the `mail.root.<type>-rel` pref) joined with the host name, made unique among the
profile's servers the way nsIFile.createUnique does ("imap.gmail.com", then "imap.gmail-1.com").
"""

from __future__ import annotations

import configparser
import dataclasses
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from companion.errors import os_reason
from companion.i18n import Msg, msg
from companion.stores.base import OUTGOING_ROLES, Item, StoreState, folder_role
from companion.stores.mbox import Maildir, MboxFile

log = logging.getLogger(__name__)

PrefValue = str | int | bool

# Thunderbird's own names for its special folders (base.folder_role knows most, in more languages).
SPECIAL_FOLDERS = {
    "inbox": "inbox",
    "sent": "sent",
    "drafts": "drafts",
    "trash": "trash",
    "junk": "junk",
    "templates": "templates",
    "archives": "archives",
    "unsent messages": "outbox",
}
# Per-identity prefs naming the folder Thunderbird really uses for a role.
IDENTITY_FOLDER_PREFS = {
    "fcc_folder": "sent",
    "draft_folder": "drafts",
    "archive_folder": "archives",
    "stationery_folder": "templates",
}
# Files in a server directory that are never folders (indexes, filters, logs, caches).
SKIP_SUFFIXES = frozenset(
    {
        ".msf",
        ".dat",
        ".json",
        ".html",
        ".sqlite",
        ".sqlite-wal",
        ".sqlite-shm",
        ".sqlite-journal",
        ".log",
        ".tmp",
        ".mab",
    }
)
SKIP_PREFIXES = ("nstmp",)  # compaction writes nstmp, then renames it over the folder
MAILDIR_CONTRACT = "@mozilla.org/msgstore/maildirstore;1"
SERVER_ROOTS = ("Mail", "ImapMail")
# Server type -> (the mail.root.<name>-rel / mail.root.<name> prefs, else this folder of the profile):
# each protocol's defaultLocalPath in Thunderbird's mailnews/ (rss has no pref of its own).
TYPE_ROOTS: dict[str, tuple[str | None, str]] = {
    "none": ("none", "Mail"),  # Local Folders
    "pop3": ("pop3", "Mail"),
    "movemail": ("movemail", "Mail"),
    "rss": (None, "Mail"),
    "ews": ("ews", "Mail"),
    "imap": ("imap", "ImapMail"),
    "nntp": ("nntp", "News"),
}
# What reading an ini file can raise (configparser.Error is not a ValueError).
INI_ERRORS = (OSError, configparser.Error)


# -- profiles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    path: Path
    name: str
    identities: tuple[str, ...]
    is_default: bool


def thunderbird_homes(*, env: Mapping[str, str], home: Path, platform: str) -> list[Path]:
    """Where Thunderbird keeps profiles.ini on this platform (existing or not)."""
    if platform.startswith("win") or platform == "cygwin":
        appdata = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
        homes = [appdata / "Thunderbird"]
        local = env.get("LOCALAPPDATA")
        if local:  # Microsoft Store (MSIX) build: AppData writes are redirected into the package
            homes += sorted(Path(local).glob("Packages/*Thunderbird*/LocalCache/Roaming/Thunderbird"))
        return homes
    if platform == "darwin":
        return [home / "Library" / "Thunderbird"]
    return [
        home / ".thunderbird",
        home / ".var" / "app" / "org.mozilla.Thunderbird" / ".thunderbird",  # flatpak
        home / "snap" / "thunderbird" / "common" / ".thunderbird",  # snap
    ]


def discover_profiles(*, env: Mapping[str, str], home: Path, platform: str) -> list[Profile]:
    """Every existing Thunderbird profile of this user. A broken profiles.ini is logged and skipped."""
    found: dict[Path, Profile] = {}
    for tb_home in thunderbird_homes(env=env, home=home, platform=platform):
        if not (tb_home / "profiles.ini").is_file():
            continue
        try:
            profiles = read_profiles(tb_home)
        except INI_ERRORS as exc:
            log.warning("Thunderbird profiles in %s cannot be read: %s", tb_home, exc)
            continue
        for profile in profiles:
            found.setdefault(profile.path.resolve(), profile)
    return list(found.values())


def read_profiles(tb_home: Path) -> list[Profile]:
    """The existing profiles listed in `tb_home`/profiles.ini. Raises one of INI_ERRORS when
    profiles.ini cannot be read or parsed."""
    ini = _read_ini(tb_home / "profiles.ini")
    listed: list[tuple[Path, str, bool]] = []
    for section in ini.sections():
        if not section.lower().startswith("profile") or "path" not in ini[section]:
            continue
        entry = ini[section]
        relative = {"1": True, "0": False}.get(entry.get("isrelative", "").strip())
        path = _ini_path(tb_home, entry["path"], relative)
        listed.append((path, entry.get("name", path.name), entry.get("default", "").strip() == "1"))
    install_defaults = _install_defaults(tb_home, ini)
    use_installs = any(path in install_defaults for path, _, _ in listed)
    profiles = []
    for path, name, legacy_default in listed:
        if not path.is_dir():
            continue  # listed but deleted or on an unplugged drive
        is_default = path in install_defaults if use_installs else legacy_default
        profiles.append(Profile(path, name, read_prefs(path).identities, is_default))
    return profiles


def _read_ini(path: Path) -> configparser.ConfigParser:
    # No interpolation: "%" is legal in paths. strict=False: tolerate a repeated key or section.
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.read_string(path.read_text(encoding="utf-8", errors="replace"), source=str(path))
    return ini


def _install_defaults(tb_home: Path, profiles_ini: configparser.ConfigParser) -> set[Path]:
    """Default profiles of each installation: installs.ini, and [Install…] sections of profiles.ini."""
    sections = [profiles_ini[s] for s in profiles_ini.sections() if s.lower().startswith("install")]
    installs = tb_home / "installs.ini"
    if installs.is_file():
        try:
            ini = _read_ini(installs)
            sections += [ini[s] for s in ini.sections()]
        except INI_ERRORS as exc:  # only loses which profile is the default
            log.warning("%s cannot be read: %s", installs, exc)
    return {_ini_path(tb_home, s["default"], None) for s in sections if s.get("default", "").strip()}


def _ini_path(tb_home: Path, raw: str, relative: bool | None) -> Path:
    """A profile path from an ini file: relative ones use / (or \\ when hand-edited) under the home."""
    raw = raw.strip()
    if relative is None:
        relative = not (raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw))
    if relative:
        return tb_home.joinpath(*[part for part in re.split(r"[\\/]", raw) if part])
    return Path(raw)


# -- prefs.js ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    key: str  # "server2"
    type: str  # none (Local Folders), pop3, imap, …
    hostname: str
    username: str
    name: str  # the account name the user sees
    directory: Path | None
    maildir: bool
    identities: tuple[str, ...] = ()  # addresses of the identities of its account
    derived: bool = False  # directory found from the type and host name, not named by prefs.js

    @property
    def label(self) -> str:
        return self.name or self.hostname or (self.directory.name if self.directory else self.key)


@dataclass(frozen=True)
class Prefs:
    values: Mapping[str, PrefValue] = field(default_factory=dict)
    identities: tuple[str, ...] = ()  # the user's own addresses, lower case
    servers: tuple[Server, ...] = ()  # of the configured accounts (all servers if none is)
    # Folder URI (from the identities' fcc/draft/archive prefs) -> role.
    folder_uris: Mapping[str, str] = field(default_factory=dict)
    default_account: str = ""
    error: Msg | None = None  # why prefs.js could not be read

    def roles_for(self, server: Server) -> dict[str, str]:
        """Folder path (lower case, "/"-separated) -> role, for the special folders on `server`."""
        roles: dict[str, str] = {}
        for uri, role in self.folder_uris.items():
            user, host, folder = parse_folder_uri(uri)
            if host == server.hostname.lower() and user in (server.username.lower(), ""):
                roles.setdefault(folder.lower(), role)
        return roles


_USER_PREF = re.compile(
    r'^\s*user_pref\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*("(?:[^"\\]|\\.)*"|-?\d+|true|false)\s*\)\s*;', re.MULTILINE
)
_JS_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_JS_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def _js_unescape(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        esc = m.group(1)
        if len(esc) > 1:
            return chr(int(esc[1:], 16))
        return _JS_SIMPLE.get(esc, esc)

    # \uD83D\uDE00 pairs become one character; a lone surrogate becomes U+FFFD.
    return _JS_ESCAPE.sub(one, text).encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def parse_prefs(text: str) -> dict[str, PrefValue]:
    """The user_pref("key", value); lines of a prefs.js (later lines win, as in Thunderbird)."""
    values: dict[str, PrefValue] = {}
    for m in _USER_PREF.finditer(text):
        raw = m.group(2)
        if raw.startswith('"'):
            value: PrefValue = _js_unescape(raw[1:-1])
        elif raw in ("true", "false"):
            value = raw == "true"
        else:
            value = int(raw)
        values[_js_unescape(m.group(1))] = value
    return values


def read_prefs(profile: Path) -> Prefs:
    """The mail settings of a profile (prefs.js, then user.js which overrides it at startup).
    Never raises: a missing prefs.js gives empty Prefs, an unreadable one sets `error`."""
    values: dict[str, PrefValue] = {}
    for name in ("prefs.js", "user.js"):
        path = profile / name
        try:
            values.update(parse_prefs(path.read_text(encoding="utf-8", errors="replace")))
        except FileNotFoundError:
            continue
        except OSError as exc:
            return Prefs(error=msg("error.cannot_read", source=str(path), reason=os_reason(exc)))
    return prefs_from_values(values, profile)


def prefs_from_values(values: Mapping[str, PrefValue], profile: Path) -> Prefs:
    identities = _numbered(values, "mail.identity.")
    addresses = _unique(
        str(values.get(f"mail.identity.{i}.useremail", "")).strip().lower() for i in identities
    )
    folder_uris: dict[str, str] = {}
    for ident in identities:
        for pref, role in IDENTITY_FOLDER_PREFS.items():
            uri = values.get(f"mail.identity.{ident}.{pref}")
            if isinstance(uri, str) and uri:
                folder_uris.setdefault(uri, role)
    default = values.get("mail.accountmanager.defaultaccount", values.get("mail.accounts.default", ""))
    return Prefs(dict(values), addresses, _servers(values, profile), folder_uris, str(default))


def _servers(values: Mapping[str, PrefValue], profile: Path) -> tuple[Server, ...]:
    """Servers of the accounts in mail.accountmanager.accounts (others are leftovers of deleted
    accounts, which Thunderbird ignores); every server when no account is configured."""
    listed = [a.strip() for a in str(values.get("mail.accountmanager.accounts", "")).split(",") if a.strip()]
    accounts = listed or _numbered(values, "mail.account.")
    owners: dict[str, tuple[str, ...]] = {}
    for account in accounts:
        server = str(values.get(f"mail.account.{account}.server", "")).strip()
        ids = [i.strip() for i in str(values.get(f"mail.account.{account}.identities", "")).split(",")]
        emails = (str(values.get(f"mail.identity.{i}.useremail", "")).strip().lower() for i in ids if i)
        if server:
            owners[server] = _unique(emails)
    keys = list(owners) or _numbered(values, "mail.server.")
    servers = [_server(values, key, profile, owners.get(key, ())) for key in keys]
    return _with_default_directories(servers, values, profile)


def _server(values: Mapping[str, PrefValue], key: str, profile: Path, identities: tuple[str, ...]) -> Server:
    def pref(name: str) -> str:
        return str(values.get(f"mail.server.{key}.{name}", ""))

    return Server(
        key=key,
        type=pref("type"),
        hostname=pref("hostname"),
        username=pref("userName"),
        name=pref("name"),
        directory=_server_directory(pref("directory-rel"), pref("directory"), profile),
        maildir=pref("storeContractID") == MAILDIR_CONTRACT,
        identities=identities,
    )


def _server_directory(rel: str, absolute: str, profile: Path) -> Path | None:
    # directory-rel survives a moved profile; directory is the absolute path Thunderbird last used.
    if rel.startswith("[ProfD]"):
        candidate = profile.joinpath(*[p for p in re.split(r"[\\/]", rel[len("[ProfD]") :]) if p])
        if candidate.is_dir() or not absolute:
            return candidate
    return Path(absolute) if absolute else None


def _with_default_directories(
    servers: list[Server], values: Mapping[str, PrefValue], profile: Path
) -> tuple[Server, ...]:
    """Servers whose pref names no existing directory get the one Thunderbird made for them: the
    first of host, host-1, host-2… (createUnique's names) not taken by another server. Unlike
    Thunderbird, which is making a new folder, a name that exists on disk is not skipped: that
    folder is the one holding this server's mail."""
    taken = {_path_key(s.directory) for s in servers if s.directory is not None and s.directory.is_dir()}
    found: dict[str, Server] = {}
    for server in sorted(servers, key=lambda s: _key_order(s.key)):  # the order accounts were made
        if server.directory is not None and server.directory.is_dir():
            continue
        base = _default_location(server, values, profile)
        if base is None:
            continue
        directory = next((d for d in _unique_names(base) if _path_key(d) not in taken), None)
        if directory is None:
            continue
        taken.add(_path_key(directory))
        found[server.key] = dataclasses.replace(server, directory=directory, derived=True)
    return tuple(found.get(s.key, s) for s in servers)


def _default_location(server: Server, values: Mapping[str, PrefValue], profile: Path) -> Path | None:
    """<root of the server's type>/<host name>, before createUnique; None when Thunderbird could not
    make one either (an unknown type, no host name, a host name that is not one folder name)."""
    if (
        server.type not in TYPE_ROOTS
        or server.hostname in ("", ".", "..")
        or re.search(r"[\\/]", server.hostname)
    ):
        return None
    pref, default = TYPE_ROOTS[server.type]
    root = None
    if pref is not None:
        root = _server_directory(
            str(values.get(f"mail.root.{pref}-rel", "")), str(values.get(f"mail.root.{pref}", "")), profile
        )
    if root is None or not root.is_dir():
        root = profile / default
    return root / server.hostname


def _unique_names(path: Path) -> Iterator[Path]:
    """nsIFile.createUnique's candidates: "imap.gmail.com", "imap.gmail-1.com", … (the number goes
    before the last dot), "Local Folders", "Local Folders-1", …"""
    yield path
    stem, dot, suffix = path.name.rpartition(".")
    if not dot:
        stem, suffix = path.name, ""
    else:
        suffix = "." + suffix
    for n in range(1, 10000):  # Thunderbird's own limit
        yield path.with_name(f"{stem}-{n}{suffix}")


def _path_key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _key_order(key: str) -> tuple[int, str]:
    return int(re.sub(r"\D", "", key) or 0), key


def _numbered(values: Mapping[str, PrefValue], prefix: str) -> list[str]:
    """The keys N of prefix.N.* prefs (id1, server2, account3), in numeric order."""
    keys = _unique(k[len(prefix) :].split(".", 1)[0] for k in values if k.startswith(prefix))
    keys = tuple(k for k in keys if k != "default")  # mail.server.default.*: settings for all servers
    return sorted(keys, key=_key_order)


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i for i in items if i))


def parse_folder_uri(uri: str) -> tuple[str, str, str]:
    """(user, host, folder path) of "mailbox://nobody@Local%20Folders/Inbox/Clients" or
    "imap://me%40corp.example@imap.corp.example/Sent", user and host lower case."""
    parts = urlsplit(uri)
    user, _, host = parts.netloc.rpartition("@")
    return unquote(user).lower(), unquote(host).lower(), unquote(parts.path).strip("/")


# -- folders -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Folder:
    path: Path
    name: str  # "Inbox/Clients"
    role: str | None
    account: str
    maildir: bool

    @property
    def direction(self) -> str:
        return "sent" if self.role in OUTGOING_ROLES else "received"

    def store(self) -> MboxFile | Maildir:
        kind = Maildir if self.maildir else MboxFile
        return kind(self.path, folder=self.name, direction=self.direction, account=self.account)


def special_role(leaf: str) -> str | None:
    return folder_role(leaf) or SPECIAL_FOLDERS.get(leaf.strip().lower())


class _ServerWalk:
    """The folders under one server directory, with their roles."""

    def __init__(self, directory: Path, account: str, uri_roles: Mapping[str, str]) -> None:
        self.directory = directory
        self.account = account
        self.uri_roles = uri_roles

    def role(self, name: str, inherited: str | None) -> str | None:
        by_name = special_role(name.rpartition("/")[2])
        by_uri = self.uri_roles.get(name.lower())
        # An fcc pointed at the Inbox must not make received mail "sent".
        if by_uri and by_name != "inbox":
            return by_uri
        # A folder of no special kind inside Sent (Sent/2025) holds what Sent holds.
        return by_name or inherited

    def folders(self) -> Iterator[Folder | Item]:
        yield from self._walk(self.directory, "", None)

    def _walk(self, directory: Path, prefix: str, parent_role: str | None) -> Iterator[Folder | Item]:
        try:
            entries = sorted(directory.iterdir())
        except OSError as exc:
            yield Item(
                str(directory), error=msg("error.cannot_list", source=str(directory), reason=os_reason(exc))
            )
            return
        for entry in entries:
            if entry.name.endswith(".sbd") and entry.is_dir():
                parent = prefix + entry.name[: -len(".sbd")]
                yield from self._walk(entry, parent + "/", self.role(parent, parent_role))
            elif entry.is_dir():
                if (entry / "cur").is_dir():  # maildir store: <Folder>/cur/
                    yield self._folder(entry, prefix + entry.name, parent_role, maildir=True)
            elif _may_be_mbox(entry):
                try:
                    is_mbox = _starts_like_mbox(entry)
                except OSError as exc:
                    yield Item(
                        str(entry),
                        error=msg("error.cannot_read", source=prefix + entry.name, reason=os_reason(exc)),
                    )
                    continue
                if is_mbox:  # else some other file (a backup, a note): not a folder
                    yield self._folder(entry, prefix + entry.name, parent_role, maildir=False)

    def _folder(self, path: Path, name: str, parent_role: str | None, *, maildir: bool) -> Folder:
        return Folder(path, name, self.role(name, parent_role), self.account, maildir)


def _may_be_mbox(path: Path) -> bool:
    name = path.name.lower()
    if path.suffix.lower() in SKIP_SUFFIXES or name.startswith(SKIP_PREFIXES):
        return False
    try:
        return path.is_file() and path.stat().st_size > 0  # an empty folder has no mail to read
    except OSError:
        return False


def _starts_like_mbox(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(5) == b"From "


# -- adapters ------------------------------------------------------------------------------------


class ThunderbirdProfile:
    """One profile: every folder of every account, with the folder's role deciding direction and
    the profile's identities making the user's own mail "sent"."""

    name: ClassVar[str] = "Thunderbird profile"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        # A bare Mail/ folder is not enough (an export could hold one): Thunderbird's has .msf indexes.
        return path.is_dir() and ((path / "prefs.js").is_file() or _has_msf_indexes(path))

    @cached_property
    def prefs(self) -> Prefs:
        return read_prefs(self.path)

    @property
    def identities(self) -> tuple[str, ...]:
        return self.prefs.identities

    def server_walks(self) -> list[_ServerWalk]:
        walks = [
            _ServerWalk(server.directory, server.label, self.prefs.roles_for(server))
            for server in self.prefs.servers
            if server.directory is not None and server.directory.is_dir()
        ]
        if walks or self.prefs.servers:
            return walks
        # No accounts in prefs.js (missing or unreadable): every server directory there is.
        return [_ServerWalk(d, d.name, {}) for d in self.server_directories()]

    def server_directories(self) -> list[Path]:
        """Every directory under Mail/ and ImapMail/, whether an account of prefs.js names it or not."""
        return [
            d
            for root in SERVER_ROOTS
            if (self.path / root).is_dir()
            for d in sorted((self.path / root).iterdir())
            if d.is_dir()
        ]

    def folders(self) -> list[Folder]:
        return [f for walk in self.server_walks() for f in walk.folders() if isinstance(f, Folder)]

    def items(self, state: StoreState) -> Iterator[Item]:
        if self.prefs.error:
            yield Item(str(self.path / "prefs.js"), error=self.prefs.error)
        try:
            walks = self.server_walks()
        except OSError as exc:
            yield Item(
                str(self.path), error=msg("error.cannot_list", source=str(self.path), reason=os_reason(exc))
            )
            return
        own = frozenset(self.identities)
        read_any = False
        for walk in walks:
            for entry in walk.folders():
                if isinstance(entry, Item):
                    yield entry
                else:
                    read_any = True
                    yield from _folder_items(entry, state, own)
        if not read_any:
            yield from self._unread_mail_folders()

    def _unread_mail_folders(self) -> Iterator[Item]:
        """An error naming the server directories that hold mail folders when no account's folder
        was read: the profile has mail, and a scan that says "0 messages" would hide it."""
        try:
            holding = [
                d
                for d in self.server_directories()
                if any(isinstance(f, Folder) for f in _ServerWalk(d, d.name, {}).folders())
            ]
        except OSError:
            return  # the profile cannot even be listed: the walks above said so
        if holding:
            names = ", ".join(f"'{d.relative_to(self.path).as_posix()}'" for d in holding)
            yield Item(str(self.path), error=msg("error.thunderbird.no_account_folders", folders=names))


def _has_msf_indexes(profile: Path) -> bool:
    return any(next(profile.glob(f"{root}/*/*.msf"), None) is not None for root in SERVER_ROOTS)


def _folder_items(folder: Folder, state: StoreState, identities: frozenset[str]) -> Iterator[Item]:
    try:
        for item in folder.store().items(state):
            yield _as_own(item, identities)
    except OSError as exc:  # e.g. removed or locked between listing and reading
        yield Item(
            str(folder.path), error=msg("error.cannot_read", source=folder.name, reason=os_reason(exc))
        )


def _as_own(item: Item, identities: frozenset[str]) -> Item:
    """Mail from one of the profile's own addresses is sent mail, whatever folder it sits in."""
    message = item.message
    if message is None or message.direction == "sent" or not message.sender:
        return item
    if message.sender.address.lower() not in identities:
        return item
    return dataclasses.replace(item, message=dataclasses.replace(message, direction="sent"))


class ThunderbirdHome:
    """A Thunderbird home (the folder holding profiles.ini): every profile listed in it."""

    name: ClassVar[str] = "Thunderbird"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        return path.is_dir() and (path / "profiles.ini").is_file()

    def profiles(self) -> list[Profile]:
        return read_profiles(self.path)

    @property
    def identities(self) -> tuple[str, ...]:
        try:
            return _unique(i for p in self.profiles() for i in p.identities)
        except INI_ERRORS:
            return ()

    def items(self, state: StoreState) -> Iterator[Item]:
        try:
            profiles = self.profiles()
        except INI_ERRORS as exc:
            yield Item(
                str(self.path / "profiles.ini"), error=msg("error.thunderbird.profiles_ini", detail=str(exc))
            )
            return
        for profile in profiles:
            yield from ThunderbirdProfile(profile.path).items(state)
