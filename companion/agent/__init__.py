"""The Mailwarden agent: one background process per user that watches the mail stores, scans what
changes, and answers the tray, the CLI and the mail-client hooks over a local HTTP API.

Layers (each usable alone): `api.MailwardenAPI` (plain data in and out) <- `server` (thin HTTP
routes on 127.0.0.1) <- `client.AgentClient` (the same calls over HTTP); `watcher.Watcher` feeds
scans; `service.run_agent` ties them together. Nothing heavy is imported here, so the CLI can
import the client without paying for the scanner.
"""

API_VERSION = 1  # bumped only for incompatible changes; see docs/api.md
AGENT_FILE = "agent.json"  # port, token and pid of the running agent, in the data directory
LOCK_FILE = "agent.lock"  # held while an agent runs: one agent per user
LOG_FILE = "agent.log"
