import assert from "node:assert/strict";
import { test } from "node:test";

import {
  attachmentPlan,
  ccWithApprovers,
  composeDetails,
  recipientList,
  withoutDataUrls,
} from "../../thunderbird_ext/background/compose.js";
import { HELLO } from "./fakes.js";

const RULES = HELLO.attachments;

test("attachments are read as the companion's hello says, within its limits, first ones first", () => {
  const listed = [
    { name: "Terms.PDF", size: 900 },
    { name: "memo.docx", size: 700 }, // over what is left of the total: by name only
    { name: "data.json", size: 80 },
    { name: "big.json", size: 101 },
    { name: "photo.jpg", size: 10 },
    { name: "notes.txt", size: 500 },
    { name: "noext", size: 1 },
  ];
  assert.deepEqual(attachmentPlan(listed, RULES), ["bytes", null, "text", null, null, "bytes", null]);
  assert.deepEqual(attachmentPlan([{ name: "a.pdf" }], RULES), [null]); // no size: not read
});

test("recipients, data URLs and approvers", () => {
  assert.deepEqual(recipientList(["A <a@x.example>", { id: "contact" }, "b@y.example"]), ["A <a@x.example>", "b@y.example"]);
  assert.deepEqual(recipientList("c@z.example"), ["c@z.example"]);
  assert.deepEqual(recipientList(undefined), []);
  assert.equal(withoutDataUrls('<img src="data:image/png;base64,AAAA"> <img src=\'data:x\'>'), '<img src="data:,"> <img src=\'data:,\'>');
  const details = { to: ["Anna <anna@buyer.example>"], cc: "Boss@corp.example" };
  assert.deepEqual(ccWithApprovers(details, ["boss@corp.example", "finance@corp.example", "FINANCE@corp.example"]), [
    "Boss@corp.example",
    "finance@corp.example",
  ]);
});

test("the compose details the companion checks", async () => {
  globalThis.FileReader = class {
    readAsDataURL(file) {
      file.arrayBuffer().then((b) => {
        this.result = `data:${file.type};base64,${Buffer.from(b).toString("base64")}`;
        this.onload();
      });
    }
  };
  const files = {
    1: new File(["%PDF-1.4 lowest price"], "t.pdf", { type: "application/pdf" }),
    2: new File(['{"a": "keep this between us"}'], "d.json", { type: "application/json" }),
  };
  const compose = {
    listAttachments: async () => [
      { id: 1, name: "t.pdf", size: files[1].size },
      { id: 2, name: "d.json", size: files[2].size },
      { id: 3, name: "x.jpg", size: 3 },
    ],
    getAttachmentFile: async (id) => files[id],
  };
  const details = {
    isPlainText: false,
    body: '<p>Hi</p><img src="data:image/png;base64,QUFB">',
    subject: "Offer",
    from: "Li <li@corp.example>",
    to: ["Anna <anna@buyer.example>"],
    cc: [],
    bcc: [{ id: "list" }],
  };
  const payload = await composeDetails(compose, { id: 7 }, details, RULES, 1000);
  assert.equal(payload.html, '<p>Hi</p><img src="data:,">');
  assert.equal(payload.body, "");
  assert.deepEqual(payload.bcc, []);
  assert.deepEqual(
    payload.attachments.map((a) => [a.name, a.content_type, Boolean(a.data_base64), a.text]),
    [
      ["t.pdf", "application/pdf", true, null],
      ["d.json", "application/json", false, '{"a": "keep this between us"}'],
      ["x.jpg", "", false, null],
    ],
  );
  assert.equal(Buffer.from(payload.attachments[0].data_base64, "base64").toString(), "%PDF-1.4 lowest price");
});
