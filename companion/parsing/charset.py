"""Turn bytes of unknown or doubtful encoding into text, never raising.

Mail in the wild often declares the wrong charset: GBK text labelled iso-8859-1, UTF-8 labelled us-ascii,
GB2312 labels on text using GBK-only characters. We honour the label when the bytes agree with it (using the
superset codec real clients actually write), and otherwise guess, recording a defect that names the problem.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

# Labels Python's codec registry does not know, mapped to one it does.
_ALIASES: dict[str, str] = {
    "x-gbk": "gbk",
    "windows-936": "gbk",
    "csgb2312": "gb2312",
    "gb_2312-80": "gb2312",
    "x-gb2312": "gb2312",
    "cn-gb": "gb2312",
    "x-euc-cn": "gb2312",
    "cn-big5": "big5",
    "x-x-big5": "big5",
    "csbig5": "big5",
    "windows-950": "cp950",
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "x-ms-cp932": "cp932",
    "csshiftjis": "shift_jis",
    "ms_kanji": "shift_jis",
    "x-euc-jp": "euc_jp",
    "windows-949": "cp949",
    "ks_c_5601-1989": "cp949",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
}

# Labels that say nothing about the bytes: treat them as a missing label.
_NON_LABELS = frozenset(
    {"", "unknown-8bit", "x-unknown", "unknown", "default", "8bit", "binary", "x-user-defined"}
)

# Codec (as codecs.lookup names it) -> codecs to try, widest first: clients write GBK under a GB2312 label,
# Microsoft's Big5 / Shift-JIS / Korean variants under the standard names.
_SUPERSETS: dict[str, tuple[str, ...]] = {
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "gb18030": ("gb18030",),
    "big5": ("cp950", "big5hkscs"),
    "cp950": ("cp950", "big5hkscs"),
    "big5hkscs": ("big5hkscs", "cp950"),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "cp932": ("cp932", "shift_jis_2004"),
    "shift_jis_2004": ("shift_jis_2004", "cp932"),
    "shift_jisx0213": ("shift_jisx0213", "cp932"),
    "euc_kr": ("cp949",),
    "cp949": ("cp949",),
    "euc_jp": ("euc_jp", "euc_jis_2004"),
    "iso2022_jp": ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext"),
    "ascii": ("cp1252", "latin-1"),
    "iso8859-1": ("cp1252", "latin-1"),
    "cp1252": ("cp1252", "latin-1"),
}

# Single-byte Latin-script labels: valid UTF-8 under these is UTF-8 (a chance match is implausible).
_LATIN_FAMILY = frozenset(
    {
        "ascii",
        "iso8859-1",
        "cp1252",
        "iso8859-2",
        "iso8859-3",
        "iso8859-4",
        "iso8859-9",
        "iso8859-10",
        "iso8859-13",
        "iso8859-14",
        "iso8859-15",
        "iso8859-16",
        "cp1250",
        "cp1254",
        "cp1257",
        "mac-roman",
    }
)
# The labels mailers put on text when they did not know better: checked before being trusted.
_DEFAULT_LABELS = frozenset({"ascii", "iso8859-1", "cp1252", "iso8859-15"})

# Codecs whose bytes may be pure ASCII while meaning something else (so the ASCII fast path is wrong).
_SEVEN_BIT_PREFIXES = ("iso2022", "utf-7", "utf_7", "hz", "utf-16", "utf-32", "utf_16", "utf_32")

# What the detector may choose from: the encodings mail actually uses. Unrestricted, charset-normalizer
# happily reports UTF-16 or Thai for a few bytes of Chinese.
_DETECT_CANDIDATES = [
    "utf_8",
    "gb18030",
    "big5",
    "cp950",
    "big5hkscs",
    "cp932",
    "euc_jp",
    "cp949",
    "cp1252",
    "cp1250",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
    "cp1257",
    "cp874",
]

# For short text the detector is unreliable; try these in order (our users mostly write Chinese).
_SHORT_GUESSES = ("gb2312", "cp950", "cp932", "gb18030", "cp949")
_SHORT_LIMIT = 48  # non-ASCII bytes below which the detector is not trusted

_LONG_HIGH_RUN = re.compile(rb"[\x80-\xff]{3,}")
_HIGH = re.compile(rb"[\x80-\xff]")
_SAMPLE = 65536


def _codec_name(label: str) -> str | None:
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):  # ValueError: labels with NUL bytes and other junk
        return None


def _normalise_label(declared: str | None) -> str:
    if not declared:
        return ""
    # RFC 2231 allows "charset*language"; quotes and spaces come from sloppy headers.
    return declared.strip().strip("\"'").split("*", 1)[0].strip().lower()


def _try(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (ValueError, LookupError):  # UnicodeError is a ValueError; LookupError: not a text codec
        return None


def _looks_western(data: bytes) -> bool:
    """True when non-ASCII bytes come alone or in pairs, as accents in Latin-script words do.

    CJK double-byte text (and Cyrillic or Greek words) puts runs of three and more non-ASCII bytes together.
    """
    sample = data[:_SAMPLE]
    high = len(_HIGH.findall(sample))
    if not high:
        return True
    in_long_runs = sum(len(run) for run in _LONG_HIGH_RUN.findall(sample))
    return in_long_runs * 5 <= high


def _plausible(text: str) -> bool:
    """Reject decodings full of private-use, unassigned or control characters (signs of a wrong guess)."""
    bad = total = 0
    for ch in text[:_SAMPLE]:
        if ch < "\x80":
            continue
        total += 1
        cat = unicodedata.category(ch)
        if cat in ("Co", "Cn", "Cs", "Cc") or "\uff61" <= ch <= "\uff9f" or ch == "\ufffd":
            bad += 1
    return total == 0 or bad * 10 <= total


def _guess(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) for bytes that are not UTF-8, or None when nothing fits."""
    if _looks_western(data):
        text = _try(data, "cp1252")
        return (text, "cp1252") if text is not None else (data.decode("latin-1"), "latin-1")
    if len(_HIGH.findall(data[:_SAMPLE])) >= _SHORT_LIMIT:
        import charset_normalizer  # lazy: only needed for doubtful text, and slow to import

        best = charset_normalizer.from_bytes(data, cp_isolation=_DETECT_CANDIDATES).best()
        if best is not None:
            encoding = best.encoding
            for codec in _SUPERSETS.get(_codec_name(encoding) or "", ()) or (encoding,):
                text = _try(data, codec)
                if text is not None and _plausible(text):
                    return text, codec
    for codec in _SHORT_GUESSES:
        text = _try(data, codec)
        if text is not None and _plausible(text):
            if codec == "gb2312":
                # gb2312 is only the strict test for "looks like GB"; decode with the superset.
                return _try(data, "gb18030") or text, "gb18030"
            return text, codec
    return None


