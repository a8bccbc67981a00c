import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DecisionReporter,
  LATE_TEXT_MAX,
  lateDetails,
  UNREPORTED_KEY,
  worthRetrying,
} from "../../thunderbird_ext/background/decisions.js";
import { HostClient } from "../../thunderbird_ext/background/host.js";
import { fakeRuntime, fakeStorageArea } from "./fakes.js";

const recorded = (m, port) => port.answer({ type: "recorded", id: m.id, row: 1 });
const busy = (m, port) =>
  port.answer({ type: "error", id: m.id, code: "not_recorded", retryable: true, title: "Decision not recorded", message: "locked" });
const refused = (m, port) =>
  port.answer({ type: "error", id: m.id, code: "unknown_choice", retryable: false, title: "Unknown choice", message: "x" });

function reporter(companion, stored = {}) {
  const storage = fakeStorageArea(stored);
  const runtime = fakeRuntime(companion);
  const host = new HostClient("mailwarden", runtime);
  return { reporter: new DecisionReporter(host, storage, { timeoutMs: 200, now: () => new Date("2026-11-30T09:00:00Z") }), storage, runtime };
}

const kept = (storage) => storage.data[UNREPORTED_KEY] || [];

test("retrying is decided by the companion's `retryable`, never by words", () => {
  assert.equal(worthRetrying({ type: "error", code: "not_recorded", retryable: true, title: "anything" }), true);
  assert.equal(worthRetrying({ type: "error", retryable: false, title: "Decision not recorded" }), false);
  assert.equal(worthRetrying({ type: "recorded" }), false);
});

test("late details keep no attachment bytes and cap the text", () => {
  const body = "x".repeat(LATE_TEXT_MAX + 5);
  const { details, cut } = lateDetails({
    subject: "s",
    body,
    html: "",
    attachments: [
      { name: "a.pdf", size: 9, data_base64: "JVBERg==" },
      { name: "b.txt", size: 3, text: "abc" },
    ],
  });
  assert.equal(cut, true);
  assert.equal(details.body.length, LATE_TEXT_MAX);
  assert.deepEqual(details.attachments, [
    { name: "a.pdf", content_type: "", size: 9, text: null },
    { name: "b.txt", content_type: "", size: 3, text: "abc" },
  ]);
});

test("a recorded decision is not kept; one worth retrying is kept with what was checked", async () => {
  const ok = reporter(recorded);
  await ok.reporter.report({ check_id: "c-1", key: "k-1", choice: "sent" }, { subject: "s", body: "b", attachments: [] });
  assert.deepEqual(kept(ok.storage), []);
  assert.deepEqual(ok.runtime.ports[0].sent[0], { type: "decision", check_id: "c-1", key: "k-1", choice: "sent", id: ok.runtime.ports[0].sent[0].id });

  const later = reporter(busy);
  await later.reporter.report({ check_id: "c-1", key: "k-2", choice: "edited" }, { subject: "s", body: "b", attachments: [] });
  const [item] = kept(later.storage);
  assert.equal(item.key, "k-2");
  assert.equal(item.details.subject, "s");
  assert.equal(item.at, "2026-11-30T09:00:00.000Z");

  const never = reporter(refused);
  await never.reporter.report({ check_id: "c-1", key: "k-3", choice: "shrug" }, { subject: "s" });
  assert.deepEqual(kept(never.storage), []);

  const gone = reporter(() => {}); // no answer: the time-out keeps it
  await gone.reporter.report({ check_id: null, key: "k-4", choice: "unchecked_sent" });
  assert.deepEqual(kept(gone.storage).map((d) => d.key), ["k-4"]);
});

test("kept decisions are sent again, reported late, until the companion records or refuses them", async () => {
  let answer = busy;
  const { reporter: r, storage, runtime } = reporter((m, port) => answer(m, port), {
    [UNREPORTED_KEY]: [
      { key: "k-1", check_id: null, choice: "unchecked_sent", error: "check did not run", at: "2026-11-29T08:00:00Z" },
      { check_id: null, choice: "unchecked_cancelled", at: "2026-11-29T08:01:00Z" }, // kept by an older version
    ],
  });
  await r.flush();
  assert.deepEqual(kept(storage).map((d) => d.tries), [1, 1]);
  assert.ok(kept(storage)[1].key); // given a key, kept under it
  const sent = runtime.ports[0].sent[0];
  assert.equal(sent.error, "check did not run; reported late (decided 2026-11-29T08:00:00Z)");
  answer = recorded;
  await r.flush();
  assert.deepEqual(kept(storage), []);
});

test("the kept list is changed one update at a time", async () => {
  const { reporter: r, storage } = reporter(() => {});
  await Promise.all([1, 2, 3, 4].map((n) => r.keep({ key: `k-${n}`, choice: "unchecked_sent" })));
  assert.deepEqual(kept(storage).map((d) => d.key), ["k-1", "k-2", "k-3", "k-4"]);
});
