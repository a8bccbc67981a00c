import assert from "node:assert/strict";
import { test } from "node:test";

import { uncheckedStamp, withHeader } from "../../thunderbird_ext/background/header.js";

test("X-Mailwarden is set once, replacing an earlier one whatever its case", () => {
  const headers = [{ name: "x-mailwarden", value: "old" }, { name: "X-Other", value: "1" }, null];
  assert.deepEqual(withHeader(headers, "policy 1; pass; key=k"), [
    { name: "X-Other", value: "1" },
    { name: "X-Mailwarden", value: "policy 1; pass; key=k" },
  ]);
  assert.deepEqual(withHeader(undefined, uncheckedStamp("k")), [{ name: "X-Mailwarden", value: "unchecked; key=k" }]);
});
