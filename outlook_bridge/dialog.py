"""The pre-send window inside Outlook: the `Dialog` the decision flow asks, and its Windows form.

What the window says is built by `dialog_content()` (pure, tested on any system) in the user's
language (companion.i18n.system_language: Simplified Chinese or English). The Windows window itself
(`WindowsDialog`) uses the standard library's tkinter, imported only when a window is shown, never
when this module is imported; if Tk cannot start it falls back to a native MessageBox (which can
offer "add the approver" but not a justification). See docs/outlook.md for why tkinter.

The window is modal for the whole Outlook UI thread: the thread's other top-level windows are
disabled while it is open (like a task-modal message box), so no second Send can start under it.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any

from outlook_bridge.decision import Dialog, WarnAnswer

log = logging.getLogger(__name__)

PART = "outlook"  # the window's keys in the product's catalogue (companion.i18n): "outlook.title", …


def text(key: str, lang: str, **values: object) -> str:
    from companion.i18n import t_part

    return t_part(PART, key, "zh" if lang == "zh" else "en", **values)


def has_text(key: str) -> bool:
    from companion.i18n import lookup

    return lookup(f"{PART}.{key}", "en") is not None or lookup(key, "en") is not None


@dataclass(frozen=True)
class FindingLine:
    heading: str  # tier · category · where
    before: str  # the sentence around the match, split so the match can be highlighted
    match: str
    after: str
    explanation: str


def _field_label(field: dict[str, str], lang: str) -> str:
    kind, name = field.get("kind", ""), field.get("name", "")
    if kind in ("attachment", "attachment_name"):
        return text(f"field.{kind}", lang, name=name)
    key = f"field.{kind}"
    return text(key, lang) if has_text(key) else kind


def _flat(s: str) -> str:
    return s.replace("\r", " ").replace("\n", " ")


def dialog_content(view: dict[str, Any], mode: str, lang: str) -> dict[str, Any]:
    """Everything the window shows for `view` (companion.presend.view: every label in both
    languages), in `lang`."""
    labels = view.get("labels", {})
    lines = []
    for f in view["findings"]:
        category = labels.get("categories", {}).get(f["category"], {}).get(lang, f["category"])
        tier = labels.get("tiers", {}).get(f["tier"], {}).get(lang, f["tier"])
        heading = f"{tier} · {category} · {_field_label(f['field'], lang)}"
        s = f["sentence"]
        lines.append(
            FindingLine(
                heading,
                _flat(s["text"][: s["start"]]),
                _flat(s["text"][s["start"] : s["end"]]),
                _flat(s["text"][s["end"] :]),
                f["explanation"]["zh" if lang == "zh" else "en"],
            )
        )
    approvers = view.get("approvers", [])
    sep = "、" if lang == "zh" else ", "
    return {
        "mode": mode,
        "title": text("title", lang),
        "header": text("block_header" if mode == "block" else "warn_header", lang),
        "findings": lines,
        "approvers": approvers,
        "approvers_line": text("approvers", lang, addresses=sep.join(approvers))
        if approvers
        else text("no_approvers", lang),
        "hint": text("block_hint", lang) if mode == "block" else "",
        "justification_label": text("justification", lang),
        "buttons": {
            "edit": text("back" if mode == "block" else "edit", lang),
            "add_approver": text("add_approver", lang),
            "justify": text("justify", lang),
        },
        "box_add": text("box_add", lang, addresses=sep.join(approvers)),
        "box_edit": text("box_edit", lang),
        "lang": lang,
    }


def unchecked_text(mode: str, reason: str, lang: str) -> str:
    """What the sender reads when the check could not run: `mode` "ask" (a yes/no question) or
    "closed" (the mail is held). The technical `reason` is for IT: it is recorded with the
    decision (and logged), not shown to the sender in words they cannot act on."""
    return text("unchecked", lang) + "\n\n" + text(f"unchecked_{mode}", lang)


def plain_summary(content: dict[str, Any]) -> str:
    """The findings as plain text (for the message-box fallback), the match marked »like this«."""
    parts = [content["header"], ""]
    for line in content["findings"]:
        parts += [line.heading, f"  …{line.before}»{line.match}«{line.after}…", f"  {line.explanation}", ""]
    return "\n".join(parts)


class WindowsDialog:
    """The Windows pre-send window (a `Dialog`). Nothing Windows-only is imported before use."""

    def __init__(self, lang: str | None = None) -> None:
        self.lang = lang

    def _content(self, view: dict[str, Any], mode: str) -> dict[str, Any]:
        from companion.i18n import system_language

        return dialog_content(view, mode, self.lang or system_language())

    def ask_warn(self, view: dict[str, Any]) -> WarnAnswer:
        content = self._content(view, "warn")
        try:
            return _tk_window(content)
        except _TkUnavailable as exc:
            log.warning("tkinter unavailable (%s): falling back to a message box", exc)
            return _message_box(content)

    def ask_unchecked(self, reason: str) -> bool:
        return _unchecked_box("ask", reason, self._lang())

    def show_unchecked(self, reason: str) -> None:
        _unchecked_box("closed", reason, self._lang())

    def _lang(self) -> str:
        from companion.i18n import system_language

        return self.lang or system_language()

    def show_block(self, view: dict[str, Any]) -> None:
        content = self._content(view, "block")
        try:
            _tk_window(content)
        except _TkUnavailable as exc:
            log.warning("tkinter unavailable (%s): falling back to a message box", exc)
            _message_box(content)


def default_dialog() -> Dialog:
    return WindowsDialog()


# -- the Tk window ---------------------------------------------------------------------------


class _TkUnavailable(Exception):
    pass


_FONTS = ("Microsoft YaHei UI", "Microsoft YaHei", "Segoe UI")  # YaHei UI has both Latin and CJK glyphs


def _tk_window(content: dict[str, Any]) -> WarnAnswer:
    try:
        import tkinter as tk
        from tkinter import font as tkfont
        from tkinter import ttk
    except ImportError as exc:
        raise _TkUnavailable(str(exc)) from None

    owner = _foreground_window_of_this_thread()
    disabled = _disable_thread_windows()  # before our window exists, so it is not among them
    root = None
    try:
        try:
            root = tk.Tk()
        except tk.TclError as exc:  # no Tcl/Tk runtime next to this Python
            raise _TkUnavailable(str(exc)) from None
        return _build_and_run(root, tk, tkfont, ttk, content, owner)
    finally:
        _enable_windows(disabled)  # before ours closes, so activation goes back to Outlook
        if root is not None:
            try:
                root.destroy()
            except Exception:  # noqa: BLE001 - already gone
                pass


def _build_and_run(root, tk, tkfont, ttk, content: dict[str, Any], owner: int | None) -> WarnAnswer:
    warn = content["mode"] == "warn"
    result = {"answer": WarnAnswer.edit()}

    def finish(answer: WarnAnswer) -> None:
        result["answer"] = answer
        root.quit()

    root.withdraw()
    root.title(content["title"])
    families = set(tkfont.families(root))
    family = next((f for f in _FONTS if f in families), "TkDefaultFont")
    normal = tkfont.Font(root, family=family, size=10)
    bold = tkfont.Font(root, family=family, size=10, weight="bold")
    header_font = tkfont.Font(root, family=family, size=11, weight="bold")

    frame = ttk.Frame(root, padding=14)
    frame.grid(sticky="nsew")
    root.columnconfigure(0, weight=1)
    root.rowconfigure(0, weight=1)
    frame.columnconfigure(0, weight=1)
    ttk.Label(
        frame,
        text=content["header"],
        font=header_font,
        wraplength=680,
        foreground="#a40000" if not warn else "#7a4a00",
    ).grid(row=0, column=0, sticky="w")

    box = ttk.Frame(frame)
    box.grid(row=1, column=0, sticky="nsew", pady=(10, 8))
    frame.rowconfigure(1, weight=1)
    listing = tk.Text(
        box,
        wrap="word",
        width=88,
        height=min(18, 4 * len(content["findings"]) + 1),
        font=normal,
        relief="flat",
        borderwidth=0,
        padx=8,
        pady=6,
        background="#fbfbfb",
        cursor="arrow",
    )
    scroll = ttk.Scrollbar(box, orient="vertical", command=listing.yview)
    listing.configure(yscrollcommand=scroll.set)
    listing.grid(row=0, column=0, sticky="nsew")
    scroll.grid(row=0, column=1, sticky="ns")
    box.columnconfigure(0, weight=1)
    box.rowconfigure(0, weight=1)
    listing.tag_configure("heading", font=bold)
    listing.tag_configure("match", font=bold, background="#ffd966", underline=True)
    listing.tag_configure("explanation", foreground="#444444", spacing3=10)
    for line in content["findings"]:
        listing.insert("end", line.heading + "\n", "heading")
        listing.insert("end", "…" + line.before)
        listing.insert("end", line.match, "match")
        listing.insert("end", line.after + "…\n")
        listing.insert("end", line.explanation + "\n", "explanation")
    listing.configure(state="disabled")

    buttons = ttk.Frame(frame)
    row = 2
    if warn:
        ttk.Label(frame, text=content["approvers_line"], font=bold).grid(row=row, column=0, sticky="w")
        ttk.Label(frame, text=content["justification_label"], font=normal).grid(
            row=row + 1, column=0, sticky="w", pady=(8, 2)
        )
        reason = tk.StringVar(root)
        entry = ttk.Entry(frame, textvariable=reason, font=normal)
        entry.grid(row=row + 2, column=0, sticky="ew")
        row += 3
        add = ttk.Button(
            buttons,
            text=content["buttons"]["add_approver"],
            command=lambda: finish(WarnAnswer.add_approver()),
        )
        justify = ttk.Button(
            buttons,
            text=content["buttons"]["justify"],
            command=lambda: finish(WarnAnswer.justify(reason.get().strip())),
        )
        if not content["approvers"]:
            add.state(["disabled"])
        justify.state(["disabled"])
        reason.trace_add(
            "write", lambda *_: justify.state(["!disabled"] if reason.get().strip() else ["disabled"])
        )
        entry.bind(
            "<Return>", lambda _e: reason.get().strip() and finish(WarnAnswer.justify(reason.get().strip()))
        )
    else:
        ttk.Label(frame, text=content["hint"], font=normal).grid(row=row, column=0, sticky="w")
        row += 1
    edit = ttk.Button(buttons, text=content["buttons"]["edit"], command=lambda: finish(WarnAnswer.edit()))
    edit.pack(side="left")
    if warn:
        add.pack(side="left", padx=(8, 0))
        justify.pack(side="left", padx=(8, 0))
    buttons.grid(row=row, column=0, sticky="e", pady=(12, 0))

    root.protocol("WM_DELETE_WINDOW", lambda: finish(WarnAnswer.edit()))
    root.bind("<Escape>", lambda _e: finish(WarnAnswer.edit()))
    root.update_idletasks()
    width, height = root.winfo_reqwidth(), root.winfo_reqheight()
    x = max(0, (root.winfo_screenwidth() - width) // 2)
    y = max(0, (root.winfo_screenheight() - height) // 3)
    root.geometry(f"+{x}+{y}")
    if not (owner and _set_owner(root, owner)):
        root.attributes("-topmost", True)
    root.deiconify()
    root.lift()
    root.focus_force()
    (entry if warn else edit).focus_set()
    root.mainloop()
    return result["answer"]


# -- Win32 helpers (ctypes; every one degrades to doing nothing) -----------------------------


def _user32():
    import ctypes
    from ctypes import wintypes

    user32 = ctypes.WinDLL("user32", use_last_error=True)
    user32.GetForegroundWindow.restype = wintypes.HWND
    user32.GetWindowThreadProcessId.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.DWORD)]
    user32.GetWindowThreadProcessId.restype = wintypes.DWORD
    user32.IsWindowVisible.argtypes = [wintypes.HWND]
    user32.IsWindowVisible.restype = wintypes.BOOL
    user32.IsWindowEnabled.argtypes = [wintypes.HWND]
    user32.IsWindowEnabled.restype = wintypes.BOOL
    user32.EnableWindow.argtypes = [wintypes.HWND, wintypes.BOOL]
    user32.EnableWindow.restype = wintypes.BOOL
    user32.MessageBoxW.argtypes = [wintypes.HWND, wintypes.LPCWSTR, wintypes.LPCWSTR, wintypes.UINT]
    user32.MessageBoxW.restype = ctypes.c_int
    return user32


def _current_thread_id() -> int:
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.GetCurrentThreadId.restype = ctypes.c_ulong
    return int(kernel32.GetCurrentThreadId())


def _foreground_window_of_this_thread() -> int | None:
    """Outlook's window the sender pressed Send in (the inspector, or the main window for an inline
    reply), to own the dialog; None when the foreground window belongs to another thread."""
    if sys.platform != "win32":
        return None
    try:
        user32 = _user32()
        hwnd = user32.GetForegroundWindow()
        if hwnd and user32.GetWindowThreadProcessId(hwnd, None) == _current_thread_id():
            return int(hwnd)
    except Exception:  # noqa: BLE001
        log.debug("no owner window", exc_info=True)
    return None


def _disable_thread_windows() -> list[int]:
    """Disable this thread's visible, enabled top-level windows (Outlook's); returns them."""
    if sys.platform != "win32":
        return []
    try:
        import ctypes
        from ctypes import wintypes

        user32 = _user32()
        proc = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)
        user32.EnumThreadWindows.argtypes = [wintypes.DWORD, proc, wintypes.LPARAM]
        user32.EnumThreadWindows.restype = wintypes.BOOL
        found: list[int] = []

        def collect(hwnd, _lparam):
            if user32.IsWindowVisible(hwnd) and user32.IsWindowEnabled(hwnd):
                found.append(hwnd)
            return True

        user32.EnumThreadWindows(_current_thread_id(), proc(collect), 0)
        for hwnd in found:
            user32.EnableWindow(hwnd, False)
        return found
    except Exception:  # noqa: BLE001 - modality is a comfort, never a reason to fail the check
        log.debug("could not disable Outlook's windows", exc_info=True)
        return []


def _enable_windows(hwnds: list[int]) -> None:
    if not hwnds:
        return
    try:
        user32 = _user32()
        for hwnd in hwnds:
            user32.EnableWindow(hwnd, True)
    except Exception:  # noqa: BLE001
        log.exception("could not enable Outlook's windows again")


def _set_owner(root, owner: int) -> bool:
    """Make Outlook's window own the Tk window (kept above it, minimised with it)."""
    if sys.platform != "win32":
        return False
    try:
        import ctypes

        user32 = ctypes.WinDLL("user32", use_last_error=True)
        setter = getattr(user32, "SetWindowLongPtrW", None) or user32.SetWindowLongW  # 32-bit has no ...Ptr
        setter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_ssize_t]
        setter.restype = ctypes.c_ssize_t
        frame = int(root.wm_frame(), 16)
        setter(frame, -8, owner)  # GWLP_HWNDPARENT: the owner of a top-level window
        return True
    except Exception:  # noqa: BLE001
        log.debug("could not set the dialog's owner", exc_info=True)
        return False


