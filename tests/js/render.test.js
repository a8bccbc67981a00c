import assert from "node:assert/strict";
import { test } from "node:test";

import { explanationOf, fieldLabel, sentenceParts, tierLabel } from "../../thunderbird_ext/popup/render.js";

const msg = (key, subs = []) => `${key}(${subs.join(",")})`;

test("fields are told by kind, with the attachment's name as it is (colons and all)", () => {
  assert.equal(fieldLabel({ kind: "attachment", name: "terms: final.pdf" }, msg), "fieldAttachment(terms: final.pdf)");
  assert.equal(fieldLabel({ kind: "attachment_name", name: "PI-1.pdf" }, msg), "fieldAttachmentName(PI-1.pdf)");
  assert.equal(fieldLabel({ kind: "body", name: "" }, msg), "fieldBody()");
  assert.equal(fieldLabel("attachment:x", msg), ""); // the old string form is not parsed
});

test("tier labels and explanations come from the view, in the window's language", () => {
  const view = { labels: { tiers: { approval: { en: "needs approval", zh: "需审批" } } } };
  assert.equal(tierLabel(view, "approval", true), "需审批");
  assert.equal(tierLabel(view, "approval", false), "needs approval");
  assert.equal(tierLabel({}, "forbidden", true), "forbidden");
  const finding = { explanation: { en: "Promising the lowest price", zh: "承诺最低价" } };
  assert.equal(explanationOf(finding, true), "承诺最低价");
  assert.equal(explanationOf({ explanation: { en: "only English" } }, true), "only English");
});

test("the match is cut out of its sentence; offsets out of range are clamped", () => {
  assert.deepEqual(sentenceParts({ sentence: { text: "我们的最低价。", start: 3, end: 6 } }), {
    before: "我们的",
    match: "最低价",
    after: "。",
  });
  assert.deepEqual(sentenceParts({ sentence: { text: "abc", start: -4, end: 99 } }), { before: "", match: "abc", after: "" });
  assert.deepEqual(sentenceParts({ text: "lowest price" }), { before: "", match: "lowest price", after: "" });
});
