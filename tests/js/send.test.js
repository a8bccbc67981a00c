import assert from "node:assert/strict";
import { test } from "node:test";

import { HostError } from "../../thunderbird_ext/background/host.js";
import { reasonKind, SendGuard } from "../../thunderbird_ext/background/send.js";
import { HELLO } from "./fakes.js";

const KEY = "5f0c9d2e-0000-4000-8000-000000000001";
const stamps = (verdict) =>
  ({
    pass: { sent: `policy 1; pass; key=${KEY}` },
    warn: {
      added_approver: `policy 1; warn; approver in cc; key=${KEY}`,
      justified: `policy 1; warn; justified; key=${KEY}`,
    },
    block: {},
  })[verdict];

function guard({ verdict = "pass", answer = { choice: "edit" }, failMode = "ask", host = null, promptFails = false } = {}) {
  const reported = [];
  const keptLater = [];
  const asked = [];
  const checks = [];
  const fakeHost = host || {
    hello: async () => HELLO,
    request: async (message) => {
      checks.push(message);
      return {
        type: "verdict",
        id: "check-1",
        verdict,
        policy_version: "1",
        findings: verdict === "pass" ? [] : [{ rule: "commit.lowest-price", tier: "approval" }],
        approvers: ["boss@corp.example"],
        labels: { tiers: {} },
        stamps: stamps(verdict),
      };
    },
  };
  const g = new SendGuard({
    host: fakeHost,
    reporter: {
      report: async (d) => reported.push(d),
      keep: async (d) => keptLater.push(d),
      flush: async () => {},
    },
    prompts: {
      ask: async (view) => {
        asked.push(view);
        if (promptFails) {
          throw new Error("no window");
        }
        return answer;
      },
    },
    compose: { listAttachments: async () => [] },
    loadSettings: async () => ({ settings: { failMode, timeoutMs: 2000 } }),
    chinese: () => false,
    newKey: () => KEY,
  });
  return { g, reported, keptLater, asked, checks };
}

const DETAILS = { subject: "Offer", isPlainText: true, plainTextBody: "the lowest price", to: ["a@b.example"], customHeaders: [{ name: "X-Mailwarden", value: "old" }] };
const header = (result) => result.details.customHeaders.filter((h) => h.name === "X-Mailwarden").map((h) => h.value);

test("a clean mail goes with the companion's stamp, and its decision carries the send's key", async () => {
  const { g, reported, checks } = guard();
  const result = await g.onBeforeSend({ id: 1 }, DETAILS);
  assert.deepEqual(header(result), [`policy 1; pass; key=${KEY}`]);
  assert.equal(checks[0].key, KEY);
  assert.deepEqual(reported, [{ check_id: "check-1", key: KEY, choice: "sent" }]);
});

test("warn: approver in Cc, a justification, or back to edit", async () => {
  const approver = guard({ verdict: "warn", answer: { choice: "approver" } });
  const sent = await approver.g.onBeforeSend({ id: 1 }, DETAILS);
  assert.deepEqual(sent.details.cc, ["boss@corp.example"]);
  assert.deepEqual(header(sent), [`policy 1; warn; approver in cc; key=${KEY}`]);
  assert.equal(approver.reported[0].choice, "added_approver");
  assert.equal(approver.asked[0].kind, "warn");

  const justified = guard({ verdict: "warn", answer: { choice: "justify", justification: "  agreed by phone " } });
  const result = await justified.g.onBeforeSend({ id: 1 }, DETAILS);
  assert.deepEqual(header(result), [`policy 1; warn; justified; key=${KEY}`]);
  assert.deepEqual(justified.reported[0], { check_id: "check-1", key: KEY, choice: "justified", justification: "agreed by phone" });

  const blank = guard({ verdict: "warn", answer: { choice: "justify", justification: "   " } });
  assert.deepEqual(await blank.g.onBeforeSend({ id: 1 }, DETAILS), { cancel: true });
  assert.equal(blank.reported[0].choice, "edited");
});

test("block: never sent; a window that cannot open holds the mail too", async () => {
  const block = guard({ verdict: "block" });
  assert.deepEqual(await block.g.onBeforeSend({ id: 1 }, DETAILS), { cancel: true });
  assert.equal(block.reported[0].choice, "blocked");
  const noWindow = guard({ verdict: "warn", promptFails: true });
  assert.deepEqual(await noWindow.g.onBeforeSend({ id: 1 }, DETAILS), { cancel: true });
  assert.match(noWindow.reported[0].error, /window could not open/);
  assert.equal(noWindow.reported[0].choice, "edited");
});

test("no companion: the fail mode decides, the outcome is kept with the key, the mail is stamped unchecked", async () => {
  const missing = { hello: async () => Promise.reject(new HostError("No such native application mailwarden")) };
  const open = guard({ failMode: "open", host: missing });
  assert.deepEqual(header(await open.g.onBeforeSend({ id: 1 }, DETAILS)), [`unchecked; key=${KEY}`]);
  assert.equal(open.keptLater[0].choice, "unchecked_sent");
  assert.equal(open.keptLater[0].key, KEY);
  assert.deepEqual(open.keptLater[0].details, { subject: "Offer", to: ["a@b.example"], cc: [], bcc: [] });

  const closed = guard({ failMode: "closed", host: missing });
  assert.deepEqual(await closed.g.onBeforeSend({ id: 1 }, DETAILS), { cancel: true });
  assert.equal(closed.keptLater[0].choice, "unchecked_cancelled");

  const ask = guard({ failMode: "ask", host: missing, answer: { choice: "send" } });
  assert.deepEqual(header(await ask.g.onBeforeSend({ id: 1 }, DETAILS)), [`unchecked; key=${KEY}`]);
  assert.equal(ask.asked[0].reasonKind, "missing");
  assert.equal(ask.asked[0].seconds, 2); // the time limit, for the sender's words

  const stalled = { hello: async () => Promise.reject(new HostError("no answer", { timedOut: true })) };
  const late = guard({ failMode: "closed", host: stalled });
  await late.g.onBeforeSend({ id: 1 }, DETAILS);
  assert.match(late.keptLater[0].error, /did not answer within the 2000 ms time limit/);
});

test("an answer that is not a verdict is a check that did not run", async () => {
  const host = {
    hello: async () => HELLO,
    request: async () => ({ type: "error", code: "bad_details", retryable: false, title: "Cannot read the mail", message: "'to' must be a list" }),
  };
  const { g, keptLater } = guard({ failMode: "open", host });
  await g.onBeforeSend({ id: 1 }, DETAILS);
  assert.match(keptLater[0].error, /Cannot read the mail: 'to' must be a list/);
});

test("reasons in words the window translates", () => {
  assert.equal(reasonKind("No such native application mailwarden"), "missing");
  assert.equal(reasonKind("the Mailwarden companion did not answer within the 5000 ms time limit"), "timeout");
  assert.equal(reasonKind("something else"), "error");
});
