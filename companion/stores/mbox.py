"""mbox files (Thunderbird's local folders, exports): messages start at lines beginning "From "."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

from companion.stores.base import Item, SkipFile, is_sent_folder, stamp


def looks_like_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(5) == b"From "
    except OSError:
        return False


def _without_separator(raw: bytes) -> bytes:
    # The blank line before the next "From " line belongs to the mbox, not to the message.
    if raw.endswith(b"\r\n"):
        return raw[:-2]
    return raw[:-1] if raw.endswith(b"\n") else raw


def split_mbox(path: Path) -> Iterator[tuple[int, bytes]]:
    """(offset, raw message) for every message; the last one runs to the end of the file (mbox has
    no terminator)."""
    with path.open("rb") as f:
        start, lines, pos, previous_blank = None, [], 0, True
        for line in f:
            if line.startswith(b"From ") and previous_blank:
                if start is not None:
                    yield start, _without_separator(b"".join(lines))
                start, lines = pos, []
            elif start is not None:
                lines.append(line)
            pos += len(line)
            previous_blank = line in (b"\n", b"\r\n")
        if start is not None:
            yield start, _without_separator(b"".join(lines))


class MboxFile:
    name: ClassVar[str] = "mbox"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        return path.is_file() and path.suffix.lower() not in (".msf", ".eml", ".msg") and looks_like_mbox(path)

    def items(self, skip_file: SkipFile) -> Iterator[Item]:
        from companion.errors import MailwardenError
        from companion.parsing import parse_eml_bytes

        file_stamp = stamp(self.path)
        if skip_file(*file_stamp):
            return
        folder = self.path.name
        direction = "sent" if is_sent_folder(folder) else "received"
        for offset, raw in split_mbox(self.path):
            source = f"{self.path}#{offset}"
            try:
                message = parse_eml_bytes(raw, source=source, direction=direction, folder=folder)
            except MailwardenError as exc:
                yield Item(source, error=exc.message)
            except Exception as exc:  # one bad message must not stop the scan
                yield Item(source, error=f"unexpected error: {type(exc).__name__}: {exc}")
            else:
                yield Item(source, message=message)
        yield Item(str(self.path), file_stamp=file_stamp)


class Maildir:
    name: ClassVar[str] = "maildir"

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def claims(cls, path: Path) -> bool:
        return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()

    def items(self, skip_file: SkipFile) -> Iterator[Item]:
        from companion.stores.files import read_mail_file

        folder = self.path.name.lstrip(".")
        for sub in ("cur", "new"):
            for path in sorted((self.path / sub).iterdir()):
                if path.is_file():
                    yield from read_mail_file(path, skip_file, folder)
