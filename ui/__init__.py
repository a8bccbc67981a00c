"""Mailwarden tray app (PySide6): the employee's view. It holds no business logic."""
