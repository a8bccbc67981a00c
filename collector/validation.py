"""What the collector accepts as input, checked before anything is stored: JSON bodies (UTF-8, at
most MAX_DEPTH levels deep, no lone surrogates, no NaN), text fields (bounded length, no control
characters) and integers (bounded to what both databases store).

One rule on SQLite and PostgreSQL alike: PostgreSQL cannot store NUL in text at all, so every
text field refuses NUL and the other C0 control characters (and DEL) at validation, and SQLite
gets the same answer. Multi-line fields (an appeal's reason, a reviewer's comment, a policy)
keep tab, line feed and carriage return. C1 controls (U+0080–U+009F) are allowed: they come from
mail decoded as Latin-1 instead of Windows-1252 and are harmless to store.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from collector.errors import bad_request

MAX_DEPTH = 32  # the protocol nests 5 levels; a deeper body is an attack on the parsers
INT32_MAX = 2**31 - 1  # the integer columns (PostgreSQL `integer`)
MAX_DAYS = 36_500  # token validity and retention: a century, far inside datetime's range
INT64_MAX = 2**63 - 1  # the widest integer either database binds (SQLite raises OverflowError above)

_CONTROL = re.compile("[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A lone surrogate can only come from a \uD800–\uDFFF escape (the body is strict UTF-8); a pair
# of them is one character after parsing, so the escape only says where to look.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def control_character(text: str, multiline: bool = False) -> str | None:
    """The first character of `text` that a text field refuses (see the module), or None."""
    found = (_CONTROL_BUT_LINES if multiline else _CONTROL).search(text)
    if found is None:
        found = _SURROGATE.search(text)  # form fields and query strings can carry them too
    return found.group() if found else None


def describe(char: str) -> str:
    return f"U+{ord(char):04X}"


def check_text(value: str, what: str, multiline: bool = False) -> str:
    """`value`, or 400 naming the field and the character it may not hold."""
    bad = control_character(value, multiline)
    if bad is not None:
        raise bad_request(f"{what} holds the control character {describe(bad)}")
    return value


def naive_utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def field(
    obj: dict[str, Any],
    name: str,
    kind: type | tuple[type, ...],
    where: str,
    optional: bool = False,
    default: Any = None,
) -> Any:
    if name not in obj:
        if optional:
            return default
        raise bad_request(f"{where}: missing field {name!r}")
    value = obj[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise bad_request(f"{where}: {name!r} has the wrong type")
    if not isinstance(value, kinds):
        raise bad_request(f"{where}: {name!r} has the wrong type")
    return value


def text(
    obj: dict[str, Any],
    name: str,
    where: str,
    max_len: int = 200,
    optional: bool = False,
    multiline: bool = False,
) -> str:
    value = field(obj, name, str, where, optional=optional, default="")
    if len(value) > max_len:
        raise bad_request(f"{where}: {name!r} is longer than {max_len} characters")
    return check_text(value, f"{where}: {name!r}", multiline)


def bounded_int(obj: dict[str, Any], name: str, where: str, low: int, high: int = INT32_MAX) -> int:
    value = field(obj, name, int, where)
    if not low <= value <= high:
        raise bad_request(f"{where}: {name!r} must be from {low} to {high}")
    return value


def days(value: float, what: str, low: float, high: float = MAX_DAYS) -> float:
    """`value`, or 400 unless it is a number of days from `low` to `high` (a longer timedelta
    overflows the date; NaN and infinity are refused too)."""
    if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
        raise bad_request(f"{what} must be a number of days from {low:g} to {high:g}")
    return float(value)


def when(obj: dict[str, Any], name: str, where: str, optional: bool = False) -> datetime | None:
    value = text(obj, name, where, 64, optional=optional)
    if not value and optional:
        return None
    try:
        return naive_utc(datetime.fromisoformat(value))
    except ValueError:
        raise bad_request(f"{where}: {name!r} is not an ISO 8601 date-time") from None
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first representable UTC instant
        raise bad_request(f"{where}: {name!r} is out of the representable range") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400 naming what is wrong with it."""
    try:
        source = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        obj = json.loads(source, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise bad_request(f"the body is not valid JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise bad_request(f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # NaN/Infinity, or an integer of more than 4300 digits
        raise bad_request(f"the body is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise bad_request("the body must be a JSON object")
    if source.count("{") + source.count("[") > MAX_DEPTH:  # only then can it be too deep
        _check_depth(obj)
    if _SURROGATE_ESCAPE.search(source):
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise bad_request(
                f"a string in the body holds a lone surrogate ({describe(exc.object[exc.start])}),"
                " which is not Unicode text"
            ) from None
    return obj


def _check_depth(obj: Any) -> None:
    """Iteratively (a recursive walk is what a deep body attacks)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise bad_request(f"the body is nested more than {MAX_DEPTH} levels deep")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