def _decode_bom(data: bytes) -> tuple[str, None] | None:
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            text = _try(data[len(bom) :], codec)
            if text is not None:
                return text, None
    return None


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str | None]:
    """Decode `data` declared as `declared` (may be None); return (text, defect or None). Never raises."""
    if not data:
        return "", None
    label = _normalise_label(declared)
    if label in _NON_LABELS:
        label = ""
    codec = _codec_name(label) if label else None
    shown = declared.strip() if declared else ""

    if data.startswith(codecs.BOM_UTF8) or codec is None or codec.startswith(("utf-16", "utf-32")):
        bom = _decode_bom(data)
        if bom is not None:
            return bom

    if codec and codec.startswith(_SEVEN_BIT_PREFIXES):
        for candidate in _SUPERSETS.get(codec, (codec,)):
            text = _try(data, candidate)
            # Even-length bytes always "decode" as UTF-16: check the result looks like text.
            if text is not None and _plausible(text):
                return text, None
    elif data.isascii():
        # Fast path for the common case; ESC suggests unlabelled ISO-2022-JP.
        if b"\x1b$" in data and not codec:
            text = _try(data, "iso2022_jp_ext")
            if text is not None:
                return text, None
        return data.decode("ascii"), None

    utf8 = _try(data, "utf-8")
    if utf8 is not None:
        if codec == "utf-8" or not label:
            return utf8, None
        if codec is None:
            return utf8, f"charset: unknown charset {shown!r}; decoded as utf-8"
        # Valid UTF-8 under another label: certain for Latin labels, and for others once there are
        # enough non-ASCII bytes that a chance match is out of the question.
        if codec in _LATIN_FAMILY or len(_HIGH.findall(data[:256])) >= 8:
            return utf8, f"charset: declared {shown!r} but the text is UTF-8"
    else:
        if codec in (None, "utf-8"):
            # Mostly UTF-8 with a few bad bytes (a cut-off message, a corrupt character): keep it UTF-8.
            text = data.decode("utf-8", errors="replace")
            bad = text.count("\ufffd")
            good = len(text) - len(text.encode("ascii", "ignore")) - bad
            if good >= 1 and bad * 20 <= max(good, 20):
                return text, "charset: invalid UTF-8 bytes replaced"
    lied = f"charset: declared {shown!r} but the text is UTF-8"

    problem: str
    if codec is None:
        problem = f"charset: unknown charset {shown!r}" if label else "charset: no charset declared"
    elif codec in _DEFAULT_LABELS:
        if _looks_western(data):
            for candidate in _SUPERSETS.get(codec, (codec,)):
                text = _try(data, candidate)
                if text is not None:
                    return text, None
        problem = f"charset: declared {shown!r} but the text is not {shown}"
    else:
        for candidate in _SUPERSETS.get(codec, (codec,)):
            text = _try(data, candidate)
            if text is not None:
                # Short UTF-8 often decodes under a CJK label, but into private-use junk.
                if utf8 is not None and not _plausible(text):
                    return utf8, lied
                return text, None
        if utf8 is not None:
            return utf8, lied
        problem = f"charset: text is not valid {shown}"

    guessed = _guess(data)
    if guessed is not None:
        text, encoding = guessed
        if codec is None and not label and encoding in ("cp1252", "latin-1"):
            # Unlabelled Western text is everyday mail, not worth a defect.
            return text, None
        return text, f"{problem}; decoded as {encoding}"
    return data.decode("utf-8", errors="replace"), f"{problem}; undecodable bytes replaced"


def preferred_codec(declared: str | None) -> str | None:
    """The Python codec we would decode `declared` text with (its widest superset), or None if unknown."""
    label = _normalise_label(declared)
    codec = _codec_name(label) if label and label not in _NON_LABELS else None
    if codec is None:
        return None
    return _SUPERSETS.get(codec, (codec,))[0]
