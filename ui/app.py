"""`mailwarden-tray`: the tray app. Talks to the agent only (starting it when it is not running)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from companion.config import paths
    from ui.tray import TrayApp

    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Mailwarden")
    tray = TrayApp(paths().ensure())
    app.setQuitOnLastWindowClosed(tray.tray is None)  # with a tray icon, closing a window leaves the tray
    tray.start()
    if tray.tray is None:  # no system tray on this desktop: the flags window stands in for it
        tray.show_flags()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
