import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULTS, loadSettings, validSetting } from "../../thunderbird_ext/background/settings.js";
import { fakeStorageArea } from "./fakes.js";

test("the administrator's values win over the user's, and bad values are ignored", async () => {
  const storage = {
    local: fakeStorageArea({ failMode: "open", timeoutMs: 8000 }),
    managed: fakeStorageArea({ failMode: "closed", timeoutMs: 99 }),
  };
  const { settings, managedKeys } = await loadSettings(storage, ["ask", "open", "closed"]);
  assert.deepEqual(settings, { failMode: "closed", timeoutMs: 8000 });
  assert.deepEqual(managedKeys, ["failMode"]);
});

test("managed storage that throws (nothing set by an administrator) leaves the defaults", async () => {
  const storage = { local: fakeStorageArea(), managed: { get: async () => Promise.reject(new Error("no manifest")) } };
  assert.deepEqual((await loadSettings(storage)).settings, DEFAULTS);
});

test("fail modes are the companion's; before it ever answered a value is taken as it is", () => {
  assert.equal(validSetting("failMode", "sometimes", ["ask", "open", "closed"]), false);
  assert.equal(validSetting("failMode", "closed", ["ask", "open", "closed"]), true);
  assert.equal(validSetting("failMode", "closed", null), true);
  assert.equal(validSetting("failMode", "", null), false);
  assert.equal(validSetting("timeoutMs", 499), false);
  assert.equal(validSetting("timeoutMs", 60000), true);
  assert.equal(validSetting("colour", "red"), false);
});
