"""The Thunderbird extension's windows as PNG under docs/screenshots/ (`make screenshots`), in
English and Simplified Chinese, at the size the extension opens them.

The pages are the shipped ones (thunderbird_ext/popup, thunderbird_ext/options), served on
127.0.0.1 and shown by headless Chromium with a small stand-in for Thunderbird's `messenger` (the
page's messages from _locales, and what the background page would answer). What they show is real:
views made by the pre-send session (companion.presend) from the default policy.

    .venv/bin/python scripts/extension_screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import functools
import http.server
import json
import sys
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from dashboard_screenshots import launch  # noqa: E402  (the same Chromium, the same arguments)

EXT = REPO / "thunderbird_ext"
LOCALES = {"en": "en", "zh": "zh_CN"}
MESSENGER = """
(() => {
  const data = %s;
  const getMessage = (key, subs) => {
    const entry = data.messages[key];
    if (!entry) return "";
    const values = Array.isArray(subs) ? subs : subs === undefined ? [] : [subs];
    let text = entry.message;
    for (const [name, p] of Object.entries(entry.placeholders || {})) {
      const content = p.content.replace(/\\$(\\d)/g, (_, n) => values[Number(n) - 1] ?? "");
      text = text.split("$" + name.toUpperCase() + "$").join(content).split("$" + name + "$").join(content);
    }
    return text;
  };
  window.messenger = {
    i18n: { getMessage, getUILanguage: () => data.ui },
    runtime: { sendMessage: async (m) => (m.type === "mailwarden-status" ? data.status : m.type === "mailwarden-prompt-view" ? data.view : true) },
    storage: { local: { set: async () => {} } },
  };
  window.close = () => {};
})();
"""


def views() -> dict[str, dict[str, Any]]:
    """A warning, a block and a check that could not run, as the background page hands them over."""
    from companion.policy import PolicyEngine, parse_policy
    from companion.policy.in_force import StaticPolicy
    from companion.policy.loader import default_policy_text
    from companion.presend import PresendSession

    text = default_policy_text().replace(
        "finance_addresses = []", 'finance_addresses = ["finance@corp.example"]'
    )
    text = text.replace("supervisor_addresses = []", 'supervisor_addresses = ["wang.fang@corp.example"]')
    session = PresendSession("thunderbird", StaticPolicy(PolicyEngine(parse_policy(text))), None)

    def prompt(kind: str, details: dict[str, Any]) -> dict[str, Any]:
        verdict = session.view(session.check(details))
        return {
            "kind": kind,
            "subject": details["subject"],
            "policy_version": verdict["policy_version"],
            "findings": verdict["findings"],
            "findings_total": len(verdict["findings"]),
            "truncated": False,
            "approvers": verdict["approvers"],
            "labels": verdict["labels"],
        }

    warn = prompt(
        "warn",
        {
            "subject": "回复：询价：不锈钢阀门 500 件 / Re: valves DN50",
            "to": ["王经理 <wang@client-sz.example>"],
            "body": "王经理您好：\n这是我们的全网最低价，另外可以提供终身保修。\n\nBest regards, Li Wei",
        },
    )
    block = prompt(
        "block",
        {
            "subject": "Re: order 4471",
            "to": ["Tom <tom@buyer.example>"],
            "body": "Hi Tom,\nI can give you a private 15% discount, but keep this between us.\n"
            "Please send the payment to my personal account.",
            "attachments": [{"name": "PI-2027-118.pdf", "size": 20000}],
        },
    )
    unchecked = {
        "kind": "unchecked",
        "subject": "Re: order 4471",
        "reasonKind": "timeout",
        "seconds": 5,
        "reason": "the Mailwarden companion did not answer within the 5000 ms time limit",
    }
    return {"warn": warn, "block": block, "unchecked": unchecked}


def serve() -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(EXT))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def main(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    from companion.machine_config import FAIL_MODES

    out.mkdir(parents=True, exist_ok=True)
    server, port = serve()
    shots: list[Path] = []
    status = {
        "ok": True,
        "settings": {"failMode": "ask", "timeoutMs": 5000},
        "managedKeys": ["timeoutMs"],
        "failModes": list(FAIL_MODES),
        "version": "0.1.0",
        "policy": "2026.11.1",
    }
    pages = [(f"prompt-{kind}", "popup/prompt.html?token=t", view) for kind, view in views().items()]
    pages.append(("options", "options/options.html", None))
    # the sizes the extension opens its windows at (background/prompts.js); the options page: Thunderbird's pane
    sizes = {
        "prompt-warn": (640, 640),
        "prompt-block": (640, 460),
        "prompt-unchecked": (640, 460),
        "options": (640, 420),
    }
    try:
        with sync_playwright() as p:
            browser = launch(p)
            for lang, folder in LOCALES.items():
                messages = json.loads(
                    (EXT / "_locales" / folder / "messages.json").read_text(encoding="utf-8")
                )
                for name, path, view in pages:
                    width, height = sizes[name]
                    page = browser.new_page(viewport={"width": width, "height": height})
                    data = {
                        "messages": messages,
                        "ui": "zh-CN" if lang == "zh" else "en-US",
                        "status": status,
                        "view": {**view, "chinese": lang == "zh"} if view else None,
                    }
                    page.add_init_script(MESSENGER % json.dumps(data, ensure_ascii=False))
                    page.goto(f"http://127.0.0.1:{port}/{path}")
                    if view:
                        page.wait_for_selector("body[data-ready='1']")
                    else:
                        page.wait_for_selector("input[name=failMode]")
                    shot = out / f"thunderbird-{name}-{lang}.png"
                    page.screenshot(path=str(shot))
                    shots.append(shot)
                    page.close()
            browser.close()
    finally:
        server.shutdown()
    return shots


if __name__ == "__main__":
    for shot in main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"):
        print(shot)
