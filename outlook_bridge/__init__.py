"""Mailwarden inside classic Outlook for Windows: a COM add-in that checks every mail on Send.

    mapping       MailItem (duck-typed COM) -> compose details for companion.presend
    decision      the pure pass / warn / block flow and what to record
    dialog        the pre-send window (tkinter on Windows, imported only when shown)
    addin         the COM class Outlook loads and its ItemSend handler
    registration  the registry rows (HKCU per user, HKLM for the MSI), as plain data
    install       writes / removes the rows (`mailwarden install-outlook`)

Importing this package or any of its modules needs neither pywin32 nor Windows: win32com,
winreg, ctypes.windll and tkinter are imported inside the functions that use them.
"""

from outlook_bridge.registration import CLSID, PROGID

__all__ = ["CLSID", "PROGID"]