def _unchecked_box(mode: str, reason: str, lang: str) -> bool:
    """A task-modal MessageBox (no Tk: the check may have failed because of it); True for Yes."""
    user32 = _user32()
    mb_taskmodal, mb_yesno, mb_iconwarning, idyes = 0x2000, 0x4, 0x30, 6
    buttons = mb_yesno if mode == "ask" else 0
    answer = user32.MessageBoxW(
        _foreground_window_of_this_thread(),
        unchecked_text(mode, reason, lang),
        text("title", lang),
        buttons | mb_iconwarning | mb_taskmodal,
    )
    return mode == "ask" and answer == idyes


def _message_box(content: dict[str, Any]) -> WarnAnswer:
    """The fallback when Tk cannot run: a task-modal MessageBox."""
    user32 = _user32()
    owner = _foreground_window_of_this_thread()
    mb_taskmodal, mb_yesno, mb_iconwarning, mb_iconstop, idyes = 0x2000, 0x4, 0x30, 0x10, 6
    summary = plain_summary(content)
    if content["mode"] == "warn" and content["approvers"]:
        answer = user32.MessageBoxW(
            owner,
            summary + "\n" + content["box_add"],
            content["title"],
            mb_yesno | mb_iconwarning | mb_taskmodal,
        )
        return WarnAnswer.add_approver() if answer == idyes else WarnAnswer.edit()
    hint = content["hint"] or content["box_edit"]
    icon = mb_iconstop if content["mode"] == "block" else mb_iconwarning
    user32.MessageBoxW(owner, summary + "\n" + hint, content["title"], icon | mb_taskmodal)
    return WarnAnswer.edit()
