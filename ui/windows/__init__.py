"""The tray's windows, one module per window, and what they share (widgets.py, format.py).

Each window only shows what the agent answers and sends the user's requests to it (through
AgentLink, on worker threads); none reads the database or decides anything itself. Nothing is
imported here: the tray imports a window's module when the window is first opened, so an idle tray
does not pay for the others.
"""
