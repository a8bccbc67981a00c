"""Test-only native host ("mailwarden_e2e") for the e2e driver extension.

    ctl_host.py STATE_DIR HOSTS_DIR [manifest path] [extension id]

setup {host: ok|stall|missing}: puts STATE_DIR/mailwarden.<host>.json in HOSTS_DIR/mailwarden.json
(or removes it); result {result}: appends to STATE_DIR/results.jsonl; hello, log, fatal: appended
to STATE_DIR/events.jsonl; done: creates STATE_DIR/done. Every message is answered {id, ok}.
"""

import json
import shutil
import struct
import sys
import time
from pathlib import Path

STATE, HOSTS = Path(sys.argv[1]), Path(sys.argv[2])
HEADER = struct.Struct("=I")


def read():
    header = sys.stdin.buffer.read(4)
    if len(header) < 4:
        return None
    (length,) = HEADER.unpack(header)
    return json.loads(sys.stdin.buffer.read(length))


def write(message):
    data = json.dumps(message).encode()
    sys.stdout.buffer.write(HEADER.pack(len(data)) + data)
    sys.stdout.buffer.flush()


def append(name, record):
    with (STATE / name).open("a", encoding="utf-8") as f:
        f.write(json.dumps({**record, "at": time.time()}, ensure_ascii=False) + "\n")


while (message := read()) is not None:
    kind = message.get("type")
    if kind == "setup":
        target = HOSTS / "mailwarden.json"
        if message["host"] == "missing":
            target.unlink(missing_ok=True)
        else:
            shutil.copyfile(STATE / f"mailwarden.{message['host']}.json", target)
        append("events.jsonl", {"setup": message["host"]})
    elif kind == "result":
        append("results.jsonl", message["result"])
    elif kind == "done":
        (STATE / "done").write_text("done")
    else:
        append("events.jsonl", message)
    write({"id": message.get("id"), "ok": True})
