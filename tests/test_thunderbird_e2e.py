"""End to end with a real, headless Thunderbird: the shipped extension (built as an .xpi, plus two
test-only hook scripts) judges mails that a test-only driver extension composes and sends to an
SMTP server on 127.0.0.1; the native host is the real companion, installed by
companion.thunderbird_install under a temporary HOME with its data in a temporary MAILWARDEN_HOME.

Three Thunderbird sessions (the fail mode is read from managed storage once per session):
- "open"  (failMode open, 3 s): host missing -> sent unchecked; host stalls -> sent after the time
          limit; then the real host: clean mail with X-Mailwarden, forbidden mail (also in an
          attachment, and in HTML) never sent, warn held until justified, approver added in Cc,
          window closed; then `mailwarden flags` and `mailwarden summary` on what was recorded.
- "closed" (failMode closed, 2 s): host stalls -> not sent; host missing -> not sent.
- "ask"   (defaults: ask, 5 s): host missing -> the sender is asked; "send" sends, "don't" does not.
Each session ends with the real host back, which records the decisions kept while it was away.

Thunderbird is kept off the network by prefs (updates, telemetry, safe browsing, captive portal and
connectivity checks off, remote settings and every HTTP(S) proxy pointed at a dead loopback port);
the only servers are on 127.0.0.1. Thunderbird's own modal questions at send time (attachment
reminder, spell check) are turned off: headless, nobody answers them and the send would wait forever. When the thunderbird binary is missing the tests fail: `make
test` installs it (scripts/system-deps.sh).
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from companion.policy.loader import default_policy_text
from companion.records import Database, decisions
from companion.thunderbird_install import EXTENSION_ID, install_extension, install_native_manifest
from tests.conftest import REPO
from tests.fixtures import free_port
from tests.mailfactory import pdf_bytes

E2E = Path(__file__).resolve().parent / "thunderbird_e2e"
DRIVER_ID = "mailwarden-e2e@tests.mailwarden.example"
POLICY_VERSION = "2026.11.1"
SESSION_SECONDS = 80  # hard limit for one Thunderbird run
SENDER = "sales@corp.example"
BUYER = "Anna <anna@buyer.example>"
CLEAN = "Dear Anna,\nplease find the packing list for PO 4711 attached.\nBest regards, Li Wei"

pytestmark = pytest.mark.timeout(400)


def thunderbird_binary() -> str:
    path = os.environ.get("MAILWARDEN_THUNDERBIRD") or shutil.which("thunderbird")
    if not path:
        pytest.fail(
            "the thunderbird binary is missing: install it (`apt-get install -y thunderbird`, done by "
            "`make test` through scripts/system-deps.sh) or set MAILWARDEN_THUNDERBIRD",
            pytrace=False,
        )
    return path


class Mailbox:
    """aiosmtpd handler: keeps every mail with the time it arrived."""

    def __init__(self) -> None:
        self.mails: list[dict[str, Any]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        self.mails.append(
            {
                "at": time.time(),
                "rcpt": sorted(envelope.rcpt_tos),
                "from": envelope.mail_from,
                "subject": str(message["Subject"]),
                "message": message,
            }
        )
        return "250 OK"


def user_js(smtp_port: int, dead_port: int, locale: str | None = None) -> str:
    dead = f"http://127.0.0.1:{dead_port}"
    prefs: dict[str, Any] = {
        # the user interface language (a Debian language pack, thunderbird-l10n-*, must be installed)
        **({"intl.locale.requested": locale} if locale else {}),
        # load the sideloaded, unsigned extensions in <profile>/extensions without asking
        "xpinstall.signatures.required": False,
        "extensions.autoDisableScopes": 0,
        "extensions.enabledScopes": 15,
        "extensions.startupScanScopes": 15,
        # off the network: no updates, telemetry, reporting, safe browsing, portal or connectivity checks
        "app.update.enabled": False,
        "app.update.auto": False,
        "app.update.url": dead,
        "extensions.update.enabled": False,
        "extensions.update.autoUpdateDefault": False,
        "extensions.getAddons.cache.enabled": False,
        "extensions.systemAddon.update.enabled": False,
        "extensions.blocklist.enabled": False,
        "toolkit.telemetry.enabled": False,
        "toolkit.telemetry.unified": False,
        "toolkit.telemetry.archive.enabled": False,
        "toolkit.telemetry.server": dead,
        "datareporting.healthreport.uploadEnabled": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "datareporting.usage.uploadEnabled": False,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
        "browser.safebrowsing.malware.enabled": False,
        "browser.safebrowsing.phishing.enabled": False,
        "browser.safebrowsing.downloads.enabled": False,
        "browser.safebrowsing.downloads.remote.enabled": False,
        "browser.safebrowsing.provider.google4.updateURL": "",
        "browser.safebrowsing.provider.mozilla.updateURL": "",
        "services.settings.server": f"{dead}/v1",
        "mailnews.auto_config_url": "",
        "mailnews.auto_config.fetchFromISP.enabled": False,
        "mailnews.auto_config.guess.enabled": False,
        "mail.provider.enabled": False,
        "app.normandy.enabled": False,
        "geo.enabled": False,
        "browser.region.update.enabled": False,
        "security.OCSP.enabled": 0,
        "security.remote_settings.crlite_filters.enabled": False,
        "security.remote_settings.intermediates.enabled": False,
        "network.dns.disablePrefetch": True,
        "network.prefetch-next": False,
        "network.predictor.enabled": False,
        "network.http.speculative-parallel-limit": 0,
        "network.trr.mode": 5,
        # any HTTP(S) that slips through goes to a dead loopback port (mail protocols do not use it)
        "network.proxy.type": 1,
        "network.proxy.http": "127.0.0.1",
        "network.proxy.http_port": dead_port,
        "network.proxy.ssl": "127.0.0.1",
        "network.proxy.ssl_port": dead_port,
        "network.proxy.no_proxies_on": "",
        "offline.autoDetect": False,
        "network.manage-offline-status": False,
        "offline.startup_state": 2,
        # no first-run pages, default-client prompt, indexer or mail checks
        "mail.shell.checkDefaultClient": False,
        "mailnews.start_page.enabled": False,
        "mail.startup.enabledMailCheckOnce": True,
        "mail.rights.version": 1,
        "mail.spotlight.firstRunDone": True,
        "mailnews.database.global.indexer.enabled": False,
        "mail.biff.play_sound": False,
        # no modal question at send time (headless, nobody would answer it): the attachment
        # reminder fires on words like "attached" and would hold the send forever
        "mail.compose.attachment_reminder": False,
        "mail.compose.attachment_reminder_aggressive": False,
        "mail.SpellCheckBeforeSend": False,
        "mail.warn_on_send_accel_key": False,
        "mail.server.default.check_new_mail": False,
        "mail.server.default.login_at_startup": False,
        # extension console messages on stdout (kept in the session log)
        "devtools.console.stdout.content": True,
        "devtools.console.stdout.chrome": True,
        "browser.dom.window.dump.enabled": True,
        # one never-polled POP3 account on a dead loopback port, Local Folders, SMTP on 127.0.0.1
        "mail.accountmanager.accounts": "account1,account2",
        "mail.accountmanager.defaultaccount": "account1",
        "mail.accountmanager.localfoldersserver": "server2",
        "mail.account.account1.server": "server1",
        "mail.account.account1.identities": "id1",
        "mail.server.server1.type": "pop3",
        "mail.server.server1.hostname": "127.0.0.1",
        "mail.server.server1.port": dead_port,
        "mail.server.server1.userName": "sales",
        "mail.server.server1.name": "E2E",
        "mail.server.server1.login_at_startup": False,
        "mail.server.server1.check_new_mail": False,
        "mail.server.server1.download_on_biff": False,
        "mail.account.account2.server": "server2",
        "mail.server.server2.type": "none",
        "mail.server.server2.hostname": "Local Folders",
        "mail.server.server2.userName": "nobody",
        "mail.server.server2.name": "Local Folders",
        "mail.identity.id1.useremail": SENDER,
        "mail.identity.id1.fullName": "Li Wei",
        "mail.identity.id1.valid": True,
        "mail.identity.id1.smtpServer": "smtp1",
        "mail.identity.id1.fcc": False,
        "mail.identity.id1.compose_html": False,
        "mail.smtpservers": "smtp1",
        "mail.smtp.defaultserver": "smtp1",
        "mail.smtpserver.smtp1.hostname": "127.0.0.1",
        "mail.smtpserver.smtp1.port": smtp_port,
        "mail.smtpserver.smtp1.authMethod": 1,
        "mail.smtpserver.smtp1.try_ssl": 0,
        "mail.smtpserver.smtp1.username": "",
        "mailnews.smtp.loglevel": "All",
        "mailnews.send.loglevel": "All",
    }
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


def policy_toml() -> str:
    text = default_policy_text().replace(
        "finance_addresses = []", 'finance_addresses = ["finance@corp.example"]'
    )
    return text.replace("supervisor_addresses = []", 'supervisor_addresses = ["boss@corp.example"]')


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return path


def build_product_xpi(out: Path) -> Path:
    """The shipped extension plus the two test hooks (tests/thunderbird_e2e/*_hook.js)."""
    sys.path.insert(0, str(REPO / "thunderbird_ext"))
    try:
        import build_xpi
    finally:
        sys.path.pop(0)
    return build_xpi.build(
        out,
        extra_files={
            "popup/test_prompt_hook.js": (E2E / "prompt_hook.js").read_bytes(),
            "background/test_background_hook.js": (E2E / "background_hook.js").read_bytes(),
        },
        prompt_scripts=["test_prompt_hook.js"],
        background_scripts=["background/test_background_hook.js"],
        name="mailwarden-e2e.xpi",
    )


def build_driver_xpi(out: Path, plan: dict[str, Any]) -> Path:
    files = {
        p.relative_to(E2E / "ext").as_posix(): p.read_bytes() for p in (E2E / "ext").rglob("*") if p.is_file()
    }
    files["plan.json"] = json.dumps(plan).encode()
    return _zip(out, files)


def _launcher(path: Path, *args: str) -> Path:
    import shlex

    path.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(a) for a in args) + ' "$@"\n')
    path.chmod(0o755)
    return path


def _leftovers(marker: str) -> list[int]:
    """Processes of ours (Thunderbird's native hosts) whose command line names this session's folder."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


@dataclass
class Outcome:
    name: str
    results: dict[str, dict[str, Any]]
    mails: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    stall_starts: int
    log: str
    seconds: float
    root: str
    leftovers: list[int] = field(default_factory=list)

    def step(self, name: str) -> dict[str, Any]:
        assert name in self.results, f"step {name!r} did not finish in session {self.name!r}\n{self.tail()}"
        result = self.results[name]
        assert "crashed" not in result, f"step {name!r} crashed: {result['crashed']}\n{self.tail()}"
        return result

    def arrived(self, subject: str) -> list[dict[str, Any]]:
        return [m for m in self.mails if m["subject"] == subject]

    def decision(self, subject: str) -> dict[str, Any]:
        rows = [d for d in self.decisions if d["subject"] == subject]
        assert len(rows) == 1, f"{len(rows)} decisions for {subject!r}: {self.decisions}"
        return rows[0]

    def tail(self) -> str:
        return f"--- Thunderbird log ({self.name}), last lines ---\n" + "\n".join(self.log.splitlines()[-60:])


def launch_thunderbird(
    binary: str, profile: Path, env: dict[str, str], cwd: Path, log: Any
) -> subprocess.Popen:
    """Thunderbird, headless, on `profile`, in a process group of its own (see _stop)."""
    return subprocess.Popen(
        [binary, "--headless", "--no-remote", "--profile", str(profile)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=cwd,
        start_new_session=True,
    )


def run_session(
    base: Path,
    name: str,
    *,
    managed: dict[str, Any] | None,
    initial_host: str,
    steps: list[dict[str, Any]],
    expected_decisions: int,
    locale: str | None = None,
) -> Outcome:
    """One Thunderbird run: build everything under base/name, send the steps, collect what happened."""
    from aiosmtpd.controller import Controller

    binary = thunderbird_binary()
    root = base / name
    home, profile, mw_home, state = root / "home", root / "profile", root / "mailwarden", root / "state"
    for d in (home, profile, mw_home, state):
        d.mkdir(parents=True)
    (mw_home / "policy.toml").write_text(policy_toml(), encoding="utf-8")

    # the real native host, installed as `mailwarden install-thunderbird` installs it
    hosts_dir = home / ".mozilla" / "native-messaging-hosts"
    installed = install_native_manifest("linux", home, python=sys.executable)
    shutil.copyfile(installed["manifest"], state / "mailwarden.ok.json")
    stall = _launcher(state / "stall-host", sys.executable, str(E2E / "stall_host.py"), str(state))
    manifest = json.loads((state / "mailwarden.ok.json").read_text())
    (state / "mailwarden.stall.json").write_text(json.dumps({**manifest, "path": str(stall)}))
    if initial_host == "missing":
        Path(installed["manifest"]).unlink()
    else:
        shutil.copyfile(state / f"mailwarden.{initial_host}.json", hosts_dir / "mailwarden.json")
    control = _launcher(
        state / "control-host", sys.executable, str(E2E / "ctl_host.py"), str(state), str(hosts_dir)
    )
    (hosts_dir / "mailwarden_e2e.json").write_text(
        json.dumps(
            {
                "name": "mailwarden_e2e",
                "description": "e2e control",
                "path": str(control),
                "type": "stdio",
                "allowed_extensions": [DRIVER_ID],
            }
        )
    )
    if managed is not None:  # what an administrator sets: managed storage for the extension
        storage = home / ".mozilla" / "managed-storage"
        storage.mkdir(parents=True)
        (storage / f"{EXTENSION_ID}.json").write_text(
            json.dumps(
                {
                    "name": EXTENSION_ID,
                    "description": "Mailwarden settings",
                    "type": "storage",
                    "data": managed,
                }
            )
        )

    # the profile: prefs, the product extension, the driver
    mailbox = Mailbox()
    smtp_port, dead_port = free_port(), free_port()
    (profile / "user.js").write_text(user_js(smtp_port, dead_port, locale), encoding="utf-8")
    install_extension(profile, build_product_xpi(root))
    (profile / "extensions" / f"{DRIVER_ID}.xpi").write_bytes(
        build_driver_xpi(root / "driver.xpi", {"steps": steps, "settleMs": 300}).read_bytes()
    )

    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "MAILWARDEN_HOME": str(mw_home),
        "MAILWARDEN_LANG": "en",
        "MOZ_HEADLESS": "1",
        "MOZ_CRASHREPORTER_DISABLE": "1",
        "TMPDIR": str(root),
        "XDG_RUNTIME_DIR": str(root),
    }
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    log_path = root / "thunderbird.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        proc = launch_thunderbird(binary, profile, env, root, log)
        try:
            deadline = started + SESSION_SECONDS
            while time.monotonic() < deadline and proc.poll() is None and not (state / "done").exists():
                time.sleep(0.1)
            # the last decisions are reported after their send goes on: give the host a moment
            settle = min(deadline, time.monotonic() + 10)
            while time.monotonic() < settle and _count_decisions(mw_home) < expected_decisions:
                time.sleep(0.1)
        finally:
            _stop(proc)
            leftovers = _leftovers(str(root))
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            controller.stop()
    seconds = time.monotonic() - started
    results = {r["name"]: r for r in _jsonl(state / "results.jsonl")}
    decisions = _decisions(mw_home)
    stall_starts = (
        len((state / "stall_started").read_text().split()) if (state / "stall_started").exists() else 0
    )
    return Outcome(
        name,
        results,
        mailbox.mails,
        decisions,
        _jsonl(state / "events.jsonl"),
        stall_starts,
        log_path.read_text(errors="replace"),
        seconds,
        str(root),
        leftovers,
    )


def _stop(proc: subprocess.Popen) -> None:
    """End Thunderbird and everything it started (its process group): TERM, then KILL."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _count_decisions(mw_home: Path) -> int:
    try:
        return len(_decisions(mw_home))
    except Exception:
        return 0


def _decisions(mw_home: Path) -> list[dict[str, Any]]:
    if not (mw_home / "mailwarden.db").exists():
        return []
    db = Database(mw_home / "mailwarden.db")
    try:
        return decisions.newest(db, None, noteworthy_only=False)
    finally:
        db.close()


def step(name: str, subject: str, body: str = CLEAN, *, host: str | None = None, answers=(), **extra) -> dict:
    return {
        "name": name,
        "subject": subject,
        "body": body,
        "to": [BUYER],
        "host": host,
        "answers": list(answers),
        **extra,
    }


SESSIONS: dict[str, dict[str, Any]] = {
    "open": dict(
        managed={"failMode": "open", "timeoutMs": 3000},
        initial_host="missing",
        steps=[
            step("missing", "E2E missing host, fail open"),
            step("stall", "E2E stalled host, fail open", host="stall"),
            step("clean", "E2E clean", host="ok"),
            step(
                "forbidden",
                "E2E forbidden",
                "Hi Anna,\nthe 5% discount is fine, but keep this between us.\nLi",
                answers=[{"action": "edit", "delayMs": 200}],
            ),
            step(
                "attachment",
                "E2E forbidden attachment",
                attachments=[
                    {"name": "notes.txt", "text": "For the balance, please transfer to my personal account."},
                    {
                        "name": "terms.pdf",
                        "type": "application/pdf",
                        "base64": base64.b64encode(
                            pdf_bytes(["Terms for PO 4711", "We guarantee the lowest price."])
                        ).decode(),
                    },
                ],
                answers=[{"action": "edit"}],
            ),
            # with a pasted image: its data: URL (here 300 KB) is cut before the HTML goes to the host
            step(
                "html",
                "E2E forbidden HTML",
                html='<p>Hi Anna,</p><p><img src="data:image/png;base64,'
                + "iVBORw0KGgo" * 30000
                + '"></p><p>the discount is fine, but <b>keep this</b> '
                "between <i>us</i>.</p>",
                answers=[{"action": "edit"}],
            ),
            step(
                "justify",
                "E2E justified",
                "Hi Anna,\nwe offer the lowest price for 500 valves.\nLi",
                answers=[
                    {"action": "justify", "justification": "Approved by phone with Mr Zhang", "delayMs": 1500}
                ],
            ),
            step(
                "approver",
                "E2E approver",
                "Hi Anna,\nall pumps come with a lifetime warranty.\nLi",
                answers=[{"action": "approver"}],
            ),
            step(
                "closed",
                "E2E window closed",
                "Hi Anna,\nwe guarantee the lowest price.\nLi",
                answers=[{"action": "close", "delayMs": 200}],
            ),
        ],
        expected_decisions=9,
    ),
    "closed": dict(
        managed={"failMode": "closed", "timeoutMs": 2000},
        initial_host="missing",
        steps=[
            step("stall", "E2E stalled host, fail closed", host="stall"),
            step("missing", "E2E missing host, fail closed", host="missing"),
            step("clean", "E2E clean after closed", host="ok"),
        ],
        expected_decisions=3,
    ),
    # Thunderbird in Simplified Chinese (thunderbird-l10n-zh-cn): the window speaks Chinese
    "zh": dict(
        managed={"failMode": "open", "timeoutMs": 5000},
        initial_host="ok",
        locale="zh-CN",
        steps=[
            step(
                "zh-warn", "E2E 报价", "Anna 您好，\n我们保证全网最低价。\n李伟", answers=[{"action": "edit"}]
            ),
        ],
        expected_decisions=1,
    ),
    "ask": dict(
        managed=None,
        initial_host="missing",
        steps=[
            step("send", "E2E ask, send anyway", answers=[{"action": "send", "delayMs": 200}]),
            step("cancel", "E2E ask, do not send", answers=[{"action": "dontsend"}]),
            step("clean", "E2E clean after ask", host="ok"),
        ],
        expected_decisions=3,
    ),
}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> dict[str, Outcome]:
    thunderbird_binary()
    base = tmp_path_factory.mktemp("thunderbird-e2e")
    return {name: run_session(base, name, **spec) for name, spec in SESSIONS.items()}


def header(mail: dict[str, Any]) -> str:
    return str(mail["message"]["X-Mailwarden"] or "")


def test_sessions_are_bounded_and_leave_no_process(sessions):
    for outcome in sessions.values():
        assert outcome.seconds < SESSION_SECONDS + 25, outcome.tail()
        assert not [e for e in outcome.events if e.get("type") == "fatal"], outcome.events
        assert not _leftovers(outcome.root)  # nothing of ours survives the session


def test_clean_mail_arrives_with_the_mailwarden_header(sessions):
    s = sessions["open"]
    assert s.step("clean")["sent"], s.tail()
    [mail] = s.arrived("E2E clean")
    assert mail["rcpt"] == ["anna@buyer.example"] and mail["from"] == SENDER
    row = s.decision("E2E clean")
    assert (row["channel"], row["verdict"], row["choice"]) == ("thunderbird", "pass", "sent")
    assert len(row["key"]) == 36 and header(mail) == f"policy {POLICY_VERSION}; pass; key={row['key']}"


def test_forbidden_mail_is_never_sent_and_the_block_is_recorded(sessions):
    s = sessions["open"]
    result = s.step("forbidden")
    assert not result["sent"] and "onBeforeSend" in result["error"]
    [prompt] = result["prompts"]
    assert (prompt["kind"], prompt["buttons"]) == ("block", ["edit"])
    [finding] = prompt["findings"]
    assert (finding["rule"], finding["tier"], finding["highlighted"]) == (
        "offbook.private-deal",
        "forbidden",
        "keep this between us",
    )
    assert "keep this between us" in finding["sentence"] and "forbidden" in finding["explanation"]
    assert s.arrived("E2E forbidden") == []
    row = s.decision("E2E forbidden")
    assert (row["verdict"], row["choice"]) == ("block", "blocked")

    attached = s.step("attachment")
    assert not attached["sent"] and s.arrived("E2E forbidden attachment") == []
    [prompt] = attached["prompts"]
    # both attachments were read: the text file, and the PDF (its text extracted by the companion)
    found = {(f["rule"], f["tier"], f["highlighted"]) for f in prompt["findings"]}
    assert found == {
        ("offbook.private-deal", "forbidden", "transfer to my personal account"),
        ("commit.lowest-price", "approval", "lowest price"),
    }
    where = {f["rule"]: f["where"] for f in prompt["findings"]}
    assert "notes.txt" in where["offbook.private-deal"] and "terms.pdf" in where["commit.lowest-price"]
    assert s.decision("E2E forbidden attachment")["choice"] == "blocked"


def test_forbidden_html_mail_is_judged_on_its_text(sessions):
    s = sessions["open"]
    result = s.step("html")
    assert not result["sent"] and s.arrived("E2E forbidden HTML") == []
    [prompt] = result["prompts"]
    assert prompt["kind"] == "block"
    [finding] = prompt["findings"]  # the phrase spans three HTML elements
    assert (finding["rule"], finding["highlighted"]) == ("offbook.private-deal", "keep this between us")
    assert s.decision("E2E forbidden HTML")["choice"] == "blocked"


def test_decisions_show_in_flags_and_the_summary(sessions):
    """What the sender decided in Thunderbird is in `mailwarden flags` and the next summary."""
    s = sessions["open"]
    env = {**os.environ, "MAILWARDEN_HOME": str(Path(s.root) / "mailwarden"), "MAILWARDEN_LANG": "en"}
    run = [sys.executable, "-m", "companion.cli"]
    flags = subprocess.run([*run, "flags", "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert flags.returncode == 0, flags.stderr
    rows = {r["subject"]: r for r in map(json.loads, flags.stdout.splitlines()) if r["kind"] == "presend"}
    justified = rows["E2E justified"]
    assert (justified["source"], justified["verdict"], justified["choice"]) == (
        "thunderbird",
        "warn",
        "justified",
    )
    assert justified["justification"] == "Approved by phone with Mr Zhang"
    assert rows["E2E forbidden"]["choice"] == "blocked" and rows["E2E approver"]["choice"] == "added_approver"
    assert rows["E2E stalled host, fail open"]["verdict"] == "unchecked"
    summary = subprocess.run([*run, "summary"], env=env, capture_output=True, text=True, timeout=60)
    assert summary.returncode == 0, summary.stderr
    outcomes = json.loads(summary.stdout)["presend"]
    assert outcomes["blocked"] == 3 and outcomes["justified"] == 1 and outcomes["added_approver"] == 1
    assert outcomes["sent"] == 1 and outcomes["edited"] == 1 and outcomes["unchecked_sent"] == 2
    assert "Approved by phone" not in summary.stdout and "E2E" not in summary.stdout  # no mail text leaves


def test_the_scan_of_the_sent_mail_finds_the_decision_by_its_key(sessions, tmp_path):
    """The copy of a sent mail (here: as the SMTP server got it, put in a Sent folder) is tied to
    what the sender decided by the key in its X-Mailwarden header."""
    s = sessions["open"]
    sent = tmp_path / "Sent"
    sent.mkdir()
    for i, subject in enumerate(("E2E justified", "E2E approver")):
        [mail] = s.arrived(subject)
        copy = sent / f"{i}.eml"
        copy.write_bytes(mail["message"].as_bytes())
        os.utime(
            copy, (time.time() - 60, time.time() - 60)
        )  # a mail client's finished file, not one being written
    env = {**os.environ, "MAILWARDEN_HOME": str(Path(s.root) / "mailwarden"), "MAILWARDEN_LANG": "en"}
    run = [sys.executable, "-m", "companion.cli"]
    scan = subprocess.run(
        [*run, "scan", "--json", "--identity", SENDER, str(sent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert scan.returncode == 0 and json.loads(scan.stdout)["flagged"] == 2, scan.stderr
    from companion.agent.api import MailwardenAPI
    from companion.config import Paths

    api = MailwardenAPI(Paths(Path(s.root) / "mailwarden"))
    for subject in ("E2E justified", "E2E approver"):
        [flag] = [f for f in api.flags()["flags"] if f["subject"] == subject]
        [decision] = api.flag(flag["id"])["flag"]["decisions"]
        assert decision["key"] == s.decision(subject)["key"] and decision["subject"] == subject


def test_warn_mail_is_held_until_justified_then_sent(sessions):
    s = sessions["open"]
    result = s.step("justify")
    assert result["sent"], result
    [prompt] = result["prompts"]
    assert prompt["kind"] == "warn" and {"edit", "approver", "justify"} <= set(prompt["buttons"])
    assert (
        prompt["findings"][0]["highlighted"] == "lowest price"
        and "manager" in prompt["findings"][0]["explanation"]
    )
    assert "Policy 2026.11.1" == prompt["policy"]
    [mail] = s.arrived("E2E justified")
    assert mail["at"] * 1000 >= result["answeredAt"]  # held until the prompt was answered
    assert result["answeredAt"] - prompt["shownAt"] >= 1400
    row = s.decision("E2E justified")
    assert header(mail) == f"policy {POLICY_VERSION}; warn; justified; key={row['key']}"
    assert (row["verdict"], row["choice"], row["justification"]) == (
        "warn",
        "justified",
        "Approved by phone with Mr Zhang",
    )


def test_add_approver_puts_the_rules_approver_in_cc(sessions):
    s = sessions["open"]
    result = s.step("approver")
    assert result["sent"], result
    assert "boss@corp.example" in result["prompts"][0]["approverButton"]
    [mail] = s.arrived("E2E approver")
    assert "boss@corp.example" in str(mail["message"]["Cc"])
    assert mail["rcpt"] == ["anna@buyer.example", "boss@corp.example"]
    row = s.decision("E2E approver")
    assert header(mail) == f"policy {POLICY_VERSION}; warn; approver in cc; key={row['key']}"
    assert row["choice"] == "added_approver"


def test_closing_the_window_means_edit(sessions):
    s = sessions["open"]
    result = s.step("closed")
    assert not result["sent"] and s.arrived("E2E window closed") == []
    assert (s.decision("E2E window closed")["choice"]) == "edited"


def test_fail_open_sends_within_the_time_limit_and_records_it_later(sessions):
    s = sessions["open"]
    missing = s.step("missing")
    assert missing["sent"] and missing["prompts"] == [], missing
    stalled = s.step("stall")
    # held for the time limit (3 s), then sent: bounded, never hanging on the host
    assert stalled["sent"] and 2900 <= stalled["elapsedMs"] < 3000 + 15000, stalled
    assert s.stall_starts >= 1
    for subject in ("E2E missing host, fail open", "E2E stalled host, fail open"):
        [mail] = s.arrived(subject)
        row = s.decision(subject)
        assert header(mail) == f"unchecked; key={row['key']}"
        assert (row["verdict"], row["choice"]) == ("unchecked", "unchecked_sent")
        assert "check did not run" in row["error"] and "reported late" in row["error"]
    assert "No such native application" in s.decision("E2E missing host, fail open")["error"]
    assert "within the 3000 ms time limit" in s.decision("E2E stalled host, fail open")["error"]


def test_fail_closed_holds_the_mail_within_the_time_limit(sessions):
    s = sessions["closed"]
    stalled, missing = s.step("stall"), s.step("missing")
    assert not stalled["sent"] and 1900 <= stalled["elapsedMs"] < 2000 + 15000, stalled
    assert not missing["sent"] and missing["prompts"] == [] and "onBeforeSend" in missing["error"], missing
    assert s.arrived("E2E stalled host, fail closed") == [] == s.arrived("E2E missing host, fail closed")
    assert s.step("clean")["sent"] and len(s.arrived("E2E clean after closed")) == 1
    for subject in ("E2E stalled host, fail closed", "E2E missing host, fail closed"):
        assert s.decision(subject)["choice"] == "unchecked_cancelled"


def test_default_fail_mode_asks_the_sender(sessions):
    s = sessions["ask"]
    send, cancel = s.step("send"), s.step("cancel")
    assert send["prompts"][0]["kind"] == "unchecked" and send["prompts"][0]["buttons"] == [
        "send-anyway",
        "dont-send",
    ]
    reason = send["prompts"][0]["reason"]  # the cause in the sender's words, not Thunderbird's
    assert reason == "Mailwarden is not installed on this computer, or it cannot start."
    assert send["sent"] and not cancel["sent"]
    [mail] = s.arrived("E2E ask, send anyway")
    assert header(mail) == f"unchecked; key={s.decision('E2E ask, send anyway')['key']}"
    assert s.arrived("E2E ask, do not send") == []
    assert s.decision("E2E ask, send anyway")["choice"] == "unchecked_sent"
    assert "No such native application" in s.decision("E2E ask, send anyway")["error"]  # kept for IT
    assert s.decision("E2E ask, do not send")["choice"] == "unchecked_cancelled"
    assert s.decision("E2E clean after ask")["choice"] == "sent"


def test_in_a_chinese_thunderbird_the_window_speaks_chinese(sessions):
    s = sessions["zh"]
    result = s.step("zh-warn")
    assert not result["sent"] and s.arrived("E2E 报价") == []
    [prompt] = result["prompts"]
    assert (prompt["kind"], prompt["lang"], prompt["title"]) == ("warn", "zh-CN", "此邮件需要审批")
    finding = next(f for f in prompt["findings"] if f["rule"] == "commit.lowest-price")
    assert "最低价" in finding["highlighted"]
    assert finding["explanation"].startswith("承诺最低价")  # the rule's Chinese explanation
    assert s.decision("E2E 报价")["choice"] == "edited"
